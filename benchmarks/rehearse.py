"""Rehearsal of the Pages build (``.github/workflows/book.yml``) at full size, offline.

    python benchmarks/rehearse.py [--out benchmarks/rehearsal.json] [--work DIR]   (make rehearse)

Serves the nine repositories the book reads (every model of ``BOOK_MODELS``: the
paper's two, BERT and the two SimCSE fine-tunes, LAION's CLIP B/32, CLIP L/14, SigLIP
base and GPT-2 medium) from the local replica of the hub (``tests/hub_replica.py``,
``tests/hub_repos.py``) with random weights of the real sizes (two-tower models with
their real vision towers; about 7 GB, held in memory), and runs the workflow's steps in
a fresh workspace as a runner does on its first run (an empty cache): the test step
(``pytest -m "not slow"`` with ``HF_ENDPOINT`` at the replica, so the real-weight tests
run), the strict book build with ``CVSP_MODELS=real`` and nothing else set, and the
claims summary. The install step is this environment's.

It reports the wall time of each step, the bytes downloaded from the hub, the peak disk
of the workspace (hub cache, embeddings, the built book; the tests' caches and temporary
files, kept apart and removed after them as the workflow does), the size of the cache
the workflow saves (weights and data) and of the installed packages, beside the
runner's limits. Offline it needs ``CVSP_DATA_DIR`` and ``CVSP_TOKENIZERS_DIR``, as the
tests do. The replica's weights are random, so the real tests that compare the weights
with their published sha256 (one per model whose sha256 is public) are deselected (they
need the real files).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the hub replica lives with the tests

from hub_replica import HubReplica  # noqa: E402
from hub_repos import bert_repos, beyond_extra_repos, clip_repo, gpt2_repo  # noqa: E402

from cvsp.registry import BOOK_MODELS, MODELS  # noqa: E402
from cvsp.settings import Settings, revision_variable  # noqa: E402

# The limits the Pages build must fit: the book job's own timeout (book.yml's
# timeout-minutes; GitHub allows a job 6 hours), and GitHub's standard Linux runner for
# public repositories (4 cores, 16 GB of memory, about 14 GB of free disk) and its cache
# of 10 GB per repository.
RUNNER = {"job_minutes": 90, "free_disk_gb": 14, "cache_gb": 10}
NEEDS_REAL_FILES = "tests/test_real.py::test_published_weights"


def folder_bytes(folder: Path) -> int:
    """Bytes of the files under ``folder`` (links not followed; the hub cache links its blobs)."""
    total = 0
    for path in folder.rglob("*") if folder.exists() else ():
        try:
            if path.is_file() and not path.is_symlink():
                total += path.stat().st_size
        except OSError:  # removed while we looked
            pass
    return total


class PeakDisk:
    """Samples the bytes under a folder every ``every`` seconds, in a thread, and keeps the peak."""

    def __init__(self, folder: Path, every: float = 5.0) -> None:
        self.folder, self.every, self.peak = folder, every, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, folder_bytes(self.folder))
            self._stop.wait(self.every)

    def __enter__(self) -> PeakDisk:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, folder_bytes(self.folder))


def replica_repos(settings: Settings) -> list:
    """The nine repositories of ``BOOK_MODELS`` at full size (random weights of the real sizes)."""
    if settings.tokenizers_dir is None:
        raise SystemExit(
            "Set CVSP_TOKENIZERS_DIR to the real GPT-2 and CLIP tokenizers (as for the tests)."
        )
    tokenizers = settings.tokenizers_dir
    repos = [
        gpt2_repo(tokenizers, full_size=True),
        clip_repo(tokenizers, full_size=True),
        *bert_repos(settings, full_size=True),
        *beyond_extra_repos(settings, tokenizers, full_size=True),
    ]
    missing = {MODELS[key].hub_id for key in BOOK_MODELS} - {repo.repo_id for repo in repos}
    if missing:  # a model added to the book and not to the rehearsal
        raise SystemExit(
            f"The rehearsal's replica lacks {', '.join(sorted(missing))}: add it to replica_repos."
        )
    return repos


def runner_env(endpoint: str, work: Path) -> dict[str, str]:
    """The workflow's environment: real models, caches in the workspace, the hub at ``endpoint``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    for key in MODELS:
        env.pop(revision_variable(key), None)
    env.update(
        CVSP_MODELS="real",
        CVSP_CACHE_DIR=str(work / ".cache" / "cvsp"),
        HF_HOME=str(work / ".cache" / "huggingface"),
        HF_ENDPOINT=endpoint,
        MPLBACKEND="Agg",
        HF_HUB_DISABLE_TELEMETRY="1",
    )
    return env


