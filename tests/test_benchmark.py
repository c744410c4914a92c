"""The benchmark runs with its documented command and reports every figure (quick mode)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

from support.runs import module_at

ROOT = Path(__file__).resolve().parents[1]


def test_benchmark_quick_mode_reports_every_figure(tmp_path):
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=1200,
    )
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
    assert (
        intervals["replicates"] == 100
        and intervals["one_thread_s"] > 0
        and intervals["default_s"] > 0
    )
    cli = {row["command"]: row for row in report["command_line"]}
    assert set(cli) == {"cvsp --help", "cvsp models"}
    assert all(row["median_s"] > 0 and row["torch_imported"] is False for row in cli.values())
    assert {"cvsp --help (s)", "cvsp models (s)"} <= {t["target"] for t in report["targets"]}
    disk = report[
        "cache_quick_mib"
    ]  # the quick run's cache: two small stand-ins (12 MiB each), their embeddings
    assert disk["stand-ins"] > 20 and 0 < disk["embeddings"] < disk["stand-ins"]


def test_each_pages_floor_is_its_traced_work(tmp_path, monkeypatch):
    """A trace line counts for the page whose execution window holds it: forward passes at
    the given FLOP rate, bootstrap runs at their seconds; a page without either has no ratio."""
    bench = module_at(ROOT / "benchmarks" / "run.py")
    windows = [
        ("results", 100.0, 160.0),
        ("running", 160.0, 161.0),
        ("08_beyond_one_clip", 161.0, 400.0),
    ]
    monkeypatch.setattr(bench, "_windows", lambda build: windows)
    lines = [
        {"work": "forward", "time": 110.0, "flops": 4e9, "seconds": 9.0},
        {"work": "bootstrap", "time": 150.0, "seconds": 6.0},
        {"work": "forward", "time": 300.0, "flops": 8e9, "seconds": 50.0},
        {
            "work": "forward",
            "time": 401.0,
            "flops": 1e12,
            "seconds": 1.0,
        },  # after every page: no page's
    ]
    trace = tmp_path / "trace.jsonl"
    trace.write_text("".join(json.dumps(line) + "\n" for line in lines))
    floors = bench.floors_by_page(tmp_path, trace, gflops=2.0)
    assert floors["results"] == {
        "forward_s": 2.0,
        "bootstrap_s": 6.0,
        "floor_s": 8.0,
        "page_s": 60.0,
        "ratio": 7.5,
    }
    assert floors["running"]["floor_s"] == 0 and floors["running"]["ratio"] is None
    assert (
        floors["08_beyond_one_clip"]["forward_s"] == 4.0
        and floors["08_beyond_one_clip"]["ratio"] == 239 / 4
    )


def _rehearsal():
    return module_at(ROOT / "benchmarks" / "rehearse.py")


def test_rehearsal_measures_peak_disk_and_downloads(tmp_path, hub_repos):
    """The rehearsal's two measurements: the peak of a folder that grows and shrinks (links
    not counted twice), and the bytes the hub replica served."""
    import urllib.request

    from hub_replica import HubReplica

    rehearse = _rehearsal()
    work = tmp_path / "work"
    work.mkdir()
    (work / "link").symlink_to(ROOT / "pyproject.toml")
    with rehearse.PeakDisk(work, every=0.05) as disk:
        (work / "big").write_bytes(b"x" * 3_000_000)
        time.sleep(0.5)
        (work / "big").unlink()
    assert 3_000_000 <= disk.peak < 3_100_000 and rehearse.folder_bytes(work) == 0
    with HubReplica(hub_repos) as hub:
        config = urllib.request.urlopen(f"{hub.url}/gpt2/resolve/main/config.json").read()
        weights = urllib.request.urlopen(f"{hub.url}/gpt2/resolve/main/model.safetensors").read()
        assert hub.bytes_sent() == len(config) + len(weights) > 1_000_000
    env = rehearse.runner_env("http://127.0.0.1:9", work)
    assert env["CVSP_MODELS"] == "real" and env["HF_ENDPOINT"] == "http://127.0.0.1:9"
    assert not [name for name in env if name.endswith("_REVISION") and name.startswith("CVSP_")]


def _block(text: str, name: str) -> str:
    """The table tools/sync_docs.py writes between ``<!-- {name}: generated … -->`` markers."""
    found = re.search(rf"<!-- {name}: generated.*?-->\n(.*?)\n<!-- end of {name} -->", text, re.S)
    assert found, f"CONTRIBUTING.md has no {name}"
    return found.group(1)


def test_contributing_states_the_rehearsals_figures():
    """CONTRIBUTING's table of the Pages rehearsal is the one benchmarks/rehearsal.json holds."""
    report = json.loads((ROOT / "benchmarks" / "rehearsal.json").read_text())
    table = _block((ROOT / "CONTRIBUTING.md").read_text(), "rehearsal table")
    minutes = {s["step"]: s["minutes"] for s in report["steps"]}
    assert all(s["exit"] == 0 for s in report["steps"])
    limits = report["runner_limits"]
    expected = [
        f"| {minutes['test']:.1f} / {minutes['book']:.1f} / {report['total_minutes']:.1f} | "
        f"{limits['job_minutes']} min (the workflow's timeout) |",
        f"| {report['downloaded_gb']['total']:.2f} |",
        f"| {report['peak_disk_gb']['total']:.1f} / {report['peak_disk_gb']['test_step']:.1f} | "
        f"about {limits['free_disk_gb']} GB free |",
        f"| {report['embeddings_gb']:.1f} |",
        f"| {report['saved_cache_gb']:.2f} | {limits['cache_gb']} GB per repository |",
    ]
    assert [row for row in expected if row not in table] == []


