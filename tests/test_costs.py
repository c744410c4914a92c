"""``cvsp preflight`` (:mod:`cvsp.costs`): what a run will download, store and take, said
before anything is requested, and a refusal when the disk is short."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hub_replica import HubReplica

from cvsp import costs
from cvsp.registry import BOOK_MODELS, CHAPTERS, MODEL_SETS, MODELS
from cvsp.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
CLI = "import sys\nfrom cvsp.cli import main\nsys.exit(main(sys.argv[1:]))"


def _preflight(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", CLI, "preflight", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _env(endpoint: str, root: Path, **changes: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("HF_") and not k.endswith("_REVISION")
    }
    env.update(
        HF_ENDPOINT=endpoint,
        HF_HOME=str(root / "hf"),
        CVSP_CACHE_DIR=str(root / "cvsp"),
        CVSP_MODELS="real",
        HF_HUB_DISABLE_TELEMETRY="1",
        **changes,
    )
    return env


@pytest.fixture
def small_disk(tmp_path):
    """A 1 GB tmpfs (the machine's root may mount it: CI runs as root)."""
    folder = tmp_path / "small"
    folder.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1g", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, f"could not mount a 1 GB tmpfs for the test: {done.stderr.strip()}"
    yield folder
    subprocess.run(["umount", str(folder)], check=True)


def test_a_short_disk_is_refused_before_any_request_to_the_hub(small_disk, hub_repos):
    with HubReplica(hub_repos) as hub:
        for target in ("book", "reproduce", "1"):
            done = _preflight(target, env=_env(hub.url, small_disk))
            assert done.returncode == 1, done.stdout + done.stderr
            sentence = done.stderr.strip()
            assert sentence.count("\n") == 0 and sentence.startswith(
                "cvsp preflight: not enough disk"
            )
            needed, free = (float(x) for x in re.findall(r"([\d.]+) GB", sentence)[:2])
            assert needed > free and free <= 1.1 and str(small_disk) in sentence, sentence
        forced = _preflight("book", "--force", env=_env(hub.url, small_disk))
        assert forced.returncode == 0 and "going on anyway (--force)" in forced.stderr
        assert hub.requests() == []  # not one file, not one revision asked for
    assert not any(small_disk.iterdir())  # and nothing written


def test_a_large_disk_states_download_disk_and_time_per_chapter(tmp_path, hub_repos):
    with HubReplica(hub_repos) as hub:
        done = _preflight("book", env=_env(hub.url, tmp_path))
        assert hub.requests() == []
    assert done.returncode == 0, done.stderr
    bench = costs.Benchmark.load()
    total = sum(MODELS[key].download_mb for key in BOOK_MODELS) / 1000
    assert f"download  {total:.1f} GB of weights (9 of 9 models" in done.stdout
    assert re.search(r"disk +up to [\d.]+ GB at the peak", done.stdout)
    assert re.search(
        rf"time +about \d+ (min|s) on this machine's {os.cpu_count()} cores", done.stdout
    )
    for chapter in CHAPTERS:
        row = next(line for line in done.stdout.splitlines() if line.strip().startswith(chapter))
        assert re.search(r"download +[\d.]+ GB, disk +[\d.]+ GB, about \d+ (min|s)$", row), row
    assert bench.commit[:7] in done.stdout


def test_downloads_leave_out_weights_already_in_the_hub_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(costs.constants, "HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    settings = Settings(cache_dir=tmp_path / "cvsp")
    bench = costs.Benchmark.load()
    before = costs.estimate("reproduce", settings, bench)
    assert before.cached == () and before.download == pytest.approx(
        (MODELS["gpt2"].download_mb + MODELS["clip"].download_mb) * 1e6
    )
    snapshot = tmp_path / "hf" / "hub" / "models--gpt2" / "snapshots" / MODELS["gpt2"].revision
    snapshot.mkdir(parents=True)
    (snapshot / "model.safetensors").write_bytes(b"weights")
    after = costs.estimate("reproduce", settings, bench)
    assert after.cached == ("gpt2",) and after.download == pytest.approx(
        MODELS["clip"].download_mb * 1e6
    )
    stand_in = costs.estimate("reproduce", settings.with_(models="stand-in"), bench)
    assert stand_in.download == 0 and stand_in.weights == pytest.approx(
        bench.reproduce_standins_mib * 2**20
    )


def test_estimates_follow_the_benchmark_and_scale_with_the_cores():
    bench = costs.Benchmark.load()
    settings = Settings(models="stand-in")
    book = costs.estimate("book", settings, bench, cores=bench.cores)
    assert book.disk == pytest.approx(bench.book_cache_peak_mib * 2**20)
    assert book.seconds == pytest.approx(bench.book_s)
    assert costs.estimate("book", settings, bench, cores=2 * bench.cores).seconds == pytest.approx(
        bench.book_s / 2
    )
    alone = costs.estimate("08_beyond_one_clip", settings, bench, cores=bench.cores)
    first, own = bench.pages[costs.FIRST_PAGE], bench.pages["08_beyond_one_clip"]
    assert alone.seconds == pytest.approx(first["seconds"] + own["seconds"])
    assert alone.disk == pytest.approx((first["cache_mib"] + own["cache_mib"]) * 2**20)
    assert alone.models == MODEL_SETS["beyond"]


def test_costs_file_is_the_benchmarks_own():
    """``costs.json`` (shipped with the package) is what the benchmark derives from its
    results file, never edited by hand."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import run
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    report = json.loads((ROOT / "benchmarks" / "results.json").read_text())
    assert json.loads(costs.COSTS.read_text()) == json.loads(json.dumps(run.costs_of(report)))
    assert set(costs.Benchmark.load().pages) >= {costs.FIRST_PAGE, *CHAPTERS}


def test_every_chapter_starts_its_own_session():
    """Each chapter's notebook calls ``notebook.start("<its name>")``, so its model set and
    its preflight line are the registry's (:data:`cvsp.registry.CHAPTERS`)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    chapters = [
        c["file"].split("/")[-1]
        for part in toc["parts"]
        for c in part["chapters"]
        if c["file"].startswith("notebooks/")
    ]
    assert chapters == list(CHAPTERS)
    for name in chapters:
        text = (ROOT / "notebooks" / f"{name}.py").read_text()
        assert re.findall(r"notebook\.start\((.*)\)", text) == [f'"{name}", replay=REPLAY'], name


def test_unknown_targets_are_refused_in_one_sentence(tmp_path):
    done = _preflight("9", env=_env("http://127.0.0.1:9", tmp_path))
    assert done.returncode == 2 and "Unknown target '9'" in done.stderr
    assert costs.chapter("8") == costs.chapter("08") == "08_beyond_one_clip"


def test_cache_command_reports_and_clears(tmp_path):
    env = _env("http://127.0.0.1:9", tmp_path)
    (tmp_path / "cvsp" / "embeddings").mkdir(parents=True)
    (tmp_path / "cvsp" / "embeddings" / "a.npy").write_bytes(b"x" * 3_000_000)
    shown = subprocess.run(
        [sys.executable, "-c", CLI, "cache"], env=env, capture_output=True, text=True
    )
    assert (
        shown.returncode == 0
        and f"{tmp_path / 'cvsp'} holds 3.0 MB: embeddings 3.0 MB." in shown.stdout
    )
    cleared = subprocess.run(
        [sys.executable, "-c", CLI, "cache", "--clear"], env=env, capture_output=True, text=True
    )
    assert (
        cleared.returncode == 0 and "Removed" in cleared.stdout and not (tmp_path / "cvsp").exists()
    )
