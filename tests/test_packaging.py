"""The README, environment.yml, pyproject.toml and CI agree with each other."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from support.runs import module_at

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"pytorch": "torch", "huggingface_hub": "huggingface-hub"}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ ]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _spec(requirement: str) -> str:
    return requirement.strip()[len(_name(requirement)) :].replace(" ", "")


def _pyproject_deps(extras: tuple[str, ...] = ("compute",)) -> dict[str, str]:
    """The requirements of the package with ``extras`` (environment.yml is the computing
    environment: the runtime and the ``compute`` extra)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"]]
    for extra in extras:
        wanted += project["optional-dependencies"][extra]
    return {_name(r): _spec(r) for r in wanted}


def _conda_deps() -> dict[str, str]:
    deps: dict[str, str] = {}
    section = None
    for line in (ROOT / "environment.yml").read_text().splitlines():
        stripped = line.strip()
        if line and not line.startswith((" ", "#")):
            section = stripped.rstrip(":")  # a top-level key: name, channels, dependencies
            continue
        if stripped.startswith("- pip:"):
            section = "pip"
            continue
        if section != "dependencies" or not stripped.startswith("- "):
            continue
        requirement = stripped[2:]
        name = _name(requirement)
        if name in ("python", "pip"):
            continue
        deps[CONDA_NAMES.get(name, name)] = _spec(requirement)
    return deps


def test_environment_matches_pyproject():
    assert _conda_deps() == _pyproject_deps()


def test_environment_installs_the_package_editable():
    assert "- -e ." in (ROOT / "environment.yml").read_text()


def test_replaying_installs_no_torch_and_computing_asks_for_it():
    """The package alone replays (no PyTorch, as Binder installs it from the launch buttons'
    branch, tests/test_reader.py); its ``compute`` extra brings PyTorch, which every
    environment that computes installs."""
    assert "torch" not in _pyproject_deps(extras=())
    assert "torch" in _pyproject_deps(extras=("compute",))
    makefile = (ROOT / "Makefile").read_text()
    assert '-e ".[compute]"' in makefile and '-e ".[compute,dev]"' in makefile
    assert "- -e .[compute]" in (ROOT / "environment.yml").read_text()
    for workflow in (ROOT / ".github" / "workflows").glob("*.yml"):
        for line in re.findall(r"pip install -e \S+", workflow.read_text()):
            assert "compute" in line, (workflow.name, line)


def test_computing_without_torch_says_how_to_install_it():
    """With no PyTorch installed, the first module that needs it says in one sentence what
    to install (or to replay), not a bare ``No module named 'torch'``."""
    code = "import sys\nsys.modules['torch'] = None  # as if not installed\nimport cvsp.models\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("ModuleNotFoundError: Computing with the models needs PyTorch")
    assert "pip install 'cvsp[compute]'" in last and "REPLAY" in last


def test_the_package_version_is_pyproject_s():
    import cvsp

    assert (
        cvsp.__version__
        == tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    )


def test_the_readme_is_for_users_and_points_developers_on():
    """At most 150 lines: what the book shows, where to read it, how to run one chapter,
    build it all and test it, what it needs, how to cite; CONTRIBUTING.md for the rest."""
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 150
    headings = re.findall(r"^## (.+)$", readme, re.MULTILINE)
    assert headings == [
        "Read it online",
        "Run one chapter",
        "Build it all",
        "Test it",
        "Requirements",
        "Cite, licence, contribute",
    ]
    site = yaml.safe_load((ROOT / "_config.yml").read_text())["html"]["baseurl"].rstrip("/")
    assert site in readme and "CONTRIBUTING.md" in readme and "python3-venv" in readme
    assert (ROOT / "CONTRIBUTING.md").is_file()


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme
    assert re.search(r"^\s*make test\b", ci, re.MULTILINE)


def test_every_setting_is_documented_for_developers_and_users():
    readme = (ROOT / "CONTRIBUTING.md").read_text() + (ROOT / "book" / "running.md").read_text()
    settings_doc = (ROOT / "src" / "cvsp" / "settings.py").read_text()
    for variable in set(re.findall(r"CVSP_[A-Z0-9_]+", settings_doc)):
        assert variable in readme, variable


def _sync_tool():
    return module_at(ROOT / "tools" / "sync_docs.py")


