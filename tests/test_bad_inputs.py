"""Awkward inputs to the engine: each handled by a stated rule.

Rules: empty, whitespace-only and non-string texts are an error naming the text's index;
texts over a model's context are an error (``prepare_sentences`` drops them first, with a
count); any Unicode text is embedded; duplicates are embedded as given and get identical
vectors.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cvsp import experiments
from cvsp.embeddings import cached
from cvsp.tokens import EmbeddingError


@pytest.mark.parametrize("bad", ["", "   ", "\t\n", None, 3.5])
@pytest.mark.parametrize("key", ["gpt2", "clip"])
def test_empty_or_non_text_is_an_error_naming_it(small_models, key, bad):
    with pytest.raises(EmbeddingError, match="Text 1"):
        cached(small_models[key], progress=False)(["fine", bad], ["eos"])


@pytest.mark.parametrize("key", ["gpt2", "clip"])
def test_unicode_and_long_words(small_models, key):
    texts = ["café", "日本語の文", "party 🎉🎉", "Pneumonoultramicroscopicsilicovolcanoconiosis"]
    emb = cached(small_models[key], progress=False)(texts, ["last_subtoken", "eos", "mean"])
    for variant in emb.values():
        assert np.isfinite(variant.values).all()
        assert len({v.tobytes() for v in variant.values[:, 12]}) == len(texts)


def test_over_clip_limit_is_an_error_in_the_engine(small_models):
    with pytest.raises(EmbeddingError, match="more than CLIP's limit of 77"):
        cached(small_models["clip"], progress=False)(["word " * 100], ["eos"])


def test_over_clip_limit_is_dropped_and_counted_by_the_experiments(small_models):
    long = "word " * 100
    sts = pd.DataFrame({"score": [1.0, 2.0], "sentence1": [long, "a"], "sentence2": ["b", "c"]})
    prepared = experiments.prepare_sentences(sts, small_models["clip"].tokenizer)
    assert (prepared.excluded_sentences, prepared.excluded_pairs) == (1, 1)


@pytest.mark.parametrize("key", ["gpt2", "clip"])
def test_duplicates_get_identical_vectors(small_models, key):
    emb = cached(small_models[key], progress=False)(
        ["A dog runs.", "A cat sits.", "A dog runs."], ["eos"]
    )["eos"]
    np.testing.assert_array_equal(emb.values[0], emb.values[2])


def test_unknown_token_choice(small_models):
    with pytest.raises(EmbeddingError, match="Unknown token choice"):
        cached(small_models["gpt2"], progress=False)(["a"], ["cls"])


def test_no_texts(small_models):
    with pytest.raises(EmbeddingError, match="No texts"):
        cached(small_models["gpt2"], progress=False)([], ["eos"])
