"""Batching, caching and determinism of layerwise extraction."""

from __future__ import annotations

import numpy as np
import pytest

from cvsp import data
from cvsp.cache import EmbeddingCache
from cvsp.embeddings import Embedder
from cvsp.tokens import batches, encode, random_positions

VARIANTS = {
    "gpt2": ["last_token", "eos", "mean", "random_token"],
    "clip": ["last_token", "eos", "mean", "random_token"],
}


@pytest.fixture(scope="module")
def texts(settings):
    sts = data.load_sts(settings)
    sentences = data.unique_sentences(sts)
    rng = np.random.default_rng(0)
    picked = [sentences[i] for i in rng.choice(len(sentences), 40, replace=False)]
    return picked + ["strawberries", "anisotropy", "a"]


# Small stand-ins (64 wide) wherever the point is what is computed, not at which width; one
# case runs full-size CLIP, so that the width users run is embedded too (GPT-2 at full size
# cost 17 s here and proves nothing CLIP's case does not).
@pytest.mark.parametrize(("key", "width"), [("gpt2", "small"), ("clip", "small"), ("clip", "full")])
def test_batched_equals_one_at_a_time(request, texts, key, width):
    loaded = request.getfixturevalue("small_models" if width == "small" else "models")[key]
    batched = Embedder(loaded, progress=False, token_budget=4096)(texts, VARIANTS[key])
    single = Embedder(loaded, progress=False, token_budget=1)(texts, VARIANTS[key])
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


def test_the_cache_stores_the_choices_asked_for(small_models, texts, tmp_path):
    cache = EmbeddingCache(tmp_path)
    first = Embedder(small_models["clip"], cache=cache, progress=False)
    a = first(texts, ["eos"])
    assert first.forward_passes == len(texts)
    assert len(list(tmp_path.glob("*.npy"))) == 1  # not the pass's other token choices
    second = Embedder(small_models["clip"], cache=cache, progress=False)
    b = second(texts, ["eos", "mean"])
    assert second.forward_passes == len(texts)  # "mean" was not kept: one pass for it
    assert len(list(tmp_path.glob("*.npy"))) == 2
    np.testing.assert_array_equal(a["eos"].values, b["eos"].values)
    third = Embedder(small_models["clip"], cache=cache, progress=False)
    c = third(texts, ["mean", "eos"])
    assert third.forward_passes == 0
    np.testing.assert_array_equal(b["mean"].values, c["mean"].values)


def test_cache_key_depends_on_seed_only_for_random_token(small_models, texts, tmp_path):
    cache = EmbeddingCache(tmp_path)
    base = Embedder(small_models["gpt2"], cache=cache, progress=False, seed=0)(
        texts, ["mean", "random_token"]
    )
    other = Embedder(small_models["gpt2"], cache=cache, progress=False, seed=1)
    moved = other(texts, ["mean", "random_token"])
    np.testing.assert_array_equal(base["mean"].values, moved["mean"].values)
    assert not np.array_equal(base["random_token"].values, moved["random_token"].values)


def test_corrupted_cache_entry_is_recomputed(small_models, tmp_path):
    cache = EmbeddingCache(tmp_path)
    words = ["cat", "dog", "strawberries"]
    good = Embedder(small_models["clip"], cache=cache, progress=False)(words, ["eos"])["eos"].values
    for path in tmp_path.glob("*.npy"):
        path.write_bytes(path.read_bytes()[:100])  # truncate every entry
    again = Embedder(small_models["clip"], cache=cache, progress=False)
    with pytest.warns(UserWarning, match="unreadable"):
        result = again(words, ["eos"])["eos"].values
    assert again.forward_passes == len(words)
    np.testing.assert_array_equal(result, good)


