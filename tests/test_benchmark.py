"""The benchmark runs with its documented command and reports every figure (quick mode)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_benchmark_quick_mode_reports_every_figure(tmp_path):
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--out", str(out)],
        capture_output=True, text=True, timeout=1200,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["matmul_gflops"] > 0
    pairs = {(r["model"], r["inputs"]) for r in report["extraction"]}
    assert pairs == {(m, i) for m in ("gpt2", "clip") for i in ("sts_sentences", "words")}
    for row in report["extraction"]:
        assert row["tokens"] > row["texts"] > 0
        assert row["speedup"] == row["naive_s"] / row["batched_s"]
        assert 0 < row["fraction_of_matmul"]
    assert report["self_similarity"][0]["n"] == 1000 and "brute_s" in report["self_similarity"][0]
    assert {t["target"].split(",")[0] for t in report["targets"]} >= {"batched >= 3x naive"}
    assert "Targets" in done.stdout
    geometry = report["geometry"][0]
    assert geometry["n"] == 1000 and geometry["uniformity_s"] > 0 and geometry["rogue_peak_mib"] > 0
    intervals = report["uncertainty_quick"]
    assert intervals["replicates"] == 100 and intervals["one_thread_s"] > 0 and intervals["default_s"] > 0
    disk = report["cache_quick_mib"]  # the quick run's cache: two stand-ins, their embeddings
    assert disk["stand-ins"] > 400 and 0 < disk["embeddings"] < disk["stand-ins"]
