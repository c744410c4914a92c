"""Shared fixtures and pytest's hooks: settings from the CVSP_* environment with stand-in
models, the shared runs (a reproduction, the stand-in book), the hub replica's repositories.

Data and tokenizers come from CVSP_DATA_DIR / CVSP_TOKENIZERS_DIR when set (CI points
them at ../shared), otherwise from their canonical sources. The helpers the fixtures and
tests share are in ``tests/support/``.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from support.disk import disk_problem, distributed, may_select_slow
from support.runs import build_book, reproduce_env, run_reproduce
from support.scheduling import make_scheduler

from cvsp import data
from cvsp.settings import Settings


def pytest_addoption(parser):
    parser.addoption(
        "--require-real",
        action="store_true",
        help="fail, instead of skipping, the tests marked real when the real weights cannot be had "
        "(the Pages workflow, where the hub must be reachable)",
    )


@pytest.hookimpl(optionalhook=True)  # xdist's hook: a run without xdist must not fail on it
def pytest_xdist_make_scheduler(config, log):
    return make_scheduler(config, log)


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
    if distributed(config) and may_select_slow(config):
        problem = disk_problem(config)
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
    problem = disk_problem(session.config)
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


@pytest.fixture(scope="session")
def texts(settings) -> list[str]:
    """Forty sentences of the STS benchmark, drawn (seeded), and three single words."""
    sts = data.load_sts(settings)
    sentences = data.unique_sentences(sts)
    rng = np.random.default_rng(0)
    picked = [sentences[i] for i in rng.choice(len(sentences), 40, replace=False)]
    return picked + ["strawberries", "anisotropy", "a"]


@pytest.fixture(scope="session")
def small_reference_run(tmp_path_factory):
    """One uninterrupted cold run on the first rows of the data (:data:`support.runs.SMALL_DATA`)."""
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


@pytest.fixture(scope="session")
def hub_repos(settings, tmp_path_factory):
    """The paper's two repositories in their hub layouts, with small stand-in weights."""
    from hub_repos import clip_repo, gpt2_repo, real_tokenizers

    tokenizers = real_tokenizers(settings, tmp_path_factory.mktemp("tokenizers"))
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
    from hub_repos import real_tokenizers

    tokenizers = real_tokenizers(settings, tmp_path_factory.mktemp("tokenizers"))
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
