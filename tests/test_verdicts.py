"""The verdicts' words: what was tested, which way a miss goes and what that means."""

import math

import pandas as pd
import pytest

from cvsp import paper, verdicts

TOL = paper.APPROX_TOLERANCE


def test_the_approx_tolerance_decides_holds_against_undecided():
    side = verdicts.interval_side
    assert side("≈", 0.88, 0.88 - TOL + 0.001, 0.88 + TOL - 0.001) == "holds"
    assert side("≈", 0.88, 0.88 - TOL - 0.001, 0.88) == "undecided"
    assert side("≈", 0.88, 0.88 + TOL + 0.001, 0.95) == "fails"
    assert side("≈", 0.88, 0.70, 0.88 - TOL - 0.001) == "fails"
    assert side("≈", 0.88, 0.5, 0.99) == "undecided"  # wider than the tolerance on both sides
    assert side("≈", 0.88, 0.80, 0.88 - TOL + 0.001) == "undecided"  # top end within
    assert side("≈", 0.88, 0.88 + TOL - 0.001, 0.95) == "undecided"  # bottom end within
    assert side("≈", 0.88, math.nan, 0.9) == "undefined"


def test_a_bound_is_read_at_the_papers_rounding_on_both_ends():
    side = verdicts.interval_side
    assert side("≤", 0.45, 0.40, 0.455) == "holds"  # .455 rounds to .45
    assert side("≤", 0.45, 0.40, 0.47) == "undecided"
    assert side("≤", 0.45, 0.46, 0.52) == "fails"
    assert side("≥", 0.73, 0.725, 0.80) == "holds"
    assert side("≥", 0.73, 0.60, 0.72) == "fails"


def test_a_miss_says_its_direction_and_what_it_means():
    above = verdicts.verdict("sts", "≤", 0.45, 0.508, 0.47, 0.54)
    assert above.startswith("misses: 0.058 above the bound 0.45")
    assert "higher correlation with human judgements than the paper's bound allows" in above
    assert above.endswith("the whole interval misses too")
    below = verdicts.verdict("sentence_self_similarity", "≥", 0.97, 0.951)
    assert below == (
        "misses: 0.019 below the bound 0.97, sentence vectors less alike (lower "
        "self-similarity) than the paper's bound allows"
    )
    near = verdicts.verdict("word_similarity", "≈", 0.88, 0.93, 0.89, 0.96)
    assert near.startswith("misses: 0.050 above the paper's 0.88 (≈ allows ±0.03)")
    assert "higher correlation with human judgements than the paper reports" in near
    assert near.endswith("part of the interval meets it")  # .89 is within ±.03 of .88


def test_a_claim_that_holds_says_how_sure_the_interval_is():
    assert verdicts.verdict("sts", "≥", 0.73, 0.75, 0.731, 0.77) == (
        "holds; so does the whole interval"
    )
    assert verdicts.verdict("sts", "≥", 0.73, 0.75, 0.70, 0.77) == (
        "holds; part of the interval does not"
    )
    assert verdicts.verdict("sts", "≥", 0.73, 0.75) == "holds"
    cwe = verdicts.verdict("cwe_self_similarity", "<", 0.25, 0.30)
    assert "a more anisotropic space (higher self-similarity)" in cwe
    assert verdicts.verdict("sts", "≥", 0.73, math.nan).startswith("undefined")


@pytest.mark.parametrize(
    ("ours", "expected"), [(0.452, "holds"), (0.456, "above"), (math.nan, "undefined")]
)
def test_side_follows_the_papers_relation(ours, expected):
    assert verdicts.side("≤", 0.45, ours) == expected
    assert verdicts.MARKS[expected]


def test_describe_adds_the_words_to_every_row_of_a_comparison():
    scores = pd.DataFrame(
        [("sts", "gpt2", "eos", "stsb", str(layer), 0.5) for layer in range(13)]
        + [("sts", "clip", "eos", "stsb", str(layer), 0.6) for layer in range(13)],
        columns=["result", "model", "variant", "task", "layer", "value"],
    )
    comparison = paper.compare(scores, "sts")
    plain = verdicts.describe(comparison)
    assert "interval" not in plain and plain["verdict"].str.startswith("misses").all()
    assert list(plain["side"]) == ["below", "above"]  # CLIP .6 < .73; GPT-2 .5 > .45
    claims = comparison[["claim"]].assign(ci_low=0.3, ci_high=0.9)
    described = verdicts.describe(paper.compare(scores, "sts", claims))
    assert list(described["interval"]) == ["undecided", "undecided"]


def test_a_figure_1_value_is_printed_at_its_three_decimals():
    said = verdicts.verdict("cwe_self_similarity", "≈", 0.659, 0.6895)
    assert "the paper's 0.659 (≈ allows ±0.03)" in said and said.startswith("misses: 0.030 above")
    assert verdicts.number(0.73) == "0.73" and verdicts.number(0.964) == "0.964"


@pytest.mark.parametrize(
    ("ours", "low", "high", "ending"),
    [
        (0.75, 0.60, 0.72, "none of the interval does (our number lies outside it)"),
        (0.70, 0.74, 0.80, "the whole interval meets it (our number lies outside it)"),
    ],
)
def test_an_interval_that_disagrees_with_our_number_is_said_so(ours, low, high, ending):
    assert verdicts.verdict("sts", "≥", 0.73, ours, low, high).endswith(ending)
