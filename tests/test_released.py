"""The "as released" readers reproduce what the authors' code computed from the real file."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import stats

from cvsp import data
from cvsp.released import (
    read_sts_as_released,
    self_similarity_sentences_as_released,
    spearman_as_released,
)


@pytest.fixture(scope="module")
def released(settings):
    return read_sts_as_released(data.fetch("stsb", settings).read_text(encoding="utf-8"))


def test_released_reader_keeps_1273_pairs_11_corrupted(released):
    assert len(released) == 1273
    assert int(released["corrupted"].sum()) == 11
    assert int(released["swallowed"].sum()) == 106 == 1379 - 1273  # lines taken in by the 11 rows
    assert released["score"].map(type).eq(str).all()  # gold scores stay strings
    broken = released[released["corrupted"]]
    assert (
        broken[["sentence1", "sentence2"]]
        .apply(lambda c: c.str.contains("\n"))
        .to_numpy()
        .any(axis=1)
        .all()
    )


def test_released_reader_deletes_commas(settings, released):
    ours = data.load_sts(settings)
    with_comma = ours[ours["sentence1"].str.contains(",")].iloc[0]
    assert with_comma["sentence1"].replace(",", "") in set(released["sentence1"])
    unquoted = released[
        ~released["corrupted"]
        & ~released["sentence1"].str.contains('"')
        & ~released["sentence2"].str.contains('"')
    ]
    assert len(unquoted) > 1200
    assert (
        not unquoted["sentence1"].str.contains(",").any()
        and not unquoted["sentence2"].str.contains(",").any()
    )
    assert ours["sentence1"].str.contains(",").sum() > 100  # the file itself has plenty


def test_gold_scores_are_ranked_as_strings():
    model = np.array([0.1, 0.2, 0.3, 0.4])
    gold = ["1.0", "10", "2.5", "3.0"]  # as strings, "10" sorts before "2.5"
    assert spearman_as_released(model, gold) == pytest.approx(1.0)
    numeric = stats.spearmanr(model, [1.0, 10.0, 2.5, 3.0]).statistic
    assert numeric < 1.0


def test_cosines_are_ranked_as_strings_too():
    """scipy stacks the float cosines with the string scores, so "-0.2" ranks above "-0.1"."""
    cosines = np.array([0.5, -0.1, -0.2, 0.9], dtype=np.float32)
    gold = ["1.000", "2.000", "3.000", "0.500"]
    assert spearman_as_released(cosines, gold) == pytest.approx(
        -0.8
    )  # ranks (3, 1, 2, 4) vs (2, 3, 4, 1)
    assert stats.spearmanr(cosines, [1.0, 2.0, 3.0, 0.5]).statistic == pytest.approx(
        -1.0
    )  # as numbers


def test_equals_scipy_on_what_the_released_code_passes_it():
    rng = np.random.default_rng(3)
    cosines = [
        np.float32(v) for v in rng.normal(0.1, 0.3, 200)
    ]  # a list of float32, negatives included
    gold = [f"{v:.3f}" for v in rng.uniform(0, 5, 200)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns that it cannot check strings for NaN
        expected = stats.spearmanr(cosines, gold)[0]
    assert spearman_as_released(cosines, gold) == pytest.approx(expected, abs=1e-12)


def test_released_self_similarity_embeds_the_left_column_with_duplicates(released):
    sentences = self_similarity_sentences_as_released(released)
    assert len(sentences) == 1273 and len(set(sentences)) < len(sentences)
    assert sentences == list(released["sentence1"])
