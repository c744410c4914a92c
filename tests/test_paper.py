"""The paper's numbers and the comparison table."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from cvsp import experiments, paper
from cvsp.experiments import COLUMNS


def synthetic_scores() -> pd.DataFrame:
    rows = []
    for layer in range(13):
        rows.append(
            (
                "cwe_self_similarity",
                "gpt2",
                "random_token",
                "sts_sentences",
                str(layer),
                0.5 + layer / 100,
            )
        )
        rows.append(
            ("cwe_self_similarity", "clip", "random_token", "sts_sentences", str(layer), 0.1)
        )
        rows.append(("sts", "gpt2", "last_token", "stsb", str(layer), 0.2))
        rows.append(("sts", "gpt2", "eos", "stsb", str(layer), 0.3 if layer != 7 else 0.46))
        rows.append(("sts", "clip", "eos", "stsb", str(layer), layer / 20))
    rows.append(("sts", "clip", "eos", "stsb", "projection", 0.99))
    frame = pd.DataFrame(rows, columns=COLUMNS[:6])
    return frame.assign(n=10, note="")


def test_gpt2_cwe_series_has_13_layers():
    points = paper.reference_points("cwe_self_similarity", "gpt2", "random_token", "sts_sentences")
    assert list(points) == [str(i) for i in range(13)]
    assert points["12"] == pytest.approx(0.964)


def _claim(
    result: str, model: str, relation: str, layers: tuple[str, ...] | None = None
) -> paper.Reported:
    (found,) = [
        c
        for c in paper.REPORTED
        if (c.result, c.model, c.relation) == (result, model, relation)
        and (layers is None or c.layers == layers)
    ]
    return found


def test_compare_reduces_as_each_claim_says():
    table = paper.compare(synthetic_scores()).set_index("claim")
    top = table.loc[_claim("cwe_self_similarity", "gpt2", ">").text]
    assert top["ours"] == pytest.approx(0.62) and not top["holds"]
    clip_bound = table.loc[_claim("cwe_self_similarity", "clip", "<").text]
    assert clip_bound["ours"] == pytest.approx(0.1) and clip_bound["holds"]
    gpt2_sts = table.loc[_claim("sts", "gpt2", "≤").text]
    assert gpt2_sts["ours"] == pytest.approx(0.46) and not gpt2_sts["holds"]
    clip_sts = table.loc[_claim("sts", "clip", "≈").text]
    assert clip_sts["ours"] == pytest.approx(0.6)  # layers 0-12 only, not the projection
    layer3 = table.loc[_claim("cwe_self_similarity", "gpt2", "≈", ("3",)).text]
    assert layer3["difference"] == pytest.approx(0.53 - 0.629)


def test_claims_name_only_the_choices_the_abstract_names():
    """A claim compared over layers or token choices the abstract does not give says ours."""
    for claim in paper.REPORTED:
        if claim.source != "Abstract":
            continue
        named_by_abstract = claim.text.startswith(("GPT-2 EOS", "CLIP CWE", "GPT-2 CWE"))
        assert named_by_abstract or "(ours:" in claim.text, claim.text
        assert "EOS" not in claim.text.split("(ours:")[0] or claim.text.startswith("GPT-2 EOS"), (
            claim.text
        )


def test_missing_results_are_nan_not_holding():
    table = paper.compare(synthetic_scores())
    rg65 = table[table["claim"].str.contains("RG65")].iloc[0]
    assert np.isnan(rg65["ours"]) and not rg65["holds"]


def test_every_claim_has_a_source():
    for claim in paper.REPORTED:
        assert claim.source and claim.relation in ("≈", "<", ">", "≤", "≥")


def _claim_scores(claim: paper.Reported, value: float, other: float | None = None) -> pd.DataFrame:
    """Rows for exactly what the claim reads, every one equal to ``value`` (one layer set
    to ``other`` when given), plus decoys the claim must ignore."""
    rows = []
    for variant in claim.variants:
        for layer in claim.layers:
            rows.append((claim.result, claim.model, variant, claim.task, layer, value))
    if other is not None:
        rows[-1] = (*rows[-1][:5], other)
    decoy_model = "gpt2" if claim.model == "clip" else "clip"
    rows.append((claim.result, decoy_model, claim.variants[0], claim.task, claim.layers[0], -5.0))
    rows.append((claim.result, claim.model, claim.variants[0], claim.task, "projection", 9.0))
    rows.append((claim.result, claim.model, "mean", claim.task, claim.layers[0], 9.0))
    return pd.DataFrame(rows, columns=COLUMNS[:6]).assign(n=10, note="")


def _holds(claim: paper.Reported, value: float, other: float | None = None) -> bool:
    return bool(
        paper.compare(_claim_scores(claim, value, other))
        .set_index("claim")
        .loc[claim.text, "holds"]
    )


@pytest.mark.parametrize("claim", paper.REPORTED, ids=lambda c: c.text)
def test_every_relation_at_and_around_its_boundary(claim):
    b = claim.value
    if claim.relation == "≈":
        edge = 0.03  # the tolerance, written out so that a changed constant fails here
        assert paper.APPROX_TOLERANCE == edge
        assert (
            _holds(claim, b) and _holds(claim, b + edge - 1e-4) and _holds(claim, b - edge + 1e-4)
        )
        assert not _holds(claim, b + edge + 1e-4) and not _holds(claim, b - edge - 1e-4)
    elif claim.relation in ("<", "≤"):  # two-decimal rounding: anything that rounds to b or below
        assert (
            _holds(claim, b)
            and _holds(claim, b + 0.005)
            and _holds(claim, b + 0.0049)
            and _holds(claim, -1.0)
        )
        assert not _holds(claim, b + 0.0051) and not _holds(claim, b + 0.1)
    else:  # ">" and "≥": anything that rounds to b or above
        assert (
            _holds(claim, b)
            and _holds(claim, b - 0.005)
            and _holds(claim, b - 0.0049)
            and _holds(claim, 1.0)
        )
        assert not _holds(claim, b - 0.0051) and not _holds(claim, b - 0.1)
    assert not _holds(claim, float("nan"))


def test_rounded_bounds_of_the_issue():
    gpt2_sts = next(c for c in paper.REPORTED if c.relation == "≤")
    assert _holds(gpt2_sts, 0.452) and not _holds(gpt2_sts, 0.456)
    assert _holds(_claim("sentence_self_similarity", "gpt2", "≥"), 0.965)
    assert not _holds(_claim("sentence_self_similarity", "gpt2", "≥"), 0.9649)
    assert _holds(_claim("cwe_self_similarity", "gpt2", ">"), 0.945)
    assert not _holds(_claim("cwe_self_similarity", "gpt2", ">"), 0.9449)


@pytest.mark.parametrize(
    "claim", [c for c in paper.REPORTED if c.relation != "≈"], ids=lambda c: c.text
)
def test_bounds_read_literally_without_rounding(claim):
    b = claim.value
    literal = paper.compare(
        _claim_scores(claim, b + 0.003 if claim.relation in "<≤" else b - 0.003), rounded=False
    )
    assert not literal.set_index("claim").loc[
        claim.text, "holds"
    ]  # inside the rounding, outside the bound
    at_bound = claim.holds(b, rounded=False)
    assert at_bound == (claim.relation in "≤≥")  # "<" and ">" are strict when read literally
    assert claim.holds(b - 0.001 if claim.relation in "<≤" else b + 0.001, rounded=False)


@pytest.mark.parametrize(
    "claim", [c for c in paper.REPORTED if c.statistic != "value"], ids=lambda c: c.text
)
def test_series_claims_reduce_over_every_layer_and_token_choice(claim):
    """A best-layer (max) or worst-layer (min) claim turns on one bad layer of one variant."""
    b = claim.value
    if claim.statistic == "max":
        spoiled = b + 0.2 if claim.relation != "≈" else b + 0.5
        good = b if claim.relation == "≈" else b - 0.2
        assert _holds(claim, good) and not _holds(claim, good, other=spoiled)
    else:
        assert _holds(claim, b + 0.01) and not _holds(claim, b + 0.01, other=b - 0.2)


def test_holds_reads_bounds_at_two_decimals_by_default():
    gpt2_sts = _claim("sts", "gpt2", "≤")
    assert gpt2_sts.holds(0.452) and not gpt2_sts.holds(0.452, rounded=False)


def test_reference_levels_are_the_claims_about_whole_series():
    """The dotted lines of the figures: claims over several layers, not single-layer values."""
    sts = {(c.model, c.relation) for c in paper.reference_levels("sts", "stsb")}
    assert sts == {("clip", "≈"), ("gpt2", "≤")}
    cwe = {
        (c.model, c.relation)
        for c in paper.reference_levels("cwe_self_similarity", "sts_sentences")
    }
    assert cwe == {("clip", "<")}  # GPT-2's "> .95" is about layer 12 only: a point, not a line
    assert paper.reference_levels("sts", "rg65") == []


def test_the_paper_s_numbers_cannot_be_changed_in_place():
    claim, anchor = paper.REPORTED[0], paper.ANCHORS[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        # a notebook cell must not move the paper's number for every later comparison
        claim.value = 0.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        anchor.value = 0.0


def test_the_paper_is_inside_an_interval_that_ends_at_its_number():
    claims = paper.reported("sts")
    scores = pd.DataFrame(
        [(c.result, c.model, c.variants[0], c.task, c.layers[0], c.value) for c in claims],
        columns=experiments.COLUMNS[:6],
    ).assign(n=10, note="")
    assert len(claims) == 2
    first, second = claims  # closed intervals: either end counts
    intervals = pd.DataFrame(
        [
            (first.text, first.value, first.value + 0.1),
            (second.text, second.value - 0.1, second.value),
        ],
        columns=["claim", "ci_low", "ci_high"],
    )
    table = paper.compare(scores, "sts", intervals).set_index("claim")
    assert table["paper_inside"].tolist() == [True, True]
    assert list(table.columns)[-1] == "source" and {"ci_low", "ci_high"} <= set(table.columns)
    outside = intervals.assign(
        ci_low=[c.value + 1e-9 for c in claims], ci_high=[c.value + 0.1 for c in claims]
    )
    assert not paper.compare(scores, "sts", outside)["paper_inside"].any()
    below = intervals.assign(
        ci_low=[c.value - 0.1 for c in claims], ci_high=[c.value - 1e-9 for c in claims]
    )
    assert not paper.compare(scores, "sts", below)["paper_inside"].any()
