"""Shared fixtures: settings from the CVSP_* environment, with stand-in models.

Data and tokenizers come from CVSP_DATA_DIR / CVSP_TOKENIZERS_DIR when set (CI points
them at ../shared), otherwise from their canonical sources.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from cvsp.settings import Settings

# Free disk the slow tests need at their peak, in pytest's temporary folder: the end-to-end
# runs, the stand-in book and the real-mode book against the hub replica, all with small
# stand-ins since 2026-11-29. Measured with df, sampled every 5 s during a fresh-clone
# `bash .ci/run` on two xdist workers, the clone, its environment (1.9 GB) and its cache
# (0.8 GB) included: 19.3 GB with full-size stand-ins; 7.3 GB with small ones; 9.0 to
# 9.5 GB (four runs) once chapter 8's four extra models joined the book and the replica (nine
# repositories); 8.45 GB (2026-11-29 evening) once the real-mode book's folder (1.7 GB)
# went as its test passed and test_faults' fresh full-size stand-ins (1.0 GB) with their
# module; 6.82 GB once the hub replica's three runs (1.6 GB) went with their module too,
# instead of all staying to the session's end (4.96 GB without the environment, of which
# 0.87 GB is the cache). The peak is now the real-mode book's build (1.4 GB) beside the
# reference run with the stand-in book's cache (1.5 GB). A passing test's folder is removed
# as it ends. Checked before any test runs, so that a full disk gives one sentence instead
# of dozens of I/O errors.
SLOW_TESTS_NEED_GB = 7
ROOT = Path(__file__).resolve().parents[1]


def missing_disk(folder: Path, need_gb: float, usage=None) -> str | None:
    """One sentence if ``folder``'s file system has less than ``need_gb`` GB free, else None."""
    free = (usage or shutil.disk_usage)(folder).free / 1e9
    if free >= need_gb:
        return None
    return (
        f"The slow tests need about {need_gb:g} GB free in {folder}, which has {free:.1f} GB: "
        "free some space, set TMPDIR (or --basetemp) to a larger disk, or run the fast "
        "tests only (-m 'not slow')."
    )


def pytest_addoption(parser):
    parser.addoption(
        "--require-real",
        action="store_true",
        help="fail, instead of skipping, the tests marked real when the real weights cannot be had "
        "(the Pages workflow, where the hub must be reachable)",
    )


# Fixtures that hold one shared run (minutes of work). Under pytest-xdist (make test)
# every test file that uses one runs on the same worker as the run, so that it is made
# once; every other test is placed on its own. (xdist's own `--dist loadgroup` cannot
# be used: with pytest 9 it no longer keeps a group on one worker.)
SHARED_RUNS = {
    "reference_run": "reference",
    "small_reference_run": "reference",
    "built_book": "reference",
    "online_run": "replica",
    "contrast_run": "replica",
    "beyond_run": "replica",
}


def shared_run_groups(tests: Path = Path(__file__).parent) -> dict[str, str]:
    """``tests/<file> -> group`` for every test file that names a shared run's fixture."""
    groups = {}
    for path in sorted(tests.glob("test_*.py")):
        text = path.read_text()
        named = sorted(
            {group for name, group in SHARED_RUNS.items() if re.search(rf"\b{name}\b", text)}
        )
        if named:
            groups[f"{tests.name}/{path.name}"] = "+".join(named)
    return groups


@pytest.hookimpl(optionalhook=True)  # xdist's hook: a run without xdist must not fail on it
def pytest_xdist_make_scheduler(config, log):
    """xdist's scheduling by scope, the scope being a shared run's group or the test itself."""
    from xdist.scheduler import LoadScopeScheduling  # only under xdist, which calls this hook

    groups = shared_run_groups()

    class SharedRunScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return groups.get(nodeid.split("::", 1)[0], nodeid)

    return SharedRunScheduling(config, log)


def _disk_problem(config) -> str | None:
    given = config.option.basetemp
    folder = Path(given).parent if given else Path(tempfile.gettempdir())
    while not folder.exists():
        folder = folder.parent
    return missing_disk(folder, SLOW_TESTS_NEED_GB)


def _distributed(config) -> bool:
    """Whether this process is pytest-xdist's controller, handing the tests to workers."""
    return bool(getattr(config.option, "numprocesses", None)) and not hasattr(config, "workerinput")


def _may_select_slow(config) -> bool:
    """Whether the ``-m`` expression lets slow tests through (no ``-m``: it does)."""
    from _pytest.mark.expression import Expression

    expression = config.option.markexpr
    return not expression or Expression.compile(expression).evaluate(
        lambda name, **_: name == "slow"
    )


