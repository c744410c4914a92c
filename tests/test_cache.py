"""The embedding cache: a wrong entry is never served; texts, token choice and seed each
get their own entry; a list made mostly of known texts runs only its new ones; keys stay
as they are across versions."""

from __future__ import annotations

import numpy as np
import pytest
from support.texts import TEXTS, TOLERANCE, entries, fresh

from cvsp.cache import DiskStore
from cvsp.embeddings import cached
from cvsp.tokens import encode, random_positions


@pytest.mark.parametrize("bad", ["rows", "shape", "dtype"])
def test_wrong_cache_entry_is_recomputed_not_used(small_models, tmp_path, bad):
    """A readable entry with the wrong rows, shape or dtype is recomputed, never used.

    Guards the entry check of ``CachedEmbedder.__call__`` and ``random_draws``
    (``src/cvsp/cached.py``): a check of the row count alone lets ``shape`` and
    ``dtype`` through.
    """
    clip = small_models["clip"]
    expected = fresh(clip, TEXTS, "eos")
    cache = DiskStore(tmp_path)
    cached(clip, store=cache, progress=False)(TEXTS, ["eos"])
    # the entry the cache reads for CLIP's eos: the file holding exactly those vectors
    path = (
        tmp_path
        / "embeddings"
        / next(
            name
            for name, a in entries(tmp_path / "embeddings").items()
            if a.shape == expected.shape and np.allclose(a, expected, atol=TOLERANCE, rtol=0)
        )
    )
    n, layers, dim = expected.shape
    rng = np.random.default_rng(0)
    entry = {
        "rows": np.concatenate([expected, expected[:1]]),  # one row too many
        "shape": rng.standard_normal((n, 13, 768)).astype(np.float32),  # GPT-2-sized, no extras
        "dtype": rng.standard_normal((n, layers, dim)),  # float64, not what was written
    }[bad]
    np.save(path, entry)
    again = cached(clip, store=cache, progress=False)
    got = again(TEXTS, ["eos"])["eos"]
    assert again.forward_passes == len(TEXTS), f"a cache entry with the wrong {bad} was used"
    assert got.values.dtype == np.float32 and got.values.shape == expected.shape
    np.testing.assert_allclose(got.values, expected, atol=TOLERANCE, rtol=0)
    np.testing.assert_array_equal(np.load(path), got.values)  # and the entry is mended


def test_changed_texts_token_choice_or_seed_get_their_ownentries(small_models, tmp_path):
    gpt2 = small_models["gpt2"]
    cache = DiskStore(tmp_path)

    def embed(texts, variant, seed=0, passes=None):
        embedder = cached(gpt2, store=cache, seed=seed, progress=False)
        before = len(entries(tmp_path / "embeddings"))
        values = embedder(texts, [variant])[variant].values
        if passes is not None:
            assert embedder.forward_passes == passes, (texts, variant, seed)
        np.testing.assert_allclose(
            values, fresh(gpt2, texts, variant, seed), atol=TOLERANCE, rtol=0
        )
        return values, len(entries(tmp_path / "embeddings")) - before

    base, added = embed(TEXTS, "last_subtoken", passes=len(TEXTS))
    assert added > 0
    assert embed(TEXTS, "last_subtoken", passes=0)[1] == 0  # the same call: all from the cache
    changed = [*TEXTS[:-1], "A zebra stands still."]
    assert embed(changed, "last_subtoken", passes=len(changed))[1] == added
    reordered, added_again = embed(TEXTS[::-1], "last_subtoken", passes=len(TEXTS))
    assert added_again == added
    np.testing.assert_allclose(reordered, base[::-1], atol=TOLERANCE, rtol=0)
    eos, _ = embed(TEXTS, "eos", passes=len(TEXTS))  # another input form: another pass
    mean, added_mean = embed(TEXTS, "mean", passes=len(TEXTS))  # not asked for before: not stored
    assert added_mean > 0 and embed(TEXTS, "mean", passes=0)[1] == 0
    assert not np.allclose(eos, base) and not np.allclose(mean, base)
    zero, _ = embed(TEXTS, "random_token", seed=0, passes=len(TEXTS))
    one, added_seed = embed(TEXTS, "random_token", seed=1, passes=len(TEXTS))
    assert added_seed > 0 and not np.allclose(zero, one)
    # choices asked for together in one pass are stored under each one's own key
    both = cached(gpt2, store=cache, seed=2, progress=False)
    together = both(TEXTS, ["mean_no_first", "random_token"])
    assert both.forward_passes == len(TEXTS)
    np.testing.assert_array_equal(
        embed(TEXTS, "mean_no_first", passes=0)[0], together["mean_no_first"].values
    )
    np.testing.assert_array_equal(
        embed(TEXTS, "random_token", seed=2, passes=0)[0], together["random_token"].values
    )


