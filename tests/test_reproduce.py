"""End to end: `cvsp reproduce --models stand-in` on the full data, twice cold and once warm."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from cvsp.experiments import COLUMNS, RESULTS

pytestmark = pytest.mark.slow

SUBSETS = {  # (result, model, variant, task) -> layers
    **{("cwe_self_similarity", m, "random_token", "sts_sentences"): 13 for m in ("gpt2", "clip")},
    **{
        ("word_similarity", m, v, t): (15 if (m, v) == ("clip", "eos") else 13)
        for m in ("gpt2", "clip")
        for v in ("last_subtoken", "eos")
        for t in ("rg65", "wordsim353", "simlex999", "simverb3500", "valnorm")
    },
    **{
        (r, m, v, t): (15 if (m, v) == ("clip", "eos") else 13)
        for r, t in (("sts", "stsb"), ("sentence_self_similarity", "sts_sentences"))
        for m, v in (("gpt2", "last_token"), ("gpt2", "eos"), ("gpt2", "mean"), ("clip", "eos"), ("clip", "mean"))
    },
}


def reproduce(out: Path, cache: Path, *extra: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, CVSP_CACHE_DIR=str(cache), MPLBACKEND="Agg")
    done = subprocess.run(
        [sys.executable, "-m", "cvsp", "reproduce", "--models", "stand-in", "--out", str(out),
         "--no-progress", *extra],
        env=env, capture_output=True, text=True, timeout=3000,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return done


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    done = reproduce(root / "out", root / "cache")
    return root, done


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
    assert list(scores.columns) == [*COLUMNS, "weights"]
    counts = scores.groupby(["result", "model", "variant", "task"]).size().to_dict()
    assert counts == SUBSETS
    missing = scores[scores["value"].isna()]
    assert missing["note"].fillna("").str.startswith("undefined").all()
    assert len(missing) <= 2  # only layer 0 of an EOS token may be undefined
    assert set(missing["layer"].astype(str)) <= {"0"}


def test_stand_in_runs_say_so_everywhere(first_run):
    out = first_run[0] / "out"
    for table in ("scores.csv", "comparison.csv"):
        assert set(pd.read_csv(out / table)["weights"]) == {"stand-in (random)"}
    provenance = json.loads((out / "provenance.json").read_text())
    assert "RANDOM weights" in provenance["warning"]
    assert provenance["models"]["gpt2"]["source"] == "stand-in"
    assert len(provenance["data"]["sha256"]) == 6
    for figure in (out / "figures").glob("*.png"):
        assert b"STAND-IN MODELS" in figure.read_bytes()
    assert "STAND-IN MODELS" in first_run[1].stdout


def test_deterministic_and_cached(first_run, tmp_path):
    root, _ = first_run
    reproduce(tmp_path / "cold", tmp_path / "cache")  # fresh stand-ins and embeddings
    warm = reproduce(tmp_path / "warm", root / "cache")  # everything cached
    reference = (root / "out" / "scores.csv").read_bytes()
    assert (tmp_path / "cold" / "scores.csv").read_bytes() == reference
    assert (tmp_path / "warm" / "scores.csv").read_bytes() == reference
    assert warm.returncode == 0
