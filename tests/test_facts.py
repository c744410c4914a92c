"""A model's facts read from its files (cvsp.facts) are those of the model loaded: the
same fingerprint, layers and width, so a page that reads its tables needs no model."""

from __future__ import annotations

import pytest

from cvsp import facts
from cvsp.registry import BOOK_MODELS, spec_for


def test_the_default_shapes_are_transformers_defaults():
    """A config.json leaves out what equals its class's default: ours must be the same."""
    from transformers import BertConfig, CLIPTextConfig, GPT2Config, SiglipTextConfig

    for family, config in {
        "clip": CLIPTextConfig(),
        "siglip": SiglipTextConfig(),
        "gpt2": GPT2Config(),
        "bert": BertConfig(),
    }.items():
        assert facts.DEFAULT_SHAPE[family] == (config.num_hidden_layers, config.hidden_size)
        assert facts.text_shape(family, {}) == facts.DEFAULT_SHAPE[family]
    assert facts.text_shape("siglip", {"text_config": {"model_type": "siglip_text_model"}}) == (
        12,
        768,
    )
    assert facts.text_shape("gpt2", {"n_layer": 24, "n_embd": 1024}) == (24, 1024)
    assert facts.text_shape("clip", {"text_config_dict": {"hidden_size": 768}}) == (12, 768)


@pytest.mark.parametrize("key", BOOK_MODELS)
def test_a_stand_ins_facts_are_the_loaded_models(settings, key):
    from cvsp.embeddings import Embedder
    from cvsp.models import load_stand_in
    from cvsp.standins import standin_checkpoint

    small = settings.with_(standin_size="small")  # the checkpoints other tests use
    spec = spec_for(key)
    described = facts.of_standin(spec, standin_checkpoint(spec, small), seed=3)
    assert described == Embedder(load_stand_in(spec, small, "cpu"), seed=3).facts


def test_a_stand_ins_folder_keeps_its_name_at_full_size():
    """Full-size checkpoints keep the folder names they had before small ones existed."""
    from cvsp.settings import Settings

    gpt2, laion = spec_for("gpt2"), spec_for("clip_laion")
    assert facts.standin_folder_name(gpt2, Settings(standin_seed=3)) == "gpt2-seed3"
    small = Settings(standin_size="small")
    assert facts.standin_folder_name(gpt2, small) == "gpt2-seed0-small"
    assert facts.standin_folder_name(laion, small) == "clip_laion-seed0-small"


@pytest.mark.parametrize("online", [True, False])
def test_hub_facts_download_the_config_only_when_online(monkeypatch, tmp_path, online):
    """Offline, the config comes from the hub cache alone; online it may be downloaded."""
    asked = {}

    def download(repo, name, revision, local_files_only):
        asked.update(repo=repo, name=name, revision=revision, local=local_files_only)
        (tmp_path / name).write_text('{"n_layer": 24, "n_embd": 1024}')
        return str(tmp_path / name)

    monkeypatch.setattr(facts, "hf_hub_download", download)
    spec = spec_for("gpt2_medium")
    described = facts.of_hub(spec, "c" * 40, online)
    assert asked == dict(repo=spec.hub_id, name="config.json", revision="c" * 40, local=not online)
    assert (described.blocks, described.width) == (24, 1024)
    assert described.fingerprint == f"{spec.hub_id}@{'c' * 40}"


def test_pages_name_the_weights_from_the_facts():
    def model(fingerprint: str) -> facts.Described:
        return facts.Described("m", "gpt2", 0, fingerprint, 12, False)

    small = facts.standin_fingerprint(spec_for("gpt2"), 0, "small", "ab" * 32)
    full = facts.standin_fingerprint(spec_for("clip"), 0, "full", "cd" * 32)
    assert facts.weights_label([model(small)]) == "small stand-in models (random weights)"
    assert facts.weights_label([model(full)]) == "stand-in models (random weights)"
    hub = [
        model(facts.hub_fingerprint(spec_for(key), "0123456789" * 4)) for key in ("gpt2", "clip")
    ]
    assert facts.weights_label(hub) == (
        f"pretrained models (gpt2@0123456, {spec_for('clip').hub_id}@0123456)"
    )