def test_the_cache_stores_the_choices_asked_for(small_models, texts, tmp_path):
    cache = DiskStore(tmp_path)
    first = cached(small_models["clip"], store=cache, progress=False)
    a = first(texts, ["eos"])
    assert first.forward_passes == len(texts)
    assert (
        len(list((tmp_path / "embeddings").glob("*.npy"))) == 1
    )  # not the pass's other token choices
    second = cached(small_models["clip"], store=cache, progress=False)
    b = second(texts, ["eos", "mean"])
    assert second.forward_passes == len(texts)  # "mean" was not kept: one pass for it
    assert len(list((tmp_path / "embeddings").glob("*.npy"))) == 2
    np.testing.assert_array_equal(a["eos"].values, b["eos"].values)
    third = cached(small_models["clip"], store=cache, progress=False)
    c = third(texts, ["mean", "eos"])
    assert third.forward_passes == 0
    np.testing.assert_array_equal(b["mean"].values, c["mean"].values)


def test_cache_key_depends_on_seed_only_for_random_token(small_models, texts, tmp_path):
    cache = DiskStore(tmp_path)
    base = cached(small_models["gpt2"], store=cache, progress=False, seed=0)(
        texts, ["mean", "random_token"]
    )
    other = cached(small_models["gpt2"], store=cache, progress=False, seed=1)
    moved = other(texts, ["mean", "random_token"])
    np.testing.assert_array_equal(base["mean"].values, moved["mean"].values)
    assert not np.array_equal(base["random_token"].values, moved["random_token"].values)


def test_corrupted_cache_entry_is_recomputed(small_models, tmp_path):
    cache = DiskStore(tmp_path)
    words = ["cat", "dog", "strawberries"]
    good = cached(small_models["clip"], store=cache, progress=False)(words, ["eos"])["eos"].values
    for path in (tmp_path / "embeddings").glob("*.npy"):
        path.write_bytes(path.read_bytes()[:100])  # truncate every entry
    again = cached(small_models["clip"], store=cache, progress=False)
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
    embedder = cached(small_models[key], store=DiskStore(tmp_path), progress=False)
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
    fresh = cached(small_models[key], progress=False)(changed, variants)
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
    assert len(list((tmp_path / "embeddings").glob("*.npy"))) == len(
        variants
    )  # the new list is not stored
    again = cached(small_models[key], store=DiskStore(tmp_path), progress=False)
    again(texts, variants)
    assembled = again(changed, variants)  # in a new session: the first list from the cache
    assert again.forward_passes == lacking
    for variant in variants:
        np.testing.assert_array_equal(assembled[variant].values, got[variant].values)


def test_a_list_sharing_few_texts_runs_whole(small_models, texts, tmp_path):
    embedder = cached(small_models["clip"], store=DiskStore(tmp_path), progress=False)
    embedder(texts[:10], ["eos"])
    shares_few = texts[5:25]  # 5 of 20 known
    got = embedder(shares_few, ["eos"])["eos"].values
    assert embedder.forward_passes == 10 + 20
    np.testing.assert_array_equal(
        got, cached(small_models["clip"], progress=False)(shares_few, ["eos"])["eos"].values
    )


def test_another_token_choice_of_a_stitched_list_needs_no_pass(small_models, texts, tmp_path):
    """After a list ran only its new texts, another token choice of it is read from the
    first list (which holds it) and from the new texts' pass, which read every choice."""
    embedder = cached(small_models["gpt2"], store=DiskStore(tmp_path), progress=False)
    embedder(texts, ["mean", "last_token", "random_token"])
    changed = texts[:-1] + ["a sentence no list held"]
    embedder(changed, ["mean"])
    assert embedder.forward_passes == len(texts) + 1
    got = embedder(changed, ["last_token", "random_token"])
    assert embedder.forward_passes == len(texts) + 1
    fresh = cached(small_models["gpt2"], progress=False)(changed, ["last_token", "random_token"])
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
        return cached(SimpleNamespace(fingerprint="gpt2@607a30d7/sha256:00ff"), seed=seed)._key(
            "bare", selector, "ab" * 32
        )

    assert key("eos", 3) == "4f7dc02b877f2c5baa0123b0e2e71a72"
    assert key("random", 3) == "94a3c9ef967a6a9c661c36aff229d0f9"
    assert key("eos", 4) == key("eos", 3) and key("random", 4) != key(
        "random", 3
    )  # the seed matters only to a draw
