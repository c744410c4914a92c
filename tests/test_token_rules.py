"""The random-token rules and the mean without GPT-2's first position, on real tokenizations.

Allowed positions are written down by hand for known tokenizations; the draws are then
checked to land only there, on every allowed position, with uniform frequencies.
"""

from __future__ import annotations

import gc

import numpy as np
import pytest
from scipy import stats
from test_tokens import hidden_states

from cvsp import data
from cvsp.embeddings import cached
from cvsp.tokens import RANDOM_RULES, allowed_positions, encode, random_positions

SENTENCE = "The cat sat."


def _encoded(small_models, key: str, text: str):
    form = "bare" if key == "gpt2" else "clip"
    return encode(small_models[key], [text], form)[0]


def test_hand_checked_positions_gpt2(small_models):
    e = _encoded(small_models, "gpt2", SENTENCE)
    assert small_models["gpt2"].tokenizer.convert_ids_to_tokens(list(e.ids)) == [
        "The",
        "Ġcat",
        "Ġsat",
        ".",
    ]
    assert list(allowed_positions(e, "random")) == [0, 1, 2, 3]
    assert list(allowed_positions(e, "random_no_first")) == [1, 2, 3]  # position 0 excluded
    assert list(allowed_positions(e, "random_released")) == [1, 2, 3]
    assert list(allowed_positions(e, "mean_no_first")) == [1, 2, 3]


def test_hand_checked_positions_clip(small_models):
    e = _encoded(small_models, "clip", SENTENCE)
    tokens = small_models["clip"].tokenizer.convert_ids_to_tokens(list(e.ids))
    assert tokens == ["<|startoftext|>", "the</w>", "cat</w>", "sat</w>", ".</w>", "<|endoftext|>"]
    assert list(allowed_positions(e, "random")) == [1, 2, 3, 4]  # BOS and EOS never drawn
    assert list(allowed_positions(e, "random_no_first")) == [1, 2, 3, 4]
    assert list(allowed_positions(e, "random_released")) == [1, 2, 3, 4, 5]  # EOS can be drawn


def test_one_token_text_keeps_its_token(small_models):
    e = _encoded(small_models, "gpt2", "cat")
    assert len(e.ids) == 1
    for rule in (*RANDOM_RULES, "mean_no_first"):
        assert list(allowed_positions(e, rule)) == [0]


@pytest.mark.parametrize("key", ["gpt2", "clip"])
@pytest.mark.parametrize("rule", list(RANDOM_RULES))
def test_draws_are_uniform_over_the_allowed_positions(small_models, key, rule):
    e = _encoded(small_models, key, SENTENCE)
    allowed = list(allowed_positions(e, rule))
    draws = random_positions([e] * 6000, seed=11, selector=rule)
    counts = np.array([(draws == p).sum() for p in allowed])
    assert counts.sum() == len(draws), "a draw fell outside the allowed positions"
    assert (counts > 0).all(), "an allowed position is never drawn"
    assert stats.chisquare(counts).pvalue > 1e-4, counts


def test_draw_depends_on_the_seed_and_rule(small_models):
    e = _encoded(small_models, "gpt2", "A man is playing a large harp in the park today.")
    own = random_positions([e] * 50, seed=0, selector="random")
    assert (own == random_positions([e] * 50, seed=0, selector="random")).all()
    assert (own != random_positions([e] * 50, seed=1, selector="random")).any()
    assert 0 in own and 0 not in random_positions([e] * 200, seed=0, selector="random_no_first")


def test_variants_read_the_drawn_position_and_the_mean_without_position_0(small_models):
    gpt2 = small_models["gpt2"]
    got = cached(gpt2, progress=False, seed=5)(
        [SENTENCE], ["random_token_no_first", "mean", "mean_no_first"]
    )
    states = hidden_states(gpt2, list(_encoded(small_models, "gpt2", SENTENCE).ids))  # [13, 4, d]
    np.testing.assert_allclose(got["mean"].values[0], states.mean(axis=1), atol=1e-5)
    np.testing.assert_allclose(
        got["mean_no_first"].values[0], states[:, 1:].mean(axis=1), atol=1e-5
    )
    position = random_positions(
        [_encoded(small_models, "gpt2", SENTENCE)], seed=5, selector="random_no_first"
    )[0]
    np.testing.assert_allclose(
        got["random_token_no_first"].values[0], states[:, position], atol=1e-5
    )


def test_sentences_are_used_as_the_file_gives_them(settings, small_models):
    sts = data.load_sts(settings)
    sentences = list(sts["sentence1"]) + list(sts["sentence2"])
    trailing = [s for s in sentences if s != s.rstrip()]
    assert len(trailing) == 12 and all(s.endswith(" ") for s in trailing)
    ids = small_models["gpt2"].tokenizer(trailing[0])["input_ids"]
    assert (
        small_models["gpt2"].tokenizer.convert_ids_to_tokens(ids)[-1] == "Ġ"
    )  # GPT-2's last token is the space
    assert data.parse_sts("g\tf\ty\t1\t2.5\tA cat. \tA dog.\n")["sentence1"].item() == "A cat. "


def test_several_seeds_in_one_pass_equal_one_embedder_per_seed(small_models, tmp_path):
    from cvsp.cache import DiskStore

    texts = ["A man is playing a harp.", "Dogs run in the park.", "The cat sat."]
    cache = DiskStore(tmp_path)
    many = cached(small_models["gpt2"], store=cache, progress=False)
    drawn = many.random_draws(texts, "random_token", seeds=[0, 1, 2])
    assert many.forward_passes == len(texts)  # one pass for three seeds
    for seed in (0, 1, 2):
        alone = cached(small_models["gpt2"], seed=seed, progress=False)(texts, ["random_token"])[
            "random_token"
        ]
        np.testing.assert_allclose(drawn[seed].values, alone.values, atol=1e-5)
        one = cached(small_models["gpt2"], store=cache, seed=seed, progress=False)
        one(texts, ["random_token"])
        # the embedder's own seed is stored under the key it reads; the others only for the page
        assert one.forward_passes == (0 if seed == 0 else len(texts))
    again = many.random_draws(texts, "random_token", seeds=[2, 1])
    assert many.forward_passes == len(texts)  # from the scratch folder
    five = cached(small_models["gpt2"], progress=False)  # chapter 1's five seeds: one pass
    five.random_draws(texts, "random_token", seeds=range(10, 16))
    assert five.forward_passes == 2 * len(texts)  # six seeds: two passes of up to five
    np.testing.assert_array_equal(again[2].values, drawn[2].values)
    scratch = many.scratch().root
    assert scratch.parent == tmp_path / "embeddings"
    assert len(list((scratch / "embeddings").glob("*.npy"))) == 2
    del many, again
    gc.collect()
    assert not scratch.exists()  # gone with its embedder
