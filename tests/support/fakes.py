"""Embedders and a tokenizer without a model, and small inputs, for tests of what is
computed from vectors."""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd

from cvsp import data, experiments
from cvsp.cached import LayerEmbeddings
from cvsp.tokens import layers_for

DIM = 6  # the width of the made-up vectors
ROWS_PER_TASK = 8
LEXICON_ROWS = 12
ATTRIBUTE_STEP = 3  # every third pleasant and unpleasant word (not the package's default lists)


def _word_vector(word: str, layer: int) -> np.ndarray:
    return np.random.default_rng([zlib.crc32(word.encode()), layer]).normal(size=DIM)


class WordEmbedder:
    """An embedder without a model: each layer's vector of a text is a function of its words.

    ``bag=True``: the sum of the word vectors (order does not matter: a bag-of-words
    encoder); otherwise each word is weighted by its position, so order matters.
    ``pooler``: the BERT family's ``cls`` has a ``pooler`` layer as well.
    """

    def __init__(self, family: str, bag: bool = False, pooler: bool = False, salt: str = ""):
        self.family, self.bag, self.pooler, self.salt = family, bag, pooler, salt
        self.calls: list[tuple[str, ...]] = []

    def vector(self, text: str, layer: int) -> np.ndarray:
        words = text.split()
        weights = np.ones(len(words)) if self.bag else np.arange(1.0, len(words) + 1.0)
        return sum(w * _word_vector(self.salt + word, layer) for w, word in zip(weights, words))

    def __call__(self, texts, variants):
        self.calls.append(tuple(texts))
        out = {}
        for variant in variants:
            layers = layers_for(self.family, variant, self.pooler)
            salt = zlib.crc32(variant.encode()) % 7  # token choices give other vectors
            values = np.array(
                [[self.vector(t, i + salt) for i in range(len(layers))] for t in texts], np.float32
            )
            out[variant] = LayerEmbeddings(values, layers)
        return out


class WordTokenizer:
    """Enough of a tokenizer for :func:`cvsp.tokens.fits_clip`: one token per word."""

    def __call__(self, text, add_special_tokens=False):
        return {"input_ids": list(range(len(text.split())))}


def sentence_data(
    sentences: list[str], pairs: list[tuple[str, str, float]]
) -> experiments.SentenceData:
    table = pd.DataFrame(pairs, columns=["sentence1", "sentence2", "score"])[
        ["score", "sentence1", "sentence2"]
    ]
    return experiments.SentenceData(table, sentences, 0, 0)


def spread_words(settings) -> experiments.WordData:
    """A few rows of every word-pair task, spread over each file, a few lexicon words
    (shuffled) and a third of the attribute words."""
    full = experiments.load_word_data(settings)

    def spread(frame: pd.DataFrame, rows: int) -> pd.DataFrame:
        step = max(1, len(frame) // rows)
        return frame.iloc[::step].iloc[:rows].reset_index(drop=True)

    pairs = {task: spread(frame, ROWS_PER_TASK) for task, frame in full.pairs.items()}
    # shuffled: the file is alphabetical, so a lexicon read back in sorted order would still line up
    lexicon = (
        spread(full.lexicon, LEXICON_ROWS).sample(frac=1, random_state=0).reset_index(drop=True)
    )
    return experiments.WordData(
        pairs,
        lexicon,
        pleasant=data.PLEASANT[::ATTRIBUTE_STEP],
        unpleasant=data.UNPLEASANT[1::ATTRIBUTE_STEP],
    )
