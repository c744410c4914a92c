"""The book's stamp: a build starts afresh when the weights' commits or the package change."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from hub_replica import HubReplica
from support.runs import module_at

from cvsp import stamp, storage
from cvsp.registry import MODELS
from cvsp.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def _extension():
    return module_at(ROOT / "book" / "_ext" / "cvsp_book.py")


def test_package_digest_follows_every_module(tmp_path):
    copy = tmp_path / "cvsp"
    shutil.copytree(Path(stamp.__file__).parent, copy, ignore=shutil.ignore_patterns("__pycache__"))
    before = storage.package_digest(copy)
    assert (
        before == storage.package_digest(Path(stamp.__file__).parent) == storage.package_digest()
    )  # the default: the installed package
    metrics = copy / "metrics.py"
    metrics.write_text(metrics.read_text() + "\n# a change\n")
    assert storage.package_digest(copy) != before


def test_stand_in_stamp_names_the_seed_and_the_package():
    zero = stamp.book_stamp(Settings(models="stand-in"))
    assert zero == f"stand-in seed 0 bootstrap 2000 cvsp {storage.package_digest()}"
    assert stamp.book_stamp(Settings(models="stand-in", standin_seed=1)) != zero
    assert stamp.book_stamp(Settings(models="stand-in", standin_size="small")) != zero
    assert stamp.book_stamp(Settings(models="stand-in", bootstrap=500)) != zero


def test_extension_empties_the_notebook_cache_when_the_stamp_changes(tmp_path, monkeypatch):
    extension = _extension()
    app = SimpleNamespace(outdir=str(tmp_path / "_build" / "html"))
    config = SimpleNamespace(nb_execution_cache_path="")
    cache = tmp_path / "_build" / ".jupyter_cache"

    def build(with_stamp: str) -> bool:
        """Start a build with ``with_stamp``; whether the executed notebooks were kept."""
        cache.mkdir(parents=True, exist_ok=True)
        (cache / "global.db").write_text("executed notebooks")
        monkeypatch.setattr(stamp, "book_stamp", lambda settings: with_stamp)
        extension._set_models(app, config)
        assert (
            config.cvsp_stamp == with_stamp
        )  # a Sphinx "env" value: pages re-read when it changes
        return cache.exists()

    assert not build("real gpt2@aaa cvsp 1")  # a cache without a stamp: from an older build
    assert build("real gpt2@aaa cvsp 1")
    assert not build("real gpt2@bbb cvsp 1")  # another commit
    assert not build("real gpt2@bbb cvsp 2")  # another package
    assert build("real gpt2@bbb cvsp 2")


def _stamp(env: dict[str, str]) -> str:
    code = "from cvsp.settings import Settings\nfrom cvsp.stamp import book_stamp\nprint(book_stamp(Settings.from_env()))\n"
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip()


def test_real_stamp_names_the_resolved_commits(contrast_repos, tmp_path):
    """Against the hub replica: each model's commit, the ref's commit for SimCSE; another
    revision gives another stamp, and so does a pinned ref that has moved (the build then
    stops on it); offline, the same stamp from the hub cache once the weights are there."""
    from hub_repos import simcse_layout

    refs, _ = simcse_layout("simcse_sup")
    base = {
        k: v for k, v in os.environ.items() if not k.startswith("CVSP_") or k == "CVSP_DATA_DIR"
    }
    with HubReplica(contrast_repos) as hub:
        env = dict(base, HF_ENDPOINT=hub.url, HF_HOME=str(tmp_path / "hf"), CVSP_MODELS="real")
        pinned = _stamp(env)
        other = _stamp(dict(env, CVSP_SIMCSE_SUP_REVISION="refs/pr/5"))
        load = "from cvsp.models import load_real\nfor key in ('simcse_unsup', 'simcse_sup'): load_real(key, device='cpu')\n"
        loaded = subprocess.run(
            [sys.executable, "-c", load], env=env, capture_output=True, text=True, timeout=600
        )
        assert loaded.returncode == 0, loaded.stderr[-3000:]
    assert (
        f"simcse_sup@{refs['refs/pr/3']}" in pinned and f"simcse_sup@{refs['refs/pr/5']}" in other
    )
    assert pinned.replace(refs["refs/pr/3"], refs["refs/pr/5"]) == other
    assert pinned.startswith("real gpt2@607a30d783dfa663caf39e06633721c8d4cfcd7e clip@c237dc49")
    assert _stamp(dict(env, HF_HUB_OFFLINE="1")) == pinned
    sup = MODELS["simcse_sup"].hub_id  # its refs/pr/3 now names the commit of refs/pr/5
    moved = [
        dataclasses.replace(r, refs={**r.refs, "refs/pr/3": r.refs["refs/pr/5"]})
        if r.repo_id == sup
        else r
        for r in contrast_repos
    ]
    with HubReplica(moved) as hub:
        refused = _stamp(dict(env, HF_ENDPOINT=hub.url))
    assert "simcse_sup@refs/pr/3 (unresolved)" in refused


@pytest.mark.parametrize("models", ["stand-in", "real"])
def test_no_hub_and_nothing_cached_still_gives_a_stamp(tmp_path, models):
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf"), CVSP_MODELS=models)
    line = _stamp(env)
    assert line.endswith(f"cvsp {storage.package_digest()}")
    assert models == "stand-in" or "gpt2@607a30d783dfa663caf39e06633721c8d4cfcd7e" in line