def test_contributing_states_the_benchmarks_figures():
    """CONTRIBUTING's speed figures are the ones benchmarks/results.json holds: every
    target with its verdict, the engine's rates, the other measures, each page."""
    report = json.loads((ROOT / "benchmarks" / "results.json").read_text())
    readme = (ROOT / "CONTRIBUTING.md").read_text()
    targets = _block(readme, "benchmark targets table")
    for target in report["targets"]:
        met = "yes" if target["met"] else "**no**"
        assert re.search(
            rf"^\| {re.escape(target['target'])} \| .* \| {re.escape(met)} \|$", targets, re.M
        )
        if not target["met"]:  # every missed target is explained in the prose
            assert f"**{target['target'].split(' (')[0]}**" in readme, target["target"]
    engine = _block(readme, "engine table")
    for row in report["extraction"]:
        assert f"{row['batched_tokens_per_s']:,.0f}, {row['fraction_of_matmul']:.0%}" in engine
    measures = _block(readme, "benchmark measures table")
    e2e, book = report["end_to_end"], report["book"]
    assert f"{e2e['cold_s']:.0f} s / {e2e['warm_s']:.1f} s" in measures
    assert (
        f"| {book['cold_s'] / 60:.1f} min | compute floor {book['floor_s'] / 60:.1f} min"
        in measures
    )
    table = _block(readme, "book pages table")
    for page, cold in book["cold_pages_s"].items():
        cached, ratio = book["cached_passes_pages_s"][page], book["floor_pages"][page]["ratio"]
        assert re.search(
            rf"^\| {page} \| {cold:.0f} \| .* \| {f'{ratio:.1f}x' if ratio else 'no passes'} \| .* \| {cached:.0f} \|$",
            table,
            re.MULTILINE,
        ), page


def test_replayed_chapters_are_judged_by_the_slowest_and_the_largest():
    """The replay targets (30 s, 1 GiB a chapter) are read off the chapter that comes
    closest to each; the full run's figures (after its cold build) come before
    --replay-only's."""
    bench = module_at(ROOT / "benchmarks" / "run.py")
    pages = {"01": {"seconds": 12.0, "peak_mib": 900.0}, "08": {"seconds": 31.0, "peak_mib": 400.0}}
    report = {"extraction": [], "self_similarity": [], "replay": {"pages": pages}}
    verdicts = {v["target"]: v for v in bench.verdicts(report)}
    assert verdicts["slowest replayed chapter: 08 (s)"]["met"] is False
    assert verdicts["largest replayed chapter's memory: 01 (MiB)"]["met"] is True
    fuller = {"01": {"seconds": 5.0, "peak_mib": 300.0}}
    report["book"] = {"replay_pages": fuller, "commit": "c", "cold_pages_s": {}}
    assert bench._replayed(report)["pages"] == fuller


def test_readme_states_what_each_part_costs_computed_and_replayed():
    """The README's table of costs is the preflight's estimate on the benchmark's machine
    and the benchmark's replay figures, for every chapter (tools/sync_docs.py renders it)."""
    from cvsp import costs
    from cvsp.registry import CHAPTERS

    bench = costs.Benchmark.load()
    replay = bench.replay
    assert set(replay["pages"]) == set(CHAPTERS)
    readme = (ROOT / "README.md").read_text()
    table = re.search(r"<!-- costs table.*?-->\n(.*?)\n<!--", readme, re.DOTALL).group(1)
    for row in costs.table(bench):
        figures = replay["pages"].get(row["target"])
        shown = f"{figures['seconds']:.0f} s, {figures['peak_mib']:.0f} MiB" if figures else "—"
        line = (
            f"| {costs.describe(row['target'])} | {row['download_gb']:.1f} | {row['disk_gb']:.1f} |"
        )
        assert re.search(rf"^{re.escape(line)} [^|]+ \| {re.escape(shown)} \|$", table, re.M), line