def pytest_configure(config):
    """With workers (make test), the controller collects no test: it checks the disk at
    once when ``-m`` lets slow tests through, rather than one worker after another failing
    (so with workers a selection by path or ``-k`` alone is checked too; ``-m "not slow"``
    is not).
    Each worker, and the processes it starts, uses its share of the cores for torch's
    threads: two workers each running two threads on two cores wait on one another
    (a book build took 1.9 times as long as alone)."""
    if hasattr(config, "workerinput"):
        share = max(1, (os.cpu_count() or 1) // int(config.workerinput["workercount"]))
        os.environ.setdefault("OMP_NUM_THREADS", str(share))
    if _distributed(config) and _may_select_slow(config):
        problem = _disk_problem(config)
        if problem:
            raise pytest.UsageError(problem)


def pytest_collection_finish(session):
    """The disk check, on the tests that will actually run: after every deselection
    (``-m``, ``-k``, ``--deselect``), which ``pytest_collection_modifyitems`` may precede.
    Under pytest-xdist the controller checked (:func:`pytest_configure`)."""
    if hasattr(session.config, "workerinput") or not any(
        item.get_closest_marker("slow") for item in session.items
    ):
        return
    problem = _disk_problem(session.config)
    if problem:
        pytest.exit(problem, returncode=pytest.ExitCode.USAGE_ERROR)


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings.from_env().with_(models="stand-in", device="cpu")


@pytest.fixture(scope="session")
def models(settings):
    from cvsp.models import (
        load_models,  # torch: imported by the tests that need it, not by every pytest run
    )

    return load_models(settings)


@pytest.fixture(scope="session")
def small_models(settings):
    """The paper's two models as small stand-ins (``CVSP_STANDIN_SIZE=small``), for the
    tests whose point is what is computed, not at which width: batched against one text
    at a time, the embedding cache, token choices, the experiments' tables on a slice of
    the data, the fidelity chapter's measurements. Full-size stand-ins (:func:`models`)
    stay where the width is the point: their architecture, seeding and checkpoints, and
    CLIP's passes (batched and one text at a time; two seeds in one cache)."""
    from cvsp.models import load_models

    return load_models(settings.with_(standin_size="small"))


def removed_when_done(request, root: Path) -> None:
    """Remove ``root`` (a ``tmp_path_factory`` folder, which pytest keeps to the session's
    end) when the requesting fixture ends, unless a test failed meanwhile: then it is kept,
    as a failed test's folder is."""
    failed = request.session.testsfailed

    def remove() -> None:
        if request.session.testsfailed == failed:
            shutil.rmtree(root, ignore_errors=True)

    request.addfinalizer(remove)


def module_at(path: Path):
    """Import the Python file at ``path`` (a tool, a benchmark, the book's extension: none is a package)."""
    import importlib.util

    if str(path.parent) not in sys.path:  # its neighbours (the book's extension imports web_assets)
        sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # as an import does (dataclasses look their module up there)
    spec.loader.exec_module(module)
    return module


def toc_files() -> list[str]:
    """Every page of the book, as ``_toc.yml`` lists them (without suffix)."""
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc["parts"]:
        files += [chapter["file"] for chapter in part["chapters"]]
    return files


def build_book(env: dict, output: Path, *config: str, timeout: int = 3000) -> None:
    """``jupyter-book build`` of the repository, strict as ``make book`` runs it, into ``output``."""
    done = subprocess.run(
        [
            str(Path(sys.executable).with_name("jupyter-book")),
            "build",
            str(ROOT),
            *config,
            "--path-output",
            str(output),
            "-W",
            "-n",
            "--keep-going",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-5000:]


# `cvsp reproduce` on the first rows of every evaluation file (120 STS pairs, 40 pairs of
# each word task, 60 ValNorm words): for the tests whose point is where a run stops or
# what it writes (a kill, fresh stand-ins), which the full size proves no better. The
# loaders are wrapped, so the files are still read and checked whole.
SMALL_DATA = """
import sys
from cvsp import data
from cvsp.cli import main
sts, pairs, lexicon = data.load_sts, data.load_word_pairs, data.load_bellezza
data.load_sts = lambda settings, **options: sts(settings, **options).head(120)
data.load_word_pairs = lambda task, settings: pairs(task, settings).head(40)
data.load_bellezza = lambda settings: lexicon(settings).head(60)
sys.exit(main(sys.argv[1:]))
"""


def reproduce_command(out, *extra: str, small: bool = False) -> list[str]:
    """The command line of a stand-in reproduction into ``out`` (``small``: on :data:`SMALL_DATA`)."""
    start = [sys.executable, "-c", SMALL_DATA] if small else [sys.executable, "-m", "cvsp"]
    return [*start, "reproduce", "--models", "stand-in", "--out", str(out), "--no-progress", *extra]


# Every end-to-end run and the stand-in book use small stand-ins (CVSP_STANDIN_SIZE=small:
# the same architectures, layers, vocabularies and tokenizers, 64 wide). What they prove
# (every output written, a rerun identical, a kill while a checkpoint or the outputs are
# written survived, each page of the book built) does not depend on the width; full-size
# passes cost minutes, which are the benchmark's to time. Some fast tests load full-size
# stand-ins (the ``models`` fixture), so that size is still loaded, seeded and embedded.
SMALL_STAND_INS = {"CVSP_STANDIN_SIZE": "small"}


def reproduce_env(cache) -> dict[str, str]:
    """The environment of a stand-in reproduction with its own cache (small stand-ins)."""
    return dict(os.environ, CVSP_CACHE_DIR=str(cache), MPLBACKEND="Agg", **SMALL_STAND_INS)


def run_reproduce(out, cache, *extra: str, check: bool = True, small: bool = False):
    """`python -m cvsp reproduce --models stand-in` in a subprocess with its own cache."""
    done = subprocess.run(
        reproduce_command(out, *extra, small=small),
        env=reproduce_env(cache),
        capture_output=True,
        text=True,
        timeout=3000,
    )
    if check:
        assert done.returncode == 0, done.stderr[-3000:]
    return done


@pytest.fixture(scope="session")
def small_reference_run(tmp_path_factory):
    """One uninterrupted cold run on the first rows of the data (:data:`SMALL_DATA`)."""
    root = tmp_path_factory.mktemp("small-reference")
    return root, run_reproduce(root / "out", root / "cache", small=True)


@pytest.fixture(scope="session")
def reference_run(tmp_path_factory):
    """One uninterrupted cold run on the full data: (folder with out/ and cache/, process)."""
    root = tmp_path_factory.mktemp("reference")
    return root, run_reproduce(root / "out", root / "cache")


@pytest.fixture(scope="session")
def built_book(tmp_path_factory, reference_run):
    """The book built strictly with small stand-ins from the reference run's cache (no
    forward pass of the paper's models recomputed): ``(output folder, environment)``.

    With 200 bootstrap replicates (``CVSP_BOOTSTRAP``; the default is 2,000): what this
    build proves (every page executes, says it is a stand-in build, offers its files,
    renders in a browser) does not depend on the count, and the intervals of chapters 7
    and 8 (five and six models) cost about a minute at 2,000. The real-mode book
    (``tests/test_book_real.py``) keeps every default."""
    cache = reference_run[0] / "cache"
    env = dict(reproduce_env(cache), CVSP_MODELS="stand-in", CVSP_BOOTSTRAP="200")
    output = tmp_path_factory.mktemp("book")
    build_book(env, output)
    return output, env


def _real_tokenizers(settings: Settings, folder) -> object:
    """CVSP_TOKENIZERS_DIR, or the real tokenizer files fetched from the hub at the pinned
    commits (where it can be reached, e.g. on GitHub's runners)."""
    if settings.tokenizers_dir is not None:
        return settings.tokenizers_dir
    from huggingface_hub import hf_hub_download

    from cvsp.registry import MODELS, PAPER_MODELS

    try:
        for key, spec in ((k, MODELS[k]) for k in PAPER_MODELS):
            for name in ("vocab.json", "merges.txt", "tokenizer_config.json"):
                hf_hub_download(spec.hub_id, name, revision=spec.revision, local_dir=folder / key)
    except Exception as error:  # no network and no CVSP_TOKENIZERS_DIR
        pytest.skip(f"the hub replica needs the real tokenizers: set CVSP_TOKENIZERS_DIR ({error})")
    return folder


@pytest.fixture(scope="session")
def hub_repos(settings, tmp_path_factory):
    """The paper's two repositories in their hub layouts, with small stand-in weights."""
    from hub_repos import clip_repo, gpt2_repo

    tokenizers = _real_tokenizers(settings, tmp_path_factory.mktemp("tokenizers"))
    return [gpt2_repo(tokenizers), clip_repo(tokenizers)]


@pytest.fixture(scope="session")
def contrast_repos(settings, hub_repos):
    """The paper's two repositories, bert-base-uncased and the two SimCSE fine-tunes."""
    from hub_repos import bert_repos

    return [*hub_repos, *bert_repos(settings)]


@pytest.fixture(scope="session")
def beyond_extra_repos(settings, tmp_path_factory):
    """The four repositories of the chapter "Beyond one CLIP" beyond the paper's pair
    (LAION's B/32, L/14, SigLIP base, GPT-2 medium), with small stand-in weights."""
    from hub_repos import beyond_extra_repos as repos

    tokenizers = _real_tokenizers(settings, tmp_path_factory.mktemp("tokenizers"))
    return repos(settings, tokenizers)


@pytest.fixture(scope="session")
def beyond_repos(hub_repos, beyond_extra_repos):
    """Every repository of ``MODEL_SETS["beyond"]``: the paper's two and the four beyond them."""
    return [*hub_repos, *beyond_extra_repos]


@pytest.fixture(scope="session")
def book_repos(contrast_repos, beyond_extra_repos):
    """Every repository of ``BOOK_MODELS`` (each chapter's models), each once."""
    from cvsp.registry import BOOK_MODELS, MODELS

    repos = list({repo.repo_id: repo for repo in [*contrast_repos, *beyond_extra_repos]}.values())
    assert sorted(r.repo_id for r in repos) == sorted({MODELS[key].hub_id for key in BOOK_MODELS})
    return repos
