"""Layerwise extraction: batched equals one text at a time, the token budget, seeded draws."""

from __future__ import annotations

import numpy as np
import pytest

from cvsp.embeddings import cached
from cvsp.tokens import batches, encode, random_positions

VARIANTS = {
    "gpt2": ["last_token", "eos", "mean", "random_token"],
    "clip": ["last_token", "eos", "mean", "random_token"],
}


# Small stand-ins (64 wide) wherever the point is what is computed, not at which width; one
# case runs full-size CLIP, so that the width users run is embedded too (GPT-2 at full size
# cost 17 s here and proves nothing CLIP's case does not).
@pytest.mark.parametrize(("key", "width"), [("gpt2", "small"), ("clip", "small"), ("clip", "full")])
def test_batched_equals_one_at_a_time(request, texts, key, width):
    loaded = request.getfixturevalue("small_models" if width == "small" else "models")[key]
    batched = cached(loaded, progress=False, token_budget=4096)(texts, VARIANTS[key])
    single = cached(loaded, progress=False, token_budget=1)(texts, VARIANTS[key])
    for variant in VARIANTS[key]:
        assert batched[variant].values.shape == single[variant].values.shape
        np.testing.assert_allclose(
            batched[variant].values, single[variant].values, atol=1e-5, rtol=0, err_msg=variant
        )


def test_batches_respect_the_token_budget():
    lengths = [5, 30, 7, 7, 12, 30, 1]
    groups = batches(lengths, token_budget=40)
    assert sorted(np.concatenate(groups).tolist()) == list(range(len(lengths)))
    for group in groups:
        width = max(lengths[i] for i in group)
        assert width * len(group) <= 40 or len(group) == 1
    assert [lengths[i] for i in groups[0]] == [30]  # longest first


def test_random_positions_are_seeded_and_inside_the_text(small_models):
    encoded = encode(small_models["clip"], ["a b c d e f", "g h", "i"], "clip")
    first = random_positions(encoded, seed=0)
    assert first.tolist() == random_positions(encoded, seed=0).tolist()
    for e, p in zip(encoded, first):
        assert e.start <= p < e.stop
    draws = {tuple(random_positions(encoded, seed=s)) for s in range(20)}
    assert len(draws) > 1
