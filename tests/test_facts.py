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