def test_install_cells_and_clone_lines_follow_config_yml():
    tool = _sync_tool()
    requirement = tool.install_requirement()
    assert "[" not in requirement.split("@")[0], "the install cell must not pull the dev extra"
    assert requirement.endswith(f"@{tool.release_tag()}") and tool.release_tag().startswith("v")
    for path, rules in tool.targets().items():
        text = path.read_text()
        cells = (
            "\n".join("".join(cell["source"]) for cell in json.loads(text)["cells"])
            if path.suffix == ".ipynb"
            else text
        )
        for pattern, _ in rules:
            assert pattern.findall(cells), f"{path.name} has no line for {pattern.pattern}"
        rewrite = tool._rewrite_notebook if path.suffix == ".ipynb" else tool._rewrite
        assert rewrite(text, rules) == text, (
            f"{path.name} disagrees with _config.yml: run tools/sync_docs.py"
        )


def test_readme_and_book_state_the_pinned_commits():
    from cvsp.registry import MODELS

    for name in ("CONTRIBUTING.md", "book/running.md"):
        text = (ROOT / name).read_text()
        for spec in MODELS.values():
            assert spec.revision in text, (
                f"{name} does not state the pinned revision of {spec.hub_id}"
            )
            if spec.commit_prefix:  # a pinned ref: the commit it must name
                assert spec.commit_prefix in text, (
                    f"{name} does not state the commit of {spec.revision}"
                )
        assert "CVSP_GPT2_REVISION" in text and "CVSP_CLIP_REVISION" in text


def test_settings_table_is_the_one_the_code_reads():
    """Every documented variable changes the setting it names, and no other is read."""
    from pathlib import Path as P

    from cvsp import cli
    from cvsp.registry import MODELS, PAPER_MODELS
    from cvsp.settings import Settings, revision_variable, settings_help, variables

    OTHER_MODELS = [k for k in MODELS if k not in PAPER_MODELS]  # noqa: N806 (a constant of the test)

    effects = {
        "CVSP_MODELS": ("stand-in", lambda s: s.models == "stand-in"),
        "CVSP_DATA_DIR": ("/d", lambda s: s.data_dir == P("/d")),
        "CVSP_TOKENIZERS_DIR": ("/t", lambda s: s.tokenizers_dir == P("/t")),
        "CVSP_CACHE_DIR": ("/c", lambda s: s.cache_dir == P("/c")),
        "CVSP_GPT2_REVISION": ("abc", lambda s: s.revision("gpt2", "x") == "abc"),
        "CVSP_CLIP_REVISION": ("def", lambda s: s.revision("clip", "x") == "def"),
        "CVSP_<KEY>_REVISION": (
            "ghi",
            lambda s: all(s.revision(k, "x") == "ghi" for k in OTHER_MODELS),
        ),
        "CVSP_STANDIN_SEED": ("7", lambda s: s.standin_seed == 7),
        "CVSP_STANDIN_SIZE": ("small", lambda s: s.standin_size == "small"),
        "CVSP_DEVICE": ("cpu", lambda s: s.device == "cpu"),
        "CVSP_BOOTSTRAP": ("500", lambda s: s.bootstrap == 500),
        "CVSP_TRACE": ("/tr.jsonl", lambda s: s.trace == P("/tr.jsonl")),
        "CVSP_LEDGER": ("/l.jsonl", lambda s: s.ledger == P("/l.jsonl")),
        "CVSP_REPLAY": ("https://x/replay/", lambda s: s.replay == "https://x/replay/"),
        "CVSP_REPLAY_ANY_VERSION": ("1", lambda s: s.replay_any_version),
    }
    assert [v.name for v in variables()] == list(effects)
    for name, (value, took_effect) in effects.items():
        names = [revision_variable(k) for k in OTHER_MODELS] if "<KEY>" in name else [name]
        assert took_effect(Settings.from_env({n: value for n in names})), name
        assert not took_effect(Settings.from_env({})), name
    source = (ROOT / "src" / "cvsp" / "settings.py").read_text()
    revisions = {revision_variable(k) for k in MODELS}
    read = set(re.findall(r'"(CVSP_[A-Z_]+)"', source)) | revisions
    assert read == set(effects) - {"CVSP_<KEY>_REVISION"} | revisions
    assert cli.ENVIRONMENT_HELP == settings_help()
    assert all(name in cli.ENVIRONMENT_HELP for name in effects)


CFF_REQUIRED = {"cff-version": str, "message": str, "title": str, "authors": list}


