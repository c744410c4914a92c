"""Stand-in checkpoints, as written and as loaded, against models built here from the seed
and the config (at full size: the weights users run); two seeds' weights in one cache
keep their own vectors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from support.runs import removed_when_done
from support.texts import TEXTS, TOLERANCE, entries, fresh
from transformers import CLIPConfig, CLIPModel, CLIPTextConfig, GPT2Config, GPT2LMHeadModel

from cvsp.cache import DiskStore
from cvsp.embeddings import cached
from cvsp.models import load_model
from cvsp.registry import WEIGHTS_FILE
from cvsp.standins import STANDIN_MARKER, standin_checkpoint

TINY_VISION = dict(
    hidden_size=32,
    intermediate_size=64,
    num_hidden_layers=1,
    num_attention_heads=2,
    image_size=32,
    patch_size=16,
)


def _built_here(key: str, seed: int) -> dict[str, torch.Tensor]:
    """State dict of the full hub checkpoint with default configs, seeded here."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if key == "gpt2":
            model = GPT2LMHeadModel(GPT2Config())
        else:
            config = CLIPConfig(text_config=CLIPTextConfig().to_dict(), vision_config=TINY_VISION)
            model = CLIPModel(config)
    return model.state_dict()


def _distinct_storage(state: dict[str, torch.Tensor]) -> set[str]:
    """Keys of a state dict less those tied to an earlier key (GPT-2's lm_head)."""
    seen, keys = set(), set()
    for name, tensor in state.items():
        if tensor.data_ptr() not in seen:
            keys.add(name)
        seen.add(tensor.data_ptr())
    return keys


def _assert_same_tensors(
    got: dict[str, torch.Tensor], expected: dict[str, torch.Tensor], what: str
) -> None:
    assert got, what
    for name, tensor in got.items():
        assert name in expected, f"{what}: {name} is not in the model built here"
        assert tensor.dtype == expected[name].dtype and tensor.shape == expected[name].shape, (
            what,
            name,
        )
        assert torch.equal(tensor, expected[name]), f"{what}: {name} differs from the seeded model"


@pytest.fixture(scope="module")
def fresh_stand_ins(request, settings, tmp_path_factory):
    """``seed -> Settings`` whose cache holds checkpoints written now (gpt2 and clip at the
    settings' seed, clip at the next seed). The folder (1 GB) is removed with the module's
    last test, not kept to the end of the session with the shared runs (kept, as a failed
    test's folder is, when a test failed meanwhile)."""
    root = tmp_path_factory.mktemp("fresh-stand-ins")
    removed_when_done(request, root)
    seed = settings.standin_seed
    chosen = {s: settings.with_(cache_dir=root, standin_seed=s) for s in (seed, seed + 1)}
    standin_checkpoint("gpt2", chosen[seed])
    standin_checkpoint("clip", chosen[seed])
    standin_checkpoint("clip", chosen[seed + 1])
    return chosen


@pytest.fixture(scope="module")
def clip_next_seed(settings, fresh_stand_ins):
    return load_model("clip", fresh_stand_ins[settings.standin_seed + 1], device="cpu")


@pytest.mark.parametrize("key", ["gpt2", "clip"])
def test_stand_in_checkpoint_is_the_seeded_model(settings, models, fresh_stand_ins, key):
    """Every tensor cvsp writes, and every tensor of the model it loads, is the model
    built here from the same seed and config."""
    seed = settings.standin_seed
    expected = _built_here(key, seed)
    folder = standin_checkpoint(key, fresh_stand_ins[seed])
    written = load_file(str(folder / WEIGHTS_FILE))
    _assert_same_tensors(written, expected, f"{key} checkpoint written now")
    missing = _distinct_storage(expected) - set(written)
    assert not missing, f"{key} checkpoint lacks {sorted(missing)[:5]}"
    marker = json.loads((folder / STANDIN_MARKER).read_text())
    assert marker["seed"] == seed
    # the model the fixtures loaded from the shared cache, through from_pretrained
    loaded = models[key].model.state_dict()
    prefix = "transformer." if key == "gpt2" else ""
    _assert_same_tensors({prefix + k: v for k, v in loaded.items()}, expected, f"loaded {key}")
    assert models[key].standin_seed == seed


def test_another_seed_gives_other_weights(settings, models, clip_next_seed):
    seed = settings.standin_seed
    expected = _built_here("clip", seed + 1)
    _assert_same_tensors(clip_next_seed.model.state_dict(), expected, "clip at the next seed")
    ours, theirs = models["clip"].model.state_dict(), clip_next_seed.model.state_dict()
    random = [k for k, v in ours.items() if v.is_floating_point() and v.numel() > 1 and v.std() > 0]
    assert len(random) > 50  # every tensor drawn at random (not the constant layer-norm ones)
    same = [k for k in random if torch.equal(ours[k], theirs[k])]
    assert not same, f"seeds {seed} and {seed + 1} share {same[:5]}"
    assert clip_next_seed.fingerprint != models["clip"].fingerprint


def test_two_weight_sets_in_one_cache_folder_keep_their_own_vectors(
    models, clip_next_seed, tmp_path
):
    cache = DiskStore(tmp_path)
    variants = ["eos", "mean"]
    first = cached(models["clip"], store=cache, progress=False)
    ours = first(TEXTS, variants)
    files = len(entries(tmp_path / "embeddings"))
    other = cached(clip_next_seed, store=cache, progress=False)
    theirs = other(TEXTS, variants)
    assert other.forward_passes == len(TEXTS), "other weights were served from the cache"
    assert len(entries(tmp_path / "embeddings")) == 2 * files
    for variant in variants:
        np.testing.assert_allclose(
            theirs[variant].values, fresh(clip_next_seed, TEXTS, variant), atol=TOLERANCE, rtol=0
        )
        assert not np.allclose(theirs[variant].values, ours[variant].values)
    back = cached(models["clip"], store=cache, progress=False)
    again = back(TEXTS, variants)
    assert back.forward_passes == 0
    for variant in variants:
        np.testing.assert_array_equal(again[variant].values, ours[variant].values)
