"""Metrics on degenerate inputs: a defined value or a clear MetricError, never a silent NaN."""

from __future__ import annotations

import numpy as np
import pytest

from cvsp import metrics
from cvsp.metrics import MetricError

BAD_VECTORS = {
    "one vector": np.ones((1, 4)),
    "no vectors": np.ones((0, 4)),
    "a zero vector": np.array([[1.0, 0.0], [0.0, 0.0], [1.0, 1.0]]),
    "NaN": np.array([[1.0, np.nan], [1.0, 1.0]]),
    "inf": np.array([[1.0, np.inf], [1.0, 1.0]]),
}


@pytest.mark.parametrize("name", BAD_VECTORS)
def test_self_similarity_refuses(name):
    with pytest.raises(MetricError):
        metrics.self_similarity(BAD_VECTORS[name])


@pytest.mark.parametrize("name", ["a zero vector", "NaN", "inf"])
def test_pair_cosines_refuse(name):
    bad = BAD_VECTORS[name]
    with pytest.raises(MetricError):
        metrics.pair_cosines(bad, np.ones_like(bad))


def test_pair_cosines_shape_mismatch():
    with pytest.raises(MetricError, match="Shapes differ"):
        metrics.pair_cosines(np.ones((3, 2)), np.ones((2, 2)))


@pytest.mark.parametrize("metric", [metrics.spearman, metrics.pearson])
@pytest.mark.parametrize(
    ("x", "y", "message"),
    [
        (np.ones(5), np.arange(5.0), "model's similarities are all equal"),
        (np.arange(5.0), np.full(5, 2.0), "human scores are all equal"),
        (np.array([1.0, np.nan, 3.0]), np.arange(3.0), "NaN or inf"),
        (np.arange(2.0), np.arange(2.0), "at least 3 pairs"),
        (np.arange(4.0), np.arange(5.0), "equal length"),
    ],
)
def test_correlations_refuse(metric, x, y, message):
    with pytest.raises(MetricError, match=message):
        metric(x, y)


def test_valnorm_refuses_equal_attribute_cosines():
    word = np.array([[1.0, 0.0]])
    same = np.array([[0.0, 1.0], [0.0, 2.0]])
    with pytest.raises(MetricError, match="same cosine to every attribute"):
        metrics.valnorm_effect_sizes(word, same, same)


def test_self_similarity_of_two_vectors_is_their_cosine():
    assert metrics.self_similarity(np.array([[1.0, 0.0], [1.0, 1.0]])) == pytest.approx(
        np.sqrt(0.5)
    )
