"""Token positions with the real tokenizers: each variant reads the position the paper used.

The reference is computed independently: the tokenizer's own special-token handling
and one forward pass per text, indexed by a position written down by hand.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cvsp.embeddings import cached
from cvsp.tokens import EmbeddingError, encode, fits_clip


def hidden_states(model, ids: list[int]) -> np.ndarray:
    with torch.inference_mode():
        out = model.model(input_ids=torch.tensor([ids]), output_hidden_states=True)
    return torch.stack(out.hidden_states)[:, 0].numpy()  # [13, T, d]


def test_gpt2_multi_subtoken_word(small_models):
    gpt2 = small_models["gpt2"]
    tok = gpt2.tokenizer
    assert tok.convert_ids_to_tokens(tok("strawberries")["input_ids"]) == ["st", "raw", "berries"]
    got = cached(gpt2, progress=False)(["strawberries"], ["last_subtoken", "eos"])
    bare = hidden_states(gpt2, tok("strawberries")["input_ids"])
    np.testing.assert_allclose(got["last_subtoken"].values[0], bare[:, 2], atol=1e-5)
    wrapped_ids = tok("<|endoftext|>strawberries<|endoftext|>")["input_ids"]
    assert wrapped_ids == [50256, 301, 1831, 20853, 50256]
    wrapped = hidden_states(gpt2, wrapped_ids)
    np.testing.assert_allclose(got["eos"].values[0], wrapped[:, 4], atol=1e-5)
    assert not np.allclose(got["eos"].values[0], wrapped[:, 3], atol=1e-3)


def test_clip_multi_subtoken_word(small_models):
    clip = small_models["clip"]
    tok = clip.tokenizer
    ids = tok("anisotropy")["input_ids"]
    assert tok.convert_ids_to_tokens(ids) == [
        "<|startoftext|>",
        "an",
        "iso",
        "tro",
        "py</w>",
        "<|endoftext|>",
    ]
    got = cached(clip, progress=False)(["anisotropy"], ["last_subtoken", "eos", "mean"])
    states = hidden_states(clip, ids)
    np.testing.assert_allclose(got["last_subtoken"].values[0], states[:, 4], atol=1e-5)
    np.testing.assert_allclose(got["eos"].values[0, :13], states[:, 5], atol=1e-5)
    np.testing.assert_allclose(got["mean"].values[0], states[:, 1:5].mean(axis=1), atol=1e-5)


def test_clip_eos_extras(small_models):
    clip = small_models["clip"]
    ids = clip.tokenizer("a dog on a beach")["input_ids"]
    got = cached(clip, progress=False)(["a dog on a beach"], ["eos"])["eos"]
    assert got.layers[-2:] == ("final_ln", "projection")
    with torch.inference_mode():
        out = clip.model(input_ids=torch.tensor([ids]))
    eos = len(ids) - 1
    np.testing.assert_allclose(got.layer("final_ln")[0], out.last_hidden_state[0, eos], atol=1e-5)
    np.testing.assert_allclose(got.layer("projection")[0], out.text_embeds[0], atol=1e-5)


def test_clip_padding_uses_the_real_eos(small_models):
    """CLIP pads with its EOS id: the short text's EOS must come from its own span."""
    clip = small_models["clip"]
    short, long = "a cat", "a very long caption about a cat sitting on a red mat"
    got = cached(clip, progress=False)([short, long], ["eos"])["eos"]
    short_ids = clip.tokenizer(short)["input_ids"]
    alone = hidden_states(clip, short_ids)
    np.testing.assert_allclose(got.values[0, :13], alone[:, len(short_ids) - 1], atol=1e-5)
    assert clip.tokenizer.pad_token_id == clip.tokenizer.eos_token_id


def test_encode_spans(small_models):
    [gpt2_bare] = encode(small_models["gpt2"], ["A girl."], "bare")
    [gpt2_eos] = encode(small_models["gpt2"], ["A girl."], "eos_wrapped")
    [clip] = encode(small_models["clip"], ["A girl."], "clip")
    assert (gpt2_bare.start, gpt2_bare.stop, len(gpt2_bare.ids)) == (0, 3, 3)
    assert (gpt2_eos.start, gpt2_eos.stop, len(gpt2_eos.ids)) == (1, 4, 5)
    assert (clip.start, clip.stop, len(clip.ids)) == (1, 4, 5)
    assert clip.ids[0] == 49406 and clip.ids[-1] == 49407


def test_random_token_is_a_real_token(small_models):
    gpt2 = small_models["gpt2"]
    texts = ["A man is playing a harp.", "Dogs run."]
    got = cached(gpt2, progress=False, seed=3)(texts, ["random_token"])["random_token"]
    for row, text in enumerate(texts):
        states = hidden_states(gpt2, gpt2.tokenizer(text)["input_ids"])
        matches = [
            p
            for p in range(states.shape[1])
            if np.allclose(got.values[row], states[:, p], atol=1e-5)
        ]
        assert len(matches) == 1


def test_clip_context_limit(small_models):
    tok = small_models["clip"].tokenizer
    fits = fits_clip(tok, ["short", "word " * 75, "word " * 76])
    assert fits.tolist() == [True, True, False]  # 75 words + BOS + EOS = 77


def test_the_engine_takes_a_text_of_exactly_the_context_and_refuses_one_more(small_models):
    """CLIP's context is 77 ids with BOS and EOS: the engine encodes a text that fills it
    (the boundary ``fits_clip`` lets through) and refuses one token more."""
    clip = small_models["clip"]
    [full] = encode(clip, ["word " * 75], "clip")
    assert len(full.ids) == 77 == clip.spec.max_tokens and (full.start, full.stop) == (1, 76)
    with pytest.raises(EmbeddingError, match="78 tokens, more than"):
        encode(clip, ["word " * 76], "clip")