def step(name: str, command: list[str], env: dict[str, str], log: Path) -> dict:
    """Run one step of the workflow; its wall time and exit code (output to ``log``)."""
    print(f"rehearsal: {name} ...", flush=True)
    started = time.perf_counter()
    with log.open("w") as handle:
        code = subprocess.run(
            command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT
        ).returncode
    seconds = time.perf_counter() - started
    print(f"rehearsal: {name}: exit {code} in {seconds / 60:.1f} min (log {log})", flush=True)
    return {"step": name, "exit": code, "minutes": round(seconds / 60, 2), "log": str(log)}


def rehearse(work: Path) -> dict:
    settings = Settings.from_env()
    started = time.perf_counter()
    repos = replica_repos(settings)
    served = sum(
        len(content)
        for repo in repos
        for files in repo.commits.values()
        for content in files.values()
    )
    print(f"rehearsal: replica ready in {time.perf_counter() - started:.0f} s", flush=True)
    bin_ = Path(sys.executable).parent
    steps = []
    with HubReplica(repos) as hub, PeakDisk(work) as disk:
        env = runner_env(hub.url, work)
        tests_cache = (
            work / "runner-temp" / "cvsp-tests"
        )  # as the workflow: the tests' caches apart
        tests_cache.parent.mkdir(parents=True, exist_ok=True)
        steps.append(
            step(
                "test",
                [
                    sys.executable,
                    "-m",
                    "pytest",
                    "-m",
                    "not slow",
                    "--require-real",
                    "-q",
                    "-p",
                    "no:cacheprovider",
                    "--basetemp",
                    str(work / "runner-temp" / "pytest"),
                    "--deselect",
                    NEEDS_REAL_FILES,
                ],
                dict(env, CVSP_CACHE_DIR=str(tests_cache)),
                work / "test.log",
            )
        )
        after_tests = hub.bytes_sent()
        peak_tests = disk.peak
        shutil.rmtree(work / "runner-temp", ignore_errors=True)
        book_env = {
            k: v for k, v in env.items() if k != "CVSP_TOKENIZERS_DIR"
        }  # a user's setting only
        steps.append(
            step(
                "book",
                [
                    str(bin_ / "jupyter-book"),
                    "build",
                    str(ROOT),
                    "--path-output",
                    str(work / "book"),
                    "-W",
                    "-n",
                    "--keep-going",
                ],
                book_env,
                work / "book.log",
            )
        )
        steps.append(
            step(
                "summary",
                [sys.executable, str(ROOT / "tools" / "claims_summary.py")],
                env,
                work / "summary.md",
            )
        )
        downloaded = hub.bytes_sent()
    cache = work / ".cache"
    return {
        "created": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "machine": {"cores": os.cpu_count(), "python": platform.python_version()},
        "runner_limits": RUNNER,
        "steps": steps,
        "total_minutes": round(sum(s["minutes"] for s in steps), 1),
        "replica_gb": round(served / 1e9, 2),
        "downloaded_gb": {
            "test_step": round(after_tests / 1e9, 2),
            "total": round(downloaded / 1e9, 2),
        },
        "peak_disk_gb": {
            "test_step": round(peak_tests / 1e9, 2),
            "total": round(disk.peak / 1e9, 2),
        },
        "saved_cache_gb": round(
            (folder_bytes(cache / "huggingface") + folder_bytes(cache / "cvsp" / "data")) / 1e9, 2
        ),
        "embeddings_gb": round(folder_bytes(cache / "cvsp" / "embeddings") / 1e9, 2),
        "installed_packages_gb": round(folder_bytes(Path(sys.prefix)) / 1e9, 2),
        "deselected": [NEEDS_REAL_FILES],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "rehearsal.json")
    parser.add_argument(
        "--work", type=Path, help="workspace (default: a new temporary folder, removed after)"
    )
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="cvsp-rehearsal-"))
    work.mkdir(parents=True, exist_ok=True)
    report = rehearse(work)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(
        json.dumps(
            {
                k: report[k]
                for k in ("total_minutes", "downloaded_gb", "peak_disk_gb", "saved_cache_gb")
            },
            indent=2,
        )
    )
    failed = [s["step"] for s in report["steps"] if s["exit"] != 0]
    if failed:  # the workspace stays, with the logs
        print(f"rehearsal: failed steps: {', '.join(failed)}; logs in {work}")
        return 1
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
