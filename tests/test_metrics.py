"""Metrics against hand-computed values and brute force."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import pdist

from cvsp import metrics


def brute_force_self_similarity(x: np.ndarray) -> float:
    return float(np.mean(1 - pdist(x, metric="cosine")))


def test_self_similarity_by_hand():
    x = np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 3.0]])
    # pairs: 0, 1/sqrt(2), 1/sqrt(2)
    assert metrics.self_similarity(x) == pytest.approx(np.sqrt(2) / 3)


def test_self_similarity_of_identical_and_opposite_vectors():
    assert metrics.self_similarity(np.ones((5, 3))) == pytest.approx(1.0)
    assert metrics.self_similarity(np.array([[1.0, 2.0], [-1.0, -2.0]])) == pytest.approx(-1.0)


@pytest.mark.parametrize("n", [2, 3, 50, 1000])
def test_self_similarity_matches_brute_force(n):
    rng = np.random.default_rng(n)
    x = rng.normal(size=(n, 32)) + rng.normal(size=32)  # a shared direction, like anisotropy
    assert metrics.self_similarity(x) == pytest.approx(brute_force_self_similarity(x), abs=1e-12)


def test_self_similarity_per_layer():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 4, 16))
    expected = [brute_force_self_similarity(x[:, layer]) for layer in range(4)]
    np.testing.assert_allclose(metrics.self_similarity(x), expected, atol=1e-12)


@pytest.mark.parametrize(
    "x",
    [np.ones((1, 3)), np.array([[1.0, 0.0], [0.0, 0.0]]), np.array([[1.0, np.nan], [1.0, 1.0]])],
)
def test_self_similarity_rejects_bad_input(x):
    with pytest.raises(metrics.MetricError):
        metrics.self_similarity(x)


def test_pair_cosines():
    a = np.array([[1.0, 0.0], [1.0, 1.0]])
    b = np.array([[0.0, 5.0], [2.0, 2.0]])
    np.testing.assert_allclose(metrics.pair_cosines(a, b), [0.0, 1.0], atol=1e-12)


def test_spearman_and_pearson_by_hand():
    x = np.array([1.0, 2.0, 3.0, 4.0])
    assert metrics.spearman(x, x**3) == pytest.approx(1.0)
    assert metrics.spearman(x, -x) == pytest.approx(-1.0)
    # ranks (1,2,3,4) vs (2,1,4,3): d^2 = 4, rho = 1 - 6*4/(4*15) = 0.6
    assert metrics.spearman(x, np.array([2.0, 1.0, 4.0, 3.0])) == pytest.approx(0.6)
    assert metrics.pearson(x, 2 * x + 1) == pytest.approx(1.0)


def test_correlation_rejects_constant_input():
    with pytest.raises(metrics.MetricError, match="all equal"):
        metrics.spearman(np.ones(5), np.arange(5.0))


def test_valnorm_effect_size_by_hand():
    # 2-d: pleasant along x, unpleasant along y; a word at 30 degrees from x.
    word = np.array([[np.cos(np.pi / 6), np.sin(np.pi / 6)]])
    pleasant = np.array([[1.0, 0.0], [2.0, 0.0]])
    unpleasant = np.array([[0.0, 1.0], [0.0, 3.0]])
    cos_p, cos_u = np.cos(np.pi / 6), np.sin(np.pi / 6)
    spread = np.std([cos_p, cos_p, cos_u, cos_u])  # population std
    expected = (cos_p - cos_u) / spread
    assert metrics.valnorm_effect_sizes(word, pleasant, unpleasant)[0] == pytest.approx(expected)
    assert expected == pytest.approx(2.0)  # equal halves: difference = 2 std


def test_valnorm_per_layer_matches_loop():
    rng = np.random.default_rng(1)
    words, pleasant, unpleasant = (rng.normal(size=(k, 3, 8)) for k in (7, 5, 5))
    result = metrics.valnorm_effect_sizes(words, pleasant, unpleasant)
    assert result.shape == (7, 3)
    for layer in range(3):
        np.testing.assert_allclose(
            result[:, layer],
            metrics.valnorm_effect_sizes(words[:, layer], pleasant[:, layer], unpleasant[:, layer]),
        )


def test_self_similarity_sums_across_chunks(monkeypatch):
    monkeypatch.setattr(metrics, "SELF_SIMILARITY_CHUNK", 7)
    rng = np.random.default_rng(5)
    x = rng.normal(size=(50, 3, 16)) + 1.0
    expected = [brute_force_self_similarity(x[:, layer]) for layer in range(3)]
    np.testing.assert_allclose(metrics.self_similarity(x), expected, atol=1e-12)


def test_indexed_pair_cosines_match_pair_cosines():
    rng = np.random.default_rng(2)
    vectors = rng.normal(size=(10, 3, 8))
    left, right = np.array([0, 3, 9, 3]), np.array([1, 3, 2, 7])
    np.testing.assert_allclose(
        metrics.indexed_pair_cosines(vectors, left, right),
        metrics.pair_cosines(vectors[left], vectors[right]),
        atol=1e-12,
    )


def test_equal_vectors_give_exactly_tied_cosines():
    rng = np.random.default_rng(3)
    v = rng.normal(size=(1, 5, 777)).astype(np.float32)
    vectors = np.concatenate([v, rng.normal(size=(3, 5, 777)), v, v])  # rows 0, 4 and 5 equal
    cos = metrics.indexed_pair_cosines(vectors, np.array([0, 4, 0]), np.array([4, 5, 5]))
    assert (cos == 1.0).all()
    assert (metrics.pair_cosines(vectors[[0, 4]], vectors[[5, 0]]) == 1.0).all()
