"""The measured effects of chapter 5: hand-made tables for the arithmetic, and one small
slice of the real STS file (a row the released reader corrupts, a sentence ending in a
space) through the stand-in models for the plumbing."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from cvsp import data, experiments, fidelity, paper, plots
from cvsp.cache import DiskStore
from cvsp.embeddings import cached


def _scores(rows) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=experiments.COLUMNS[:6])
    return frame.assign(n=10, note="")[experiments.COLUMNS]


def test_deltas_are_alternative_minus_ours_on_hidden_layers_and_claimed_variants():
    ours = _scores(
        [
            ("sts", "clip", "eos", "stsb", "3", 0.50),
            ("sts", "clip", "eos", "stsb", "projection", 0.70),
            ("sts", "clip", "mean", "stsb", "3", 0.40),
            ("sts", "gpt2", "last_token", "stsb", "3", 0.20),
        ]
    )
    alternative = ours.assign(value=[0.45, 0.90, 0.10, 0.26])
    got = fidelity.deltas(alternative, ours, "test")
    assert list(got.columns) == fidelity.EFFECT_COLUMNS
    assert set(zip(got["model"], got["variant"], got["layer"])) == {
        ("clip", "eos", "3"),
        ("gpt2", "last_token", "3"),
    }
    by = got.set_index("model")
    assert by.loc["clip", "difference"] == pytest.approx(-0.05) and by.loc[
        "gpt2", "difference"
    ] == pytest.approx(0.06)
    assert by.loc["clip", "ours"] == 0.50 and by.loc["clip", "alternative"] == 0.45
    mean_too = fidelity.deltas(alternative, ours, "test", {("sts", "clip"): ("mean",)})
    assert mean_too["difference"].tolist() == pytest.approx([-0.30])


def test_claimed_variants_follow_the_papers_numbers():
    claimed = fidelity.claimed_variants()
    assert claimed[("sts", "gpt2")] == ("last_token", "eos")
    assert claimed[("cwe_self_similarity", "clip")] == ("random_token",)
    assert set(claimed) == {(c.result, c.model) for c in paper.REPORTED}


def test_spread_keeps_the_sign_of_the_largest_deviation():
    table = pd.DataFrame(
        {
            "model": ["gpt2"] * 4,
            "layer": ["0"] * 4,
            "seed": [0, 1, 2, 3],
            "value": [0.5, 0.52, 0.47, 0.51],
        }
    )
    got = fidelity.spread_deltas(table, "seed", 0, "seeds")
    assert got["difference"].item() == pytest.approx(-0.03)
    assert got["ours"].item() == 0.5 and got["alternative"].item() == pytest.approx(0.47)


def test_largest_picks_the_biggest_effect_per_change_and_model_with_its_sign():
    effects = pd.DataFrame(
        [
            ("a", "sts", "gpt2", "eos", "stsb", "1", 0.3, 0.2, -0.1),
            ("a", "sts", "gpt2", "eos", "stsb", "2", 0.3, 0.35, 0.05),
            ("a", "sts", "clip", "eos", "stsb", "1", 0.3, 0.31, 0.01),
            ("b", "sts", "gpt2", "eos", "stsb", "7", 0.3, np.nan, np.nan),
            ("b", "sts", "gpt2", "eos", "stsb", "8", 0.3, 0.32, 0.02),
        ],
        columns=fidelity.EFFECT_COLUMNS,
    )
    top = fidelity.largest(effects)
    assert list(zip(top["change"], top["model"])) == [("a", "gpt2"), ("a", "clip"), ("b", "gpt2")]
    assert top["difference"].tolist() == pytest.approx([-0.1, 0.01, 0.02])
    assert top["layer"].tolist() == ["1", "1", "8"]


def test_string_rank_effect_is_the_gap_between_the_two_reader_changes():
    rows = []
    for change, values in (
        (fidelity.READER_NUMBERS, (0.30, 0.50)),
        (fidelity.READER_STRINGS, (0.27, 0.51)),
    ):
        for layer, value in zip(("0", "1"), values):
            rows.append((change, "sts", "clip", "eos", "stsb", layer, 0.4, value, value - 0.4))
    effects = pd.DataFrame(rows, columns=fidelity.EFFECT_COLUMNS)
    assert fidelity.string_rank_effect(effects) == pytest.approx(0.03)  # in size: -0.03 beats +0.01


def test_rounding_verdicts_show_where_the_rounding_decides():
    rows = [
        ("sts", "gpt2", "last_token", "stsb", str(layer), 0.452 if layer == 4 else 0.3)
        for layer in range(13)
    ]
    verdicts = fidelity.rounding_verdicts(_scores(rows)).set_index("relation")
    assert verdicts.loc["≤", "holds"] and not verdicts.loc["≤", "literally"]
    assert "≈" not in verdicts.index


# ------------------------------------------------------------ one slice of the real file


@pytest.fixture(scope="module")
def slice_text(settings):
    lines = data.fetch("stsb", settings).read_text(encoding="utf-8").splitlines(keepends=True)
    return "".join(lines[870:900])  # line 875 ends a sentence in a space; 892 opens a quote


@pytest.fixture(scope="module")
def measured(small_models, slice_text, tmp_path_factory):
    cache = DiskStore(tmp_path_factory.mktemp("fidelity"))
    embedders = {key: cached(m, store=cache, progress=False) for key, m in small_models.items()}
    return fidelity.measure(
        embedders,
        slice_text,
        small_models["clip"].tokenizer,
        seeds=(0, 1),
        sizes=(10,),
        repeats=2,
        subset_size=10,
    )


def test_facts_of_the_slice(measured):
    facts = measured.facts
    assert facts["our_pairs"] == 30 and facts["released_pairs"] == 22
    assert (
        facts["released_corrupted"] == 1 and facts["released_swallowed_lines"] == 9
    )  # 30 - 9 + 1 = 22
    assert (
        facts["spaced_sentences"] == facts["spaced_cells"] == 1
        and facts["clip_changed_by_strip"] == 0
    )
    assert facts["clip_at_limit"] == 0 and facts["identical_pairs"] < facts["released_pairs"]


def test_every_change_is_measured_on_layers_0_to_12(measured):
    effects = measured.effects
    expected = {
        fidelity.STRIPPED,
        fidelity.READER_NUMBERS,
        fidelity.READER_STRINGS,
        fidelity.LEFT_COLUMN,
        fidelity.NO_FIRST,
        fidelity.RELEASED_RULE,
        fidelity.MEAN_NO_FIRST,
        fidelity.SUBSETS.format(size=10),
        fidelity.SEEDS,
    }
    assert set(effects["change"]) == expected
    for _, group in effects.groupby(["change", "result", "model", "variant"]):
        assert group["layer"].tolist() == [str(i) for i in range(13)]
    np.testing.assert_allclose(
        effects["difference"], effects["alternative"] - effects["ours"], equal_nan=True
    )
    assert set(effects.loc[effects["change"] == fidelity.STRIPPED, "model"]) == {
        "gpt2"
    }  # CLIP's tokens do not change
    stripped = effects[
        (effects["change"] == fidelity.STRIPPED) & (effects["variant"] == "last_token")
    ]
    assert stripped["difference"].abs().max() > 0  # GPT-2's last token of one pair changed


def test_rules_that_coincide_give_zero_effect(measured):
    effects = measured.effects.set_index(["change", "model", "layer"])["difference"]
    assert (
        effects.loc[fidelity.NO_FIRST].loc["clip"] == 0
    ).all()  # CLIP's position 0 is BOS, never drawn
    # For GPT-2's bare input the released rule (positions 1..n-1) is the rule without position 0.
    np.testing.assert_allclose(
        effects.loc[fidelity.RELEASED_RULE].loc["gpt2"], effects.loc[fidelity.NO_FIRST].loc["gpt2"]
    )


def test_figures_have_one_panel_per_change_and_say_stand_in(measured):
    fig = plots.fidelity_figure(measured.effects, stand_in=True)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == measured.effects["change"].nunique()
    assert "STAND-IN" in fig._suptitle.get_text()
    names = {text.get_text() for ax in visible for text in ax.get_legend().get_texts()}
    assert names and all(name.split()[0] in ("GPT-2", "CLIP") for name in names), names
    plt.close(fig)
    fig = plots.spread_figure(measured.corpus, measured.seeds, stand_in=False)
    assert fig._suptitle is None
    subsets, seeds = ([t.get_text() for t in ax.get_legend().get_texts()] for ax in fig.axes)
    sizes = sorted(
        s for s in measured.corpus["size"].unique() if s != measured.corpus["size"].max()
    )
    assert subsets == [
        f"{model}, {size:,}-sentence subsets"
        for model in ("GPT-2", "CLIP")
        for size in dict.fromkeys((sizes[0], sizes[-1]))
    ]
    first, last = measured.seeds["seed"].min(), measured.seeds["seed"].max()
    assert seeds == [f"{model}, seeds {first}-{last}" for model in ("GPT-2", "CLIP")]
    plt.close(fig)
