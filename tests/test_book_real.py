"""The main job as users run it: the whole book, strict, with the real models (the default).

``make book`` and the Pages workflow build every chapter with ``CVSP_MODELS=real`` and no
other setting. Here the hub is the local replica (:mod:`hub_replica`) holding the nine
repositories the book reads (every model of ``BOOK_MODELS``: the paper's two, BERT and
the two SimCSE fine-tunes of chapter 7, LAION's B/32, L/14, SigLIP base and GPT-2 medium
of chapter 8) in their real layouts (SimCSE's ``main`` without safetensors, their
conversions on pull-request refs; other frameworks' exports and OpenCLIP's own files
beside the safetensors): no ``CVSP_*_REVISION`` and no tokenizers folder is set. The
book is built once against the running replica, then again in a fresh output folder
with the replica stopped and ``HF_HUB_OFFLINE=1``, from the hub cache and the embedding
cache the first build filled, as a second run on a user's machine does.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from hub_replica import NEVER_REQUESTED, HubReplica
from hub_repos import marked_never
from support.runs import build_book, toc_files

from cvsp.registry import BOOK_MODELS, MODEL_SETS, MODELS

pytestmark = pytest.mark.slow


def _user_env(endpoint: str, root: Path, **changes: str) -> dict[str, str]:
    """A user's environment: real models (the default), the hub at ``endpoint``, nothing else
    of cvsp's set but the data folder (no internet here to download the data from)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CVSP_", "HF_"))}
    env.update(
        HF_ENDPOINT=endpoint,
        HF_HOME=str(root / "hf"),
        CVSP_CACHE_DIR=str(root / "cache"),
        MPLBACKEND="Agg",
        HF_HUB_DISABLE_TELEMETRY="1",
    )
    if os.environ.get("CVSP_DATA_DIR"):
        env["CVSP_DATA_DIR"] = os.environ["CVSP_DATA_DIR"]
    env.update(changes)
    return env


def _commits(repos) -> dict[str, str]:
    """The commit each model's pinned revision names in the replica."""
    served = {repo.repo_id: repo for repo in repos}
    return {key: served[MODELS[key].hub_id].resolve(MODELS[key].revision) for key in BOOK_MODELS}


# the chapters that load a model set, and the set each names the commits of
CHAPTERS = {"07_images_or_contrast": "contrast", "08_beyond_one_clip": "beyond"}


def _status_download(html: Path, name: str) -> Path:
    """The file ``name`` the status page offers for download (the paper's run)."""
    status = (html / "book" / "status.html").read_text()
    link = re.findall(rf'href="(\.\./_downloads/[0-9a-f]+/{re.escape(name)})"', status)[0]
    return (html / "book" / link).resolve()


def _check_pages(html: Path, commits: dict[str, str]) -> str:
    """Every page built, none failed, none with a stand-in warning; the commits named
    (chapters 7 and 8 name the full commit of each model of their set). Returns the
    scores.csv the status page offers."""
    assert not (html / "reports").exists(), "a notebook failed to execute"
    for page in toc_files():
        text = (html / f"{page}.html").read_text()
        assert "cvsp-stand-in" not in text and "Traceback" not in text, page
    for chapter, model_set in CHAPTERS.items():
        text = (html / "notebooks" / f"{chapter}.html").read_text()
        for key in MODEL_SETS[model_set]:
            assert commits[key] in text, f"chapter {chapter} does not name the commit of {key}"
    status = (html / "book" / "status.html").read_text()
    assert commits["gpt2"] in status and commits["clip"] in status
    scores = _status_download(html, "scores.csv").read_text()
    assert "pretrained" in scores.splitlines()[1] and "stand-in" not in scores
    return scores


def test_whole_book_with_real_models_then_offline_from_the_caches(book_repos, tmp_path):
    root = tmp_path  # about 1.7 GB (nine models' caches, two builds): removed as the test passes
    commits = _commits(book_repos)
    with HubReplica(book_repos) as hub:
        env = _user_env(hub.url, root)
        build_book(env, root / "online")
        endpoint = hub.url
    fetched = [r.path for r in hub.log if any(word in r.path for word in NEVER_REQUESTED)]
    assert not fetched, fetched
    assert not marked_never(hub, book_repos), marked_never(hub, book_repos)  # e.g. OpenCLIP's files
    for key in BOOK_MODELS:  # each model's safetensors, at its commit (SimCSE's: the conversion's)
        assert hub.requests(f"/{MODELS[key].hub_id}/resolve/{commits[key]}/model.safetensors"), key
    online = _check_pages(root / "online" / "_build" / "html", commits)

    # the replica is stopped: the same book from the caches, every chapter executed again
    build_book(_user_env(endpoint, root, HF_HUB_OFFLINE="1"), root / "offline")
    offline = _check_pages(root / "offline" / "_build" / "html", commits)
    assert offline == online
    provenance = json.loads(
        _status_download(root / "offline" / "_build" / "html", "provenance.json").read_text()
    )
    assert {key: m["commit"] for key, m in provenance["models"].items()} == {
        k: commits[k] for k in ("gpt2", "clip")
    }
