"""Word order (the shuffled-sentence similarity of ``experiments.diagnostics``) against
embedders without a model: a bag of words, and words weighted by position."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from support.fakes import WordEmbedder, WordTokenizer, sentence_data

from cvsp import experiments

SHUFFLE_SENTENCES = [
    "one",
    "two words",
    "three little words",
    "a man plays a flute",
    "single",
    "the cat sat on the mat",
    "dogs bark",
    "birds fly south in winter",
]


@pytest.mark.parametrize("bag", [True, False])
def test_shuffled_similarity_uses_every_sentence_of_two_or_more_words(bag):
    sentences = sentence_data(
        SHUFFLE_SENTENCES, [(SHUFFLE_SENTENCES[1], SHUFFLE_SENTENCES[2], 1.0)]
    )
    embedders = {"clip": WordEmbedder("clip", bag=bag)}
    table = experiments.shuffled_similarity(
        embedders, sentences, WordTokenizer(), sample=100, shuffles=3
    )
    several = [s for s in SHUFFLE_SENTENCES if len(s.split()) >= 2]
    assert (table["pairs"] == 3 * len(several)).all()  # two-word sentences in, one-word ones out
    assert len(table) == 2 * 13 and set(table["variant"]) == {"eos", "mean"}
    shuffled = embedders["clip"].calls[-1]
    assert len(shuffled) == 3 * len(several)
    assert sorted(" ".join(sorted(s.split())) for s in shuffled) == sorted(
        " ".join(sorted(s.split())) for s in several for _ in range(3)
    )
    if bag:  # a bag-of-words encoder gives 1 (up to float32)
        np.testing.assert_allclose(table["value"], 1.0, atol=1e-5)
    else:  # the mean cosine of each sentence with its shuffled copies, by hand
        model = embedders["clip"]
        copies = iter(shuffled)
        pairs = [(s, next(copies)) for s in several for _ in range(3)]
        for layer in (0, 7, 12):
            salt = zlib.crc32(b"eos") % 7
            cosines = []
            for original, copy in pairs:
                u = model.vector(original, layer + salt).astype(np.float32).astype(np.float64)
                v = model.vector(copy, layer + salt).astype(np.float32).astype(np.float64)
                cosines.append(u @ v / np.linalg.norm(u) / np.linalg.norm(v))
            got = table.query(f"variant == 'eos' and layer == '{layer}'")["value"].item()
            assert got == pytest.approx(np.mean(cosines), abs=1e-9)