@pytest.mark.parametrize("key", ["gpt2", "clip"])
def test_a_list_sharing_most_texts_runs_only_the_new_ones(small_models, texts, key, tmp_path):
    """Chapter 5's released reader and stripped sentences: a new list of mostly known texts
    takes their vectors (a random draw only where it lands on the same position) and runs
    the rest; each vector is the one a pass of the new list alone gives."""
    variants = ["mean", "last_token", "random_token"]
    embedder = Embedder(small_models[key], cache=EmbeddingCache(tmp_path), progress=False)
    embedder(texts, variants)
    assert embedder.forward_passes == len(texts)
    # two texts swapped (their random draws land elsewhere), two changed, one added
    changed = (
        [texts[1], texts[0]]
        + texts[2:20]
        + [" " + texts[20] + " ", texts[21].upper()]
        + texts[22:]
        + ["one new sentence"]
    )
    got = embedder(changed, variants)
    fresh = Embedder(small_models[key], progress=False)(changed, variants)
    for variant in variants:
        np.testing.assert_allclose(
            got[variant].values, fresh[variant].values, atol=1e-5, rtol=0, err_msg=variant
        )
    form = "bare" if key == "gpt2" else "clip"
    known = set(zip(texts, random_positions(encode(small_models[key], texts, form), 0)))
    lacking = sum(
        pair not in known
        for pair in zip(changed, random_positions(encode(small_models[key], changed, form), 0))
    )
    assert 3 <= lacking <= 5  # the changed and new texts, and the swapped ones whose draw moved
    assert embedder.forward_passes == len(texts) + lacking  # the rest came from the first list
    assert len(list(tmp_path.glob("*.npy"))) == len(variants)  # the new list is not stored
    again = Embedder(small_models[key], cache=EmbeddingCache(tmp_path), progress=False)
    again(texts, variants)
    assembled = again(changed, variants)  # in a new session: the first list from the cache
    assert again.forward_passes == lacking
    for variant in variants:
        np.testing.assert_array_equal(assembled[variant].values, got[variant].values)


def test_a_list_sharing_few_texts_runs_whole(small_models, texts, tmp_path):
    embedder = Embedder(small_models["clip"], cache=EmbeddingCache(tmp_path), progress=False)
    embedder(texts[:10], ["eos"])
    shares_few = texts[5:25]  # 5 of 20 known
    got = embedder(shares_few, ["eos"])["eos"].values
    assert embedder.forward_passes == 10 + 20
    np.testing.assert_array_equal(
        got, Embedder(small_models["clip"], progress=False)(shares_few, ["eos"])["eos"].values
    )


def test_another_token_choice_of_a_stitched_list_needs_no_pass(small_models, texts, tmp_path):
    """After a list ran only its new texts, another token choice of it is read from the
    first list (which holds it) and from the new texts' pass, which read every choice."""
    embedder = Embedder(small_models["gpt2"], cache=EmbeddingCache(tmp_path), progress=False)
    embedder(texts, ["mean", "last_token", "random_token"])
    changed = texts[:-1] + ["a sentence no list held"]
    embedder(changed, ["mean"])
    assert embedder.forward_passes == len(texts) + 1
    got = embedder(changed, ["last_token", "random_token"])
    assert embedder.forward_passes == len(texts) + 1
    fresh = Embedder(small_models["gpt2"], progress=False)(changed, ["last_token", "random_token"])
    for variant in ("last_token", "random_token"):
        np.testing.assert_allclose(
            got[variant].values, fresh[variant].values, atol=1e-5, rtol=0, err_msg=variant
        )


def test_cache_keys_stay_as_they_are_across_versions():
    """A user's embedding cache (hours of forward passes for the whole book) must survive an
    update of the package: a request's key depends on what it asks for, never on how the
    code spells it. These two keys were computed when the scheme was set; a deliberate
    change of the scheme bumps ``CACHE_FORMAT`` and updates them."""
    from types import SimpleNamespace

    def key(selector: str, seed: int) -> str:
        return Embedder(SimpleNamespace(fingerprint="gpt2@607a30d7/sha256:00ff"), seed=seed)._key(
            "bare", selector, "ab" * 32
        )

    assert key("eos", 3) == "4f7dc02b877f2c5baa0123b0e2e71a72"
    assert key("random", 3) == "94a3c9ef967a6a9c661c36aff229d0f9"
    assert key("eos", 4) == key("eos", 3) and key("random", 4) != key(
        "random", 3
    )  # the seed matters only to a draw
