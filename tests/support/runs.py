"""What the end-to-end tests run: a stand-in reproduction in a subprocess, a strict book
build, and the helpers around them (the repository's root, its pages, a tool's module)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


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
