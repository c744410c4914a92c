"""Intervals of the claims and paired differences (``experiments.paired``) against slow
loops over the replicates, on made-up series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from cvsp import experiments, paper, stats
from cvsp.registry import HIDDEN_LAYERS
from cvsp.tokens import layers_for


def _replicate_series(rng, layers=HIDDEN_LAYERS, replicates=80, with_scores=True, n=15):
    values = rng.uniform(-1, 1, size=(replicates, len(layers)))
    if not with_scores:
        return experiments.Replicates(values, rng.uniform(-1, 1, size=len(layers)), tuple(layers))
    gold = rng.normal(size=n)
    scores = gold + rng.normal(
        scale=rng.uniform(0.3, 3), size=(len(layers), n)
    )  # per-item model scores
    point = np.array([sps.spearmanr(s, gold).statistic for s in scores])
    return experiments.Replicates(values, point, tuple(layers), scores, gold)


def test_claim_intervals_reselect_the_best_layer_and_token_choice_in_each_replicate():
    rng = np.random.default_rng(3)
    boot = stats.BootstrapSettings(replicates=80)
    reps = {}
    for claim in paper.REPORTED:
        for variant in claim.variants:
            reps.setdefault(
                (claim.result, claim.model, variant, claim.task),
                _replicate_series(rng, with_scores=False),
            )
    missing = next(
        c for c in paper.REPORTED if c.result == "sentence_self_similarity" and c.model == "clip"
    )
    del reps[(missing.result, missing.model, missing.variants[0], missing.task)]  # no series: NaN
    del reps[
        ("sts", "gpt2", "eos", "stsb")
    ]  # one of a claim's two token choices missing: the other serves
    table = experiments.claim_intervals(reps, boot).set_index("claim")
    assert list(table.index) == [c.text for c in paper.REPORTED]
    checked = set()
    for claim in paper.REPORTED:
        row = table.loc[claim.text]
        present = [
            reps[(claim.result, claim.model, v, claim.task)]
            for v in claim.variants
            if (claim.result, claim.model, v, claim.task) in reps
        ]
        if not present:
            assert np.isnan(row["ci_low"]) and np.isnan(row["ci_high"])
            checked.add("missing")
            continue
        reduced = []
        for b in range(boot.replicates):  # replicate by replicate, every layer and token choice
            candidates = [
                r.values[b, r.layers.index(layer)] for r in present for layer in claim.layers
            ]
            if claim.statistic == "value":
                assert len(candidates) == 1
                reduced.append(candidates[0])
            else:
                reduced.append(max(candidates) if claim.statistic == "max" else min(candidates))
        assert row["ci_low"] == pytest.approx(np.percentile(reduced, 2.5), abs=1e-12), claim.text
        assert row["ci_high"] == pytest.approx(np.percentile(reduced, 97.5), abs=1e-12), claim.text
        checked.add(claim.statistic)
    assert checked == {"missing", "value", "max", "min"}


def test_paired_differences_per_layer_and_at_the_best_layer():
    rng = np.random.default_rng(8)
    boot = stats.BootstrapSettings(replicates=80)
    clip_eos_layers = layers_for("clip", "eos")  # 15: the extra two are never compared
    reps = {
        ("sts", "clip", "eos", "stsb"): _replicate_series(rng, clip_eos_layers),
        ("sts", "gpt2", "last_token", "stsb"): _replicate_series(rng),
        ("sentence_self_similarity", "clip", "eos", "sts_sentences"): _replicate_series(
            rng, clip_eos_layers, with_scores=False
        ),
        ("sentence_self_similarity", "gpt2", "eos", "sts_sentences"): _replicate_series(
            rng, with_scores=False
        ),
        ("sts", "gpt2", "eos", "stsb"): _replicate_series(rng),  # not compared with CLIP's eos
        ("sts", "gpt2", "mean", "stsb"): _replicate_series(
            rng
        ),  # compared with CLIP's mean, which is missing
    }
    compared = {
        "sts": (("eos", "last_token"), ("mean", "mean")),
        "sentence_self_similarity": (("eos", "eos"),),
    }
    rows = experiments.paired_differences(reps, "clip", "gpt2", compared, boot)
    table = pd.DataFrame(
        rows,
        columns=[
            "result",
            "task",
            "variant",
            "base_variant",
            "layer",
            "difference",
            "ci_low",
            "ci_high",
            "t",
            "p",
        ],
    )
    assert len(table) == 13 + 1 + 13  # STS: 13 layers and the best one; self-similarity: 13 layers
    assert set(zip(table["result"], table["base_variant"])) == {
        ("sts", "last_token"),
        ("sentence_self_similarity", "eos"),
    }
    for result, task, base_variant in (
        ("sts", "stsb", "last_token"),
        ("sentence_self_similarity", "sts_sentences", "eos"),
    ):
        a, b = reps[(result, "clip", "eos", task)], reps[(result, "gpt2", base_variant, task)]
        part = table[table["result"] == result].set_index("layer")
        for layer in range(13):
            row = part.loc[str(layer)]
            assert row["difference"] == pytest.approx(a.point[layer] - b.point[layer], abs=1e-12)
            delta = a.values[:, layer] - b.values[:, layer]
            assert row["ci_low"] == pytest.approx(np.percentile(delta, 2.5), abs=1e-12)
            assert row["ci_high"] == pytest.approx(np.percentile(delta, 97.5), abs=1e-12)
            if a.scores is None:
                assert np.isnan(row["t"]) and np.isnan(row["p"])
            else:  # Williams' t on the two series' point values and their rank correlation
                r23 = sps.spearmanr(a.scores[layer], b.scores[layer]).statistic
                t, p = stats.williams_t(a.point[layer], b.point[layer], r23, len(a.gold))
                assert (
                    np.isfinite(t)
                    and row["t"] == pytest.approx(t, abs=1e-9)
                    and row["p"] == pytest.approx(p, abs=1e-9)
                )
    best = table[(table["result"] == "sts") & (table["layer"] == "best")].iloc[0]
    a, b = reps[("sts", "clip", "eos", "stsb")], reps[("sts", "gpt2", "last_token", "stsb")]
    assert best["difference"] == pytest.approx(max(a.point[:13]) - max(b.point[:13]), abs=1e-12)
    per_replicate = [max(a.values[i, :13]) - max(b.values[i, :13]) for i in range(boot.replicates)]
    assert best["ci_low"] == pytest.approx(np.percentile(per_replicate, 2.5), abs=1e-12)
    assert best["ci_high"] == pytest.approx(np.percentile(per_replicate, 97.5), abs=1e-12)
