"""The GitHub workflows: the Pages build publishes what it finds, with caches per mode."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"


def _steps(name: str) -> list[dict]:
    workflow = yaml.safe_load((WORKFLOWS / name).read_text())
    return workflow["jobs"][next(iter(workflow["jobs"]))]["steps"]


def _step(steps: list[dict], uses: str) -> dict:
    return next(s for s in steps if s.get("uses", "").startswith(uses))


def test_pages_cache_is_its_own_and_saved_even_after_a_failure():
    book, pr = _steps("book.yml"), _steps("pr.yml")
    restore = _step(book, "actions/cache/restore")
    key, prefixes = restore["with"]["key"], restore["with"]["restore-keys"].split()
    other = _step(pr, "actions/cache")["with"]
    assert key.startswith(prefixes[0]) and prefixes[-1] == "cvsp-real-" and "github.run_id" in key
    assert not other["key"].startswith(prefixes[-1]) and not key.startswith(other["restore-keys"])
    assert restore["with"]["path"].split() == [".cache/huggingface", ".cache/cvsp/data"]  # weights and data
    save = _step(book, "actions/cache/save")
    assert "!cancelled()" in save["if"] and "always()" not in save["if"]  # a cancelled run saves nothing
    assert "steps.test.outcome != 'skipped'" in save["if"]  # a failed test or build step still saves
    assert save["with"]["path"] == restore["with"]["path"]
    assert save["with"]["key"] == "${{ steps.cache.outputs.cache-primary-key }}"


def test_pages_build_is_make_books_and_its_claims_are_reported_not_gated():
    steps = _steps("book.yml")
    runs = [s.get("run", "") for s in steps]
    makefile = (ROOT / "Makefile").read_text()
    build = next(r for r in runs if r.startswith("jupyter-book build"))
    assert build.split(" . ")[1] in makefile  # the same strict flags as make book
    summary = next(s for s in steps if "claims_summary.py" in s.get("run", ""))
    assert summary["if"] == "always()" and "GITHUB_STEP_SUMMARY" in summary["run"]
    assert summary["continue-on-error"] is True  # a missing table never stops the upload
    test = next(s for s in steps if s.get("id") == "test")
    # the real tests the workflow runs check loading and outputs, never the paper's claims
    real = (ROOT / "tests" / "test_real.py").read_text()
    assert '-m "not slow"' in test["run"] and ".holds(" not in real and "holds" not in test["run"]
    assert "--require-real" in test["run"]  # a hub that fails there fails the step, never skips it
    assert test["env"]["CVSP_CACHE_DIR"] != "${{ github.workspace }}/.cache/cvsp"  # stand-ins kept apart
    removal = next(s for s in steps if s.get("name") == "Remove the tests' caches")
    assert removal["if"] == "always()" and test["env"]["CVSP_CACHE_DIR"] in removal["run"]


def test_workflows_leave_the_slow_tests_to_machines_with_the_disk():
    for name in ("book.yml", "pr.yml"):
        test = next(s for s in _steps(name) if s.get("name") == "Test")
        assert "not slow" in test["run"], name


def test_claims_summary_reports_without_failing(tmp_path):
    table = tmp_path / "comparison.csv"
    with table.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["claim", "relation", "paper", "ours", "holds", "ci_low", "ci_high", "weights"])
        writer.writerow(["CLIP STS, best EOS layer", "≈", "0.73", "0.7312", "True", "0.71", "0.75", "pretrained"])
        writer.writerow(["GPT-2 STS, any layer", "≤", "0.45", "0.52", "False", "0.5", "0.54", "pretrained"])
    tool = ROOT / "tools" / "claims_summary.py"
    done = subprocess.run([sys.executable, str(tool), str(table)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "1 of 2 numbers of the paper hold" in done.stdout
    assert "| CLIP STS, best EOS layer | ≈ 0.73 | 0.731 | [0.710, 0.750] | ✓ |" in done.stdout
    assert "| GPT-2 STS, any layer | ≤ 0.45 | 0.520 | [0.500, 0.540] | ✗ |" in done.stdout
    missing = subprocess.run([sys.executable, str(tool), str(tmp_path / "none.csv")], capture_output=True, text=True)
    assert missing.returncode == 1 and "No comparison table" in missing.stderr


# Both runs in one process (pytest.main twice: the second reuses the imported test module,
# which nothing changes in between), so that torch is imported once, not twice (about 6 s).
BOTH_WAYS = """
import sys, pytest
for extra in ([], ["--require-real"]):
    code = pytest.main([*sys.argv[1:], *extra])
    print(f"=== exit {int(code)} {' '.join(extra)}", flush=True)
"""


def test_require_real_turns_the_real_tests_skip_into_a_failure(tmp_path):
    """Without the hub, the real tests skip (this project's CI); with ``--require-real``
    (the Pages workflow) they fail, so that a broken hub cannot pass the test step."""
    import os

    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf"), CVSP_MODELS="real")
    options = ["-q", "-p", "no:cacheprovider", "--basetemp", str(tmp_path / "t"),
               str(ROOT / "tests" / "test_real.py"), "-k", "pinned_revision and gpt2 and not medium"]  # fmt: skip
    done = subprocess.run([sys.executable, "-c", BOTH_WAYS, *options], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    parts = re.split(r"^=== exit (.*)$", done.stdout, flags=re.M)
    assert len(parts) == 5, (done.stdout + done.stderr)[-3000:]  # each run printed its exit line
    skipped, first_exit, required, second_exit, _ = parts
    assert first_exit.strip() == "0" and "1 skipped" in skipped, done.stdout[-2000:]
    assert second_exit == "1 --require-real" and "real weights required (--require-real)" in required, done.stdout[-2000:]
