"""Bad model requests: each a clear error before any long computation."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cvsp import hub
from cvsp.models import load_model, read_checkpoint
from cvsp.registry import MODELS, ModelUnavailableError
from cvsp.standins import standin_checkpoint


def _load_in_subprocess(
    code: str, tmp_path: Path, **env_changes: str
) -> subprocess.CompletedProcess:
    env = dict(os.environ, HF_HOME=str(tmp_path / "hf"), **env_changes)
    env.pop("HF_HUB_OFFLINE", None) if "HF_HUB_OFFLINE" not in env_changes else None
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600
    )


def test_unknown_key(settings):
    with pytest.raises(ModelUnavailableError, match="Unknown model 'gpt3'; choose from gpt2, clip"):
        load_model("gpt3", settings)


# A hub id or revision that does not exist, a hub answering 500 or never answering:
# tests/test_hub_replica.py, against a replica of the hub.


def test_hub_unreachable(tmp_path):
    code = "from cvsp.models import load_real\nload_real('gpt2')\n"
    done = _load_in_subprocess(code, tmp_path, HF_ENDPOINT="http://127.0.0.1:9")
    assert "The Hugging Face hub cannot be reached" in done.stderr
    assert "--models stand-in" in done.stderr


def test_a_bug_while_asking_the_hub_is_not_read_as_the_hub_unreachable(monkeypatch):
    """Only the transport's errors and offline mode mean "unreachable"; any other error
    while asking the hub propagates as itself instead of sending the user to the cache."""

    def broken(*_args, **_kwargs):
        raise KeyError("a bug, not the network")

    monkeypatch.setattr(hub.HfApi, "model_info", broken)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(hub.constants, "is_offline_mode", lambda: False)
    with pytest.raises(KeyError, match="a bug"):
        hub.resolve_revision(MODELS["gpt2"], MODELS["gpt2"].revision)


def test_bin_only_checkpoint_is_refused(settings, tmp_path):
    source = standin_checkpoint("gpt2", settings.with_(standin_size="small"))  # for its config.json
    folder = tmp_path / "checkpoint"
    folder.mkdir()
    shutil.copy(source / "config.json", folder / "config.json")
    (folder / "pytorch_model.bin").write_bytes(b"not to be unpickled")
    with pytest.raises(
        ModelUnavailableError,
        match=r"no safetensors weights \(pytorch_model.bin\).*never unpickles",
    ):
        read_checkpoint(MODELS["gpt2"], folder)


def test_folder_without_config_is_refused(tmp_path):
    with pytest.raises(ModelUnavailableError, match="not a model checkpoint"):
        read_checkpoint(MODELS["clip"], tmp_path)


def test_tokenizer_of_the_wrong_model_is_refused_before_caching(settings, tmp_path):
    if settings.tokenizers_dir is None:
        pytest.skip("needs CVSP_TOKENIZERS_DIR to build a mismatched tokenizer folder")
    swapped = tmp_path / "tokenizers"
    shutil.copytree(settings.tokenizers_dir / "gpt2", swapped / "clip")  # GPT-2's vocabulary
    bad = settings.with_(tokenizers_dir=swapped, cache_dir=tmp_path / "cache")
    with pytest.raises(ModelUnavailableError, match="50257 tokens but CLIP's vocabulary has 49408"):
        load_model("clip", bad)
    assert not (tmp_path / "cache" / "stand-ins" / "clip-seed0").exists()
