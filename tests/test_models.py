"""Model loading: stand-ins go through from_pretrained like real checkpoints."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch
from safetensors import safe_open
from transformers import CLIPTextModelWithProjection, GPT2Model

from cvsp import models as cvsp_models
from cvsp.models import load_model
from cvsp.registry import MODELS, ModelUnavailableError
from cvsp.settings import Settings, SettingsError
from cvsp.standins import SMALL_WIDTH, standin_checkpoint


def test_registry():
    assert MODELS["gpt2"].hub_id == "gpt2"
    assert MODELS["clip"].hub_id == "openai/clip-vit-base-patch32"


def test_stand_ins_have_the_papers_architecture(models):
    gpt2, clip = models["gpt2"].model, models["clip"].model
    assert isinstance(gpt2, GPT2Model) and isinstance(clip, CLIPTextModelWithProjection)
    assert (gpt2.config.n_layer, gpt2.config.n_embd, gpt2.config.vocab_size) == (12, 768, 50257)
    assert (clip.config.num_hidden_layers, clip.config.hidden_size) == (12, 512)
    assert clip.config.max_position_embeddings == 77
    assert not gpt2.training and not clip.training


def test_clip_stand_in_is_a_full_checkpoint(settings, models):
    """The text tower and projection come out of a full CLIP checkpoint, as from the hub."""
    folder = standin_checkpoint("clip", settings)
    config = json.loads((folder / "config.json").read_text())
    assert config["architectures"] == ["CLIPModel"]
    assert not list(folder.glob("*.bin"))
    with safe_open(str(folder / "model.safetensors"), "pt") as weights:
        keys = set(weights.keys())
        assert any(k.startswith("vision_model.") for k in keys)
        projection = weights.get_tensor("text_projection.weight")
    assert torch.equal(models["clip"].model.text_projection.weight, projection)


def test_stand_ins_are_seeded(settings, small_models, tmp_path):
    """Written again in another cache, a stand-in has the same weights; another seed gives
    others. Small stand-ins: the seeding does not depend on the width, and the full-size
    checkpoints are compared tensor by tensor with the seeded model in test_standins."""
    small = settings.with_(cache_dir=tmp_path, standin_size="small")
    again = load_model("gpt2", small)
    assert again.weights_sha256 == small_models["gpt2"].weights_sha256
    other = load_model("gpt2", small.with_(standin_seed=1))
    assert other.weights_sha256 != small_models["gpt2"].weights_sha256
    assert "seed1" in other.fingerprint


def test_small_stand_ins_keep_layers_vocabularies_and_positions_and_say_so(
    settings, models, tmp_path
):
    small = settings.with_(cache_dir=tmp_path, standin_size="small")
    for key in ("gpt2", "clip"):
        full, narrow = models[key], load_model(key, small)
        full_config, narrow_config = full.model.config, narrow.model.config
        assert narrow_config.hidden_size == SMALL_WIDTH < full_config.hidden_size
        for name in ("num_hidden_layers", "vocab_size", "max_position_embeddings"):
            assert getattr(narrow_config, name) == getattr(full_config, name), (key, name)
        assert len(narrow.tokenizer) == len(full.tokenizer)
        assert narrow.fingerprint != full.fingerprint and ":small:" in narrow.fingerprint
        assert (
            narrow.provenance()["standin_size"] == "small"
            and full.provenance()["standin_size"] == "full"
        )
    assert {p.name for p in (tmp_path / "stand-ins").iterdir()} == {
        "gpt2-seed0-small",
        "clip-seed0-small",
    }
    with pytest.raises(SettingsError, match="CVSP_STANDIN_SIZE"):
        Settings.from_env({"CVSP_STANDIN_SIZE": "tiny"})


def test_provenance_names_the_weights(models):
    record = models["clip"].provenance()
    assert record["source"] == "stand-in" and record["standin_seed"] == 0
    assert record["hub_id"] == "openai/clip-vit-base-patch32"
    assert record["transformers"] and record["torch"]


def test_unknown_model_key(settings):
    with pytest.raises(ModelUnavailableError, match="Unknown model 'gpt3'"):
        load_model("gpt3", settings)


def test_real_models_fail_fast_when_the_hub_is_unreachable(tmp_path):
    """An unreachable hub and an empty hub cache give one clear sentence, no fallback."""
    env = dict(os.environ)
    env.update(
        HF_ENDPOINT="http://127.0.0.1:9",  # nothing listens there
        HF_HOME=str(tmp_path / "hf"),
        CVSP_CACHE_DIR=str(tmp_path / "cache"),
    )
    env.pop("HF_HUB_OFFLINE", None)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "cvsp",
            "reproduce",
            "--models",
            "real",
            "--out",
            str(tmp_path / "out"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 1
    assert "hub cannot be reached" in done.stderr
    assert "--models stand-in" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "cache" / "stand-ins").exists()  # no silent stand-in


def test_device_auto_is_cpu_here():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        expected = "mps" if expected == "cpu" else expected
    assert cvsp_models.resolve_device("auto").type == expected
