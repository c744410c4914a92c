"""Offline: real models fail fast without a hub, and load from a populated hub cache."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from cvsp.registry import MODELS, PAPER_MODELS
from cvsp.standins import standin_checkpoint


def _hub_cache(root: Path, hub_id: str, commit: str, checkpoint: Path) -> None:
    """The layout huggingface_hub writes: snapshots/<commit>/ (files linked); no refs needed
    for a pinned commit."""
    repo = root / "hub" / f"models--{hub_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    for path in checkpoint.iterdir():
        if not path.name.startswith("stand-in"):
            os.symlink(path, snapshot / path.name)


def test_populated_hub_cache_works_with_hf_hub_offline(settings, tmp_path):
    small = settings.with_(
        standin_size="small"
    )  # what is read, and from where, does not depend on the width
    for key in PAPER_MODELS:
        spec = MODELS[key]
        _hub_cache(tmp_path / "hf", spec.hub_id, spec.revision, standin_checkpoint(key, small))
    code = (
        "from cvsp.models import load_real\n"
        "for key in ('gpt2', 'clip'):\n"
        "    m = load_real(key, device='cpu')\n"
        "    print(key, type(m.model).__name__, m.commit, m.source)\n"
    )
    env = dict(
        os.environ,
        HF_HOME=str(tmp_path / "hf"),
        HF_HUB_OFFLINE="1",
        HF_ENDPOINT="http://127.0.0.1:9",
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"gpt2 GPT2Model {MODELS['gpt2'].revision} real" in done.stdout
    assert f"clip CLIPTextModelWithProjection {MODELS['clip'].revision} real" in done.stdout


def test_reproduce_with_real_models_offline_exits_nonzero_with_the_message(tmp_path):
    env = dict(
        os.environ,
        HF_HOME=str(tmp_path / "hf"),
        HF_ENDPOINT="http://127.0.0.1:9",
        CVSP_CACHE_DIR=str(tmp_path / "cache"),
    )
    env.pop("HF_HUB_OFFLINE", None)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "cvsp", "reproduce", "--out", str(tmp_path / "out")],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    elapsed = time.perf_counter() - start
    print(f"offline failure after {elapsed:.1f} s")  # a figure for the log, not an assertion
    assert done.returncode == 1
    assert done.stderr.strip().count("\n") == 0, done.stderr  # one sentence, no traceback
    assert "cannot be reached" in done.stderr and "--models stand-in" in done.stderr
    assert not (tmp_path / "out").exists()
