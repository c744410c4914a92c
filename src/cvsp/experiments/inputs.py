"""The inputs every result reads: the STS pairs and sentence corpus after CLIP's context
limit, the word tasks and the ValNorm lexicon, and where each item sits among the texts
embedded (the rows of an embedding array).

Used by every other module of :mod:`cvsp.experiments` and by :mod:`cvsp.released`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from cvsp import data
from cvsp.cache import texts_digest
from cvsp.cached import LayerEmbeddings
from cvsp.settings import Settings
from cvsp.tokens import fits_clip

# CLIP's limit, BOS and EOS included: longer sentences are left out for every model
CLIP_CONTEXT = 77
SENTENCE_TASK = "sts_sentences"  # the task name of the sentence corpus (self-similarities)
STS_TASK = "stsb"
VALNORM_TASK = "valnorm"


@dataclass(frozen=True)
class SentenceData:
    """STS pairs and the sentence corpus, after CLIP's 77-token limit.

    Sentences longer than the limit (BOS and EOS included) are left out for both
    models, and so is every STS pair that contains one.
    """

    pairs: pd.DataFrame  # score, sentence1, sentence2 (kept pairs)
    sentences: list[str]  # unique STS sentences that fit, first-appearance order
    excluded_pairs: int
    excluded_sentences: int

    def digests(self) -> dict[str, str]:
        """The digests of the corpus and of the STS pairs (parts of cache keys)."""
        return self._digests

    @cached_property
    def _digests(self) -> dict[str, str]:
        return {"sentences": texts_digest(self.sentences), "sts": _rows_digest(self.pairs)}

    @cached_property
    def index(self) -> dict[str, int]:
        """``sentence -> row`` in :attr:`sentences`, the order the embeddings come in."""
        return {sentence: i for i, sentence in enumerate(self.sentences)}

    def pair_positions(self, pairs: pd.DataFrame | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Rows of the two sentences of each pair (default: every kept STS pair)."""
        pairs = self.pairs if pairs is None else pairs
        return positions_of(self.index, pairs["sentence1"]), positions_of(
            self.index, pairs["sentence2"]
        )

    @property
    def gold(self) -> np.ndarray:
        """The STS-B gold score of each kept pair."""
        return self.pairs["score"].to_numpy()


@dataclass(frozen=True)
class WordData:
    """Word-pair tasks and the ValNorm lexicon."""

    pairs: Mapping[str, pd.DataFrame]  # task -> word1, word2, score
    lexicon: pd.DataFrame  # word, valence
    pleasant: tuple[str, ...] = data.PLEASANT
    unpleasant: tuple[str, ...] = data.UNPLEASANT

    def digests(self) -> dict[str, object]:
        """The digests of the vocabulary and of each task's pairs (parts of cache keys)."""
        return self._digests

    @cached_property
    def _digests(self) -> dict[str, object]:
        pairs = {task: _rows_digest(frame) for task, frame in self.pairs.items()}
        return {"words": texts_digest(self.vocabulary()), "pairs": pairs}

    def vocabulary(self) -> list[str]:
        """Every word the word-level results embed, sorted."""
        words = set(self.lexicon["word"]) | set(self.pleasant) | set(self.unpleasant)
        for frame in self.pairs.values():
            words |= set(frame["word1"]) | set(frame["word2"])
        return sorted(words)


def _rows_digest(frame: pd.DataFrame) -> str:
    """The digest of a table's rows, each the tab-joined text of its cells."""
    return texts_digest(frame.astype(str).agg("\t".join, axis=1).tolist())


def prepare_sentences(sts_table: pd.DataFrame, clip_tokenizer) -> SentenceData:
    """Apply CLIP's context limit to the STS table and build the sentence corpus."""
    corpus = data.unique_sentences(sts_table)
    fits = dict(zip(corpus, fits_clip(clip_tokenizer, corpus, CLIP_CONTEXT)))
    keep = sts_table["sentence1"].map(fits) & sts_table["sentence2"].map(fits)
    return SentenceData(
        pairs=sts_table[keep].reset_index(drop=True),
        sentences=[s for s in corpus if fits[s]],
        excluded_pairs=int((~keep).sum()),
        excluded_sentences=sum(not ok for ok in fits.values()),
    )


def load_word_data(settings: Settings) -> WordData:
    """The four word-pair tasks and the ValNorm lexicon, as the settings find them."""
    pairs = {task: data.load_word_pairs(task, settings) for task in data.WORD_PAIR_TASKS}
    return WordData(pairs, data.load_bellezza(settings))


def positions_of(index: Mapping[str, int], items: Sequence[str]) -> np.ndarray:
    """Rows of ``items`` among the embedded texts (``index``: text -> row)."""
    return np.array([index[item] for item in items], dtype=np.int64)


def vectors_of(emb: LayerEmbeddings, index: Mapping[str, int], items: Sequence[str]) -> np.ndarray:
    """The vectors (every layer) of ``items``."""
    return emb.values[positions_of(index, items)]