def test_licence_and_citation_agree_with_the_project():
    import yaml

    assert "MIT License" in (ROOT / "LICENSE").read_text()
    assert "CC BY 4.0" in (ROOT / "LICENSE-CONTENT.md").read_text()
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    for key, kind in CFF_REQUIRED.items():  # the keys CFF 1.2.0 requires, with their types
        assert isinstance(cff.get(key), kind), key
    assert cff["cff-version"] == "1.2.0"
    assert all(isinstance(a, dict) and ("name" in a or "family-names" in a) for a in cff["authors"])
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert cff["version"] == project["version"] and cff["license"] == project["license"]
    config_url = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
    assert cff["repository-code"] == config_url
    paper = cff["references"][0]
    assert paper["doi"] == "10.18653/v1/2022.acl-long.217" and paper["year"] == 2022
    cite = (ROOT / "book" / "cite.md").read_text()
    assert paper["doi"] in cite and config_url in cite and f"version {cff['version']}" in cite


def test_a_full_disk_stops_the_slow_tests_in_one_sentence(tmp_path):
    from collections import namedtuple

    from support.disk import SLOW_TESTS_NEED_GB, missing_disk

    usage = namedtuple("usage", "total used free")

    def room(gb):
        return lambda folder: usage(0, 0, gb * 1e9)

    assert missing_disk(tmp_path, SLOW_TESTS_NEED_GB, room(SLOW_TESTS_NEED_GB)) is None
    problem = missing_disk(tmp_path, SLOW_TESTS_NEED_GB, room(3.1))
    assert problem is not None and "3.1 GB" in problem and str(tmp_path) in problem
    assert "-m 'not slow'" in problem
    assert missing_disk(tmp_path, 0.0) is None  # the real call on this disk


ONE_GB_DISK = """
import collections
import shutil

_usage = collections.namedtuple("usage", "total used free")
shutil.disk_usage = lambda path: _usage(10**9, 0, 10**9)  # every disk has 1 GB free
"""


@pytest.mark.parametrize("workers", ["0", "2"], ids=["one-process", "xdist"])
@pytest.mark.parametrize(
    "select, runs", [("not slow", True), ("slow", False)], ids=["fast", "slow"]
)
def test_the_disk_guard_applies_only_to_selected_slow_tests(tmp_path, select, runs, workers):
    """With 1 GB of temporary space (every disk reported so), ``pytest -m "not slow"`` (the
    README's fast command and the Pages workflow's test step) runs its tests although the
    files hold slow ones; ``-m slow`` stops at once with the one sentence: in one process,
    and with pytest-xdist's workers as ``make test`` runs them."""
    (tmp_path / "one_gb_disk.py").write_text(ONE_GB_DISK)
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    files = [
        "tests/test_packaging.py::test_licence_and_citation_agree_with_the_project",
        "tests/test_book.py",
    ]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "one_gb_disk",
            "-p",
            "no:cacheprovider",
            "-q",
            "-m",
            select,
            "-n",
            workers,
            "--basetemp",
            str(tmp_path / "inner"),
            "-k",
            "licence or strict_build or pair_in_sync",
            *files,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if runs:
        assert done.returncode == 0, done.stdout[-3000:]
        assert re.search(r"\b\d+ passed\b", done.stdout), done.stdout[-2000:]
    else:
        assert done.returncode == 4, done.stdout[-3000:]
        assert (
            "The slow tests need about" in done.stdout + done.stderr
            and "1.0 GB" in done.stdout + done.stderr
        )
        assert "INTERNALERROR" not in done.stdout + done.stderr, done.stdout[-3000:]


def test_torch_is_one_transformers_5_can_use():
    """transformers 5 treats torch below 2.6 as absent (CVE-2025-32434 in ``torch.load``):
    pyproject.toml and environment.yml must not allow it."""
    from packaging.specifiers import SpecifierSet

    torch = SpecifierSet(_pyproject_deps()["torch"])
    assert "2.6.0" in torch and "2.5.1" not in torch and "2.2.0" not in torch
    assert _conda_deps()["torch"] == _pyproject_deps()["torch"]


