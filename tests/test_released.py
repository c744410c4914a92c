"""The "as released" readers reproduce what the authors' code computed from the real file."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from cvsp import data
from cvsp.released import read_sts_as_released, self_similarity_sentences_as_released, spearman_as_released


@pytest.fixture(scope="module")
def released(settings):
    return read_sts_as_released(data.fetch("stsb", settings).read_text(encoding="utf-8"))


def test_released_reader_keeps_1273_pairs_11_corrupted(released):
    assert len(released) == 1273
    assert int(released["corrupted"].sum()) == 11
    assert released["score"].map(type).eq(str).all()  # gold scores stay strings
    swallowed = released.loc[released["corrupted"], "sentence2"].str.count("\n").sum()
    swallowed += released.loc[released["corrupted"], "sentence1"].str.count("\n").sum()
    assert swallowed > 0


def test_released_reader_deletes_commas(settings, released):
    ours = data.load_sts(settings)
    with_comma = ours[ours["sentence1"].str.contains(",")].iloc[0]
    assert with_comma["sentence1"].replace(",", "") in set(released["sentence1"])
    unquoted = released[~released["corrupted"] & ~released["sentence1"].str.contains('"')
                        & ~released["sentence2"].str.contains('"')]  # fmt: skip
    assert len(unquoted) > 1200
    assert not unquoted["sentence1"].str.contains(",").any() and not unquoted["sentence2"].str.contains(",").any()
    assert ours["sentence1"].str.contains(",").sum() > 100  # the file itself has plenty


def test_gold_scores_are_ranked_as_strings():
    model = np.array([0.1, 0.2, 0.3, 0.4])
    gold = ["1.0", "10", "2.5", "3.0"]  # as strings, "10" sorts before "2.5"
    assert spearman_as_released(model, gold) == pytest.approx(1.0)
    numeric = stats.spearmanr(model, [1.0, 10.0, 2.5, 3.0]).statistic
    assert numeric < 1.0


def test_released_self_similarity_embeds_the_left_column_with_duplicates(released):
    sentences = self_similarity_sentences_as_released(released)
    assert len(sentences) == 1273 and len(set(sentences)) < len(sentences)
    assert sentences == list(released["sentence1"])
