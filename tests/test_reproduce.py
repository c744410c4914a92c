"""End to end: `cvsp reproduce --models stand-in` on the full data, twice cold and once warm."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
from support.runs import run_reproduce

from cvsp.experiments import COLUMNS, RESULTS

pytestmark = pytest.mark.slow

SUBSETS = {  # (result, model, variant, task) -> layers
    **{
        ("cwe_self_similarity", m, v, "sts_sentences"): 13
        for m in ("gpt2", "clip")
        for v in ("random_token", "random_token_no_first", "random_token_released")
    },
    **{
        ("word_similarity", m, v, t): (15 if (m, v) == ("clip", "eos") else 13)
        for m in ("gpt2", "clip")
        for v in ("last_subtoken", "eos")
        for t in ("rg65", "wordsim353", "simlex999", "simverb3500", "valnorm")
    },
    **{
        (r, m, v, t): (15 if (m, v) == ("clip", "eos") else 13)
        for r, t in (("sts", "stsb"), ("sentence_self_similarity", "sts_sentences"))
        for m, v in (
            ("gpt2", "last_token"),
            ("gpt2", "eos"),
            ("gpt2", "mean"),
            ("gpt2", "mean_no_first"),
            ("clip", "eos"),
            ("clip", "mean"),
        )
    },
}


@pytest.fixture(scope="module")
def first_run(reference_run):
    return reference_run


def test_writes_every_output(first_run):
    root, done = first_run
    out = root / "out"
    for name in ("scores.csv", "comparison.csv", "provenance.json"):
        assert (out / name).is_file(), name
    for result in RESULTS:
        assert (out / "figures" / f"{result}.png").stat().st_size > 10_000
    assert "Comparison with Wolfe & Caliskan" in done.stdout


def test_scores_cover_every_result_model_variant_task_and_layer(first_run):
    scores = pd.read_csv(first_run[0] / "out" / "scores.csv", keep_default_na=False, na_values=[""])
    assert list(scores.columns) == [*COLUMNS, "ci_low", "ci_high", "weights"]
    counts = scores.groupby(["result", "model", "variant", "task"]).size().to_dict()
    assert counts == SUBSETS
    missing = scores[scores["value"].isna()]
    assert missing["note"].fillna("").str.startswith("undefined").all()
    assert len(missing) <= 2  # only layer 0 of an EOS token may be undefined
    assert set(missing["layer"].astype(str)) <= {"0"}
    # every defined value of the paper's series has an interval around it
    series = scores[
        scores["value"].notna()
        & ~scores["variant"].isin(["random_token_no_first", "random_token_released"])
    ]
    assert series["ci_low"].notna().all() and series["ci_high"].notna().all()
    assert (
        (series["ci_low"] <= series["value"] + 1e-9) & (series["value"] <= series["ci_high"] + 1e-9)
    ).mean() > 0.99


def test_differences_and_comparison_carry_paired_intervals(first_run):
    out = first_run[0] / "out"
    differences = pd.read_csv(out / "differences.csv", dtype={"layer": str})
    assert set(differences["result"]) == set(RESULTS)
    defined = differences["difference"].notna()
    assert defined.mean() > 0.9
    assert (differences.loc[defined, "ci_low"] <= differences.loc[defined, "ci_high"]).all()
    # an undefined difference (GPT-2's EOS in layer 0 is one vector for every text) has no interval
    assert differences.loc[~defined, ["ci_low", "ci_high"]].isna().all().all()
    assert set(differences.loc[~defined, "layer"]) <= {"0"}
    assert differences.query("result == 'sts' and layer == 'best'").shape[0] == 3
    comparison = pd.read_csv(out / "comparison.csv")
    assert {"ci_low", "ci_high", "paper_inside"} <= set(comparison.columns)
    provenance = json.loads((out / "provenance.json").read_text())
    assert (
        provenance["bootstrap"]["replicates"] == 2000 and provenance["bootstrap"]["level"] == 0.95
    )


def test_stand_in_runs_say_so_everywhere(first_run):
    out = first_run[0] / "out"
    for table in ("scores.csv", "comparison.csv", "differences.csv"):
        assert set(pd.read_csv(out / table)["weights"]) == {"stand-in (random)"}
    provenance = json.loads((out / "provenance.json").read_text())
    assert "RANDOM weights" in provenance["warning"]
    assert provenance["models"]["gpt2"]["source"] == "stand-in"
    assert len(provenance["data"]["sha256"]) == 6
    for figure in (out / "figures").glob("*.png"):
        assert b"STAND-IN MODELS" in figure.read_bytes()
    assert "STAND-IN MODELS" in first_run[1].stdout


def test_warm_run_reads_the_cached_tables_not_the_embeddings(small_reference_run, tmp_path):
    """A warm run takes the scores and intervals from their cached tables: with every
    embedding removed from a copy of the cache it writes the same files, and computes none."""
    root, _ = small_reference_run
    shutil.copytree(root / "cache", tmp_path / "cache", ignore=shutil.ignore_patterns("embeddings"))
    assert not (tmp_path / "cache" / "embeddings").exists()
    run_reproduce(tmp_path / "warm", tmp_path / "cache", small=True)
    for name in ("scores.csv", "comparison.csv", "differences.csv"):
        assert (tmp_path / "warm" / name).read_bytes() == (root / "out" / name).read_bytes(), name
    assert not (tmp_path / "cache" / "embeddings").exists() or not any(
        (tmp_path / "cache" / "embeddings").iterdir()
    )