def test_release_creates_the_tag_the_install_cells_name(tmp_path):
    """``make release`` (tools/release.py) tags HEAD as ``v<version>``, the tag every
    notebook's install cell names; it refuses a tag that exists and cells that name another."""
    release_tag = _sync_tool().release_tag
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True, capture_output=True)
    tag = release_tag(clone)
    subprocess.run(
        ["git", "tag", "-d", tag], cwd=clone, capture_output=True
    )  # a clone copies the tags
    env = dict(
        os.environ,
        GIT_COMMITTER_NAME="cvsp",
        GIT_COMMITTER_EMAIL="cvsp@example.org",
        GIT_AUTHOR_NAME="cvsp",
        GIT_AUTHOR_EMAIL="cvsp@example.org",
    )

    def release() -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, str(clone / "tools" / "release.py")],
            cwd=clone,
            env=env,
            capture_output=True,
            text=True,
        )

    done = release()
    assert done.returncode == 0, done.stderr
    assert f"git push origin {tag}" in done.stdout
    tagged = subprocess.run(
        ["git", "rev-parse", f"{tag}^{{commit}}"], cwd=clone, capture_output=True, text=True
    )
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=clone, capture_output=True, text=True)
    assert tagged.stdout == head.stdout
    install = f"cvsp @ git+https://github.com/cvsp-reproduction/cvsp@{tag}"
    assert all(install in p.read_text() for p in (clone / "notebooks").glob("*.py"))
    again = release()
    assert again.returncode == 1 and f"The tag {tag} exists already" in again.stderr
    subprocess.run(["git", "tag", "-d", tag], cwd=clone, capture_output=True)
    chapter = clone / "notebooks" / "01_cwe_anisotropy.py"
    chapter.write_text(chapter.read_text().replace(f"@{tag}", "@v0.0.9"))
    subprocess.run(
        ["git", "commit", "-qam", "a cell names another tag"], cwd=clone, env=env, check=True
    )
    stale = release()
    assert (
        stale.returncode == 1
        and "Run tools/sync_docs.py: notebooks/01_cwe_anisotropy.py" in stale.stderr
    )


def test_tests_sharing_a_run_are_scheduled_on_one_worker():
    """Under xdist a test file that uses a shared run goes, whole, to the worker that makes
    the run (support.scheduling); a file that uses none is spread test by test."""
    from support.scheduling import shared_run_groups

    groups = shared_run_groups()
    assert groups["tests/test_book.py"] == groups["tests/test_reproduce.py"] == "reference"
    assert groups["tests/test_site.py"] == groups["tests/test_interruptions.py"] == "reference"
    assert groups["tests/test_hub_replica.py"] == "replica"
    assert "tests/test_stats.py" not in groups and "tests/test_book_real.py" not in groups


def test_mutation_tool_leaves_lines_marked_equivalent_alone_and_lists_them(tmp_path, capsys):
    tool = module_at(ROOT / "tools" / "mutants.py")
    module = tmp_path / "example.py"
    module.write_text(
        "def f(a, b):\n"
        "    n = min(4, a)  # mutants: equivalent: a thread count\n"
        "    m = max(4, b)  # mutants: equivalent:\n"  # no reason: not a mark
        "    s = '# mutants: equivalent: inside a string' if a > 1 else ''\n"  # text, not a comment
        "    return n < m\n"
    )
    lines = {mutant.line for mutant in tool.mutants_of(module)}
    assert 2 not in lines and {3, 4, 5} <= lines
    assert tool.equivalent_lines(module) == {2: "a thread count"}
    tool.print_equivalent([module])
    assert "example.py:2" in capsys.readouterr().out


def test_make_without_venv_names_the_package_before_creating_anything(tmp_path):
    """A fresh Debian or Ubuntu has python3 without ``ensurepip`` (package python3-venv):
    ``make`` says so in one sentence, exit status 2, and creates no environment."""
    shadow = tmp_path / "shadow" / "ensurepip"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'ensurepip'\")\n"
    )
    python = tmp_path / "python3"
    python.write_text(f'#!/bin/sh\nPYTHONPATH={shadow.parent} exec {sys.executable} "$@"\n')
    python.chmod(0o755)
    venv = tmp_path / "venv"
    done = subprocess.run(
        ["make", "--no-print-directory", "test", f"PYTHON={python}", f"VENV={venv}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "sudo apt-get install python3-venv" in done.stderr and "Traceback" not in done.stderr
    assert done.stderr.count("\n") <= 2  # the sentence and make's own line
    assert not venv.exists()
    healthy = subprocess.run([sys.executable, "-c", "import ensurepip, venv"], capture_output=True)
    assert healthy.returncode == 0  # the check passes where venv works (this interpreter)


def test_the_wheel_carries_the_benchmarks_costs(tmp_path):
    """``cvsp preflight`` and each chapter's first line read ``cvsp/costs.json``: an install
    from the repository (Colab's) must have it."""
    import shutil
    import zipfile

    source = tmp_path / "source"  # a copy: setuptools builds in the tree it is given
    shutil.copytree(
        ROOT / "src", source / "src", ignore=shutil.ignore_patterns("*.egg-info", "__pycache__")
    )
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, source / name)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(tmp_path / "wheel"),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    wheel = next((tmp_path / "wheel").glob("cvsp-*.whl"))
    assert "cvsp/costs.json" in zipfile.ZipFile(wheel).namelist()
