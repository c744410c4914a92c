"""The paper's four results, each a function returning a tidy table.

Every table has the columns of :data:`COLUMNS`: ``result`` (which result), ``model``
(``gpt2``/``clip``), ``variant`` (token choice), ``task`` (dataset), ``layer`` (``0``..``12``,
plus ``final_ln`` and ``projection`` for CLIP's EOS token), ``value``, ``n`` (how many
vectors, pairs or words the value rests on) and ``note``, empty unless ``value`` is NaN,
when it says why the value is undefined.

| function | result | chapter |
| --- | --- | --- |
| :func:`cwe_self_similarity` | ``cwe_self_similarity`` | ``01_cwe_anisotropy`` |
| :func:`word_similarity` | ``word_similarity`` | ``02_word_similarity`` |
| :func:`sts` | ``sts`` | ``03_sts`` |
| :func:`sentence_self_similarity` | ``sentence_self_similarity`` | ``04_sentence_self_similarity`` |
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cvsp import data, metrics
from cvsp.embeddings import Embedder, LayerEmbeddings, fits_clip
from cvsp.settings import Settings

COLUMNS: list[str] = ["result", "model", "variant", "task", "layer", "value", "n", "note"]
RESULTS: tuple[str, ...] = (
    "cwe_self_similarity", "word_similarity", "sts", "sentence_self_similarity",
)  # fmt: skip
CLIP_CONTEXT = 77

# Token choices of each result, by model family.
WORD_VARIANTS: dict[str, tuple[str, ...]] = {
    "gpt2": ("last_subtoken", "eos"),
    "clip": ("last_subtoken", "eos"),
}
SENTENCE_VARIANTS: dict[str, tuple[str, ...]] = {
    "gpt2": ("last_token", "eos", "mean", "mean_no_first"),
    "clip": ("eos", "mean"),
}
CWE_VARIANT = "random_token"  # the default draw: one of the sentence's own tokens
CWE_VARIANTS: tuple[str, ...] = (CWE_VARIANT, "random_token_no_first", "random_token_released")
SENTENCE_TASK = "sts_sentences"
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


@dataclass(frozen=True)
class WordData:
    """Word-pair tasks and the ValNorm lexicon."""

    pairs: Mapping[str, pd.DataFrame]  # task -> word1, word2, score
    lexicon: pd.DataFrame  # word, valence
    pleasant: tuple[str, ...] = data.PLEASANT
    unpleasant: tuple[str, ...] = data.UNPLEASANT

    def vocabulary(self) -> list[str]:
        """Every word the word-level results embed, sorted."""
        words = set(self.lexicon["word"]) | set(self.pleasant) | set(self.unpleasant)
        for frame in self.pairs.values():
            words |= set(frame["word1"]) | set(frame["word2"])
        return sorted(words)


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
    pairs = {task: data.load_word_pairs(task, settings) for task in data.WORD_PAIR_TASKS}
    return WordData(pairs, data.load_bellezza(settings))


def _rows(
    result: str, model: str, variant: str, task: str,
    layers: Sequence[str], values: np.ndarray, n: int, notes: Sequence[str] | None = None,
) -> pd.DataFrame:  # fmt: skip
    return pd.DataFrame(
        {
            "result": result, "model": model, "variant": variant, "task": task,
            "layer": list(layers), "value": np.asarray(values, dtype=float), "n": n,
            "note": list(notes) if notes is not None else "",
        }  # fmt: skip
    )


def per_layer(score, n_layers: int) -> tuple[np.ndarray, list[str]]:
    """``score(layer)`` for every layer; where it is undefined, NaN and the reason.

    The one expected case: at layer 0 the EOS vector is the EOS token's embedding plus a
    position embedding, so texts of equal token length get identical vectors, and when
    every word of a task has the same length, every cosine is the same.
    """
    values, notes = [], []
    for layer in range(n_layers):
        try:
            values.append(score(layer))
            notes.append("")
        except metrics.MetricError as error:
            values.append(float("nan"))
            notes.append(f"undefined: {error}")
    return np.array(values), notes


def _table(frames: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(frames, ignore_index=True)[COLUMNS]


def _self_similarity(
    result: str, embedders: Mapping[str, Embedder], sentences: list[str],
    variants: Mapping[str, Sequence[str]],
) -> pd.DataFrame:  # fmt: skip
    frames = []
    for key, embed in embedders.items():
        chosen = variants[embed.family]
        for variant, emb in embed(sentences, chosen).items():
            values = metrics.self_similarity(emb.values)
            frames.append(_rows(result, key, variant, SENTENCE_TASK, emb.layers, values, len(sentences)))
    return _table(frames)


def cwe_self_similarity(embedders: Mapping[str, Embedder], sentences: SentenceData) -> pd.DataFrame:
    """Result 1: self-similarity of one random token per sentence, by layer.

    ``random_token`` (the sentence's own tokens) is the default draw; the two other rules
    of :data:`cvsp.embeddings.RANDOM_RULES` are measured beside it.
    """
    variants = {family: CWE_VARIANTS for family in ("gpt2", "clip")}
    return _self_similarity("cwe_self_similarity", embedders, sentences.sentences, variants)


def sentence_self_similarity(
    embedders: Mapping[str, Embedder], sentences: SentenceData
) -> pd.DataFrame:
    """Result 4: self-similarity of sentence embeddings, by layer and token choice."""
    return _self_similarity(
        "sentence_self_similarity", embedders, sentences.sentences, SENTENCE_VARIANTS
    )


def _positions(index: Mapping[str, int], items: Sequence[str]) -> np.ndarray:
    return np.array([index[item] for item in items], dtype=np.int64)


def _lookup(emb: LayerEmbeddings, index: Mapping[str, int], items: Sequence[str]) -> np.ndarray:
    return emb.values[_positions(index, items)]


def word_similarity(embedders: Mapping[str, Embedder], words: WordData) -> pd.DataFrame:
    """Result 2: Spearman rho on the word-pair tasks and Pearson r on ValNorm, by layer."""
    vocabulary = words.vocabulary()
    index = {word: i for i, word in enumerate(vocabulary)}
    valence = words.lexicon["valence"].to_numpy()
    frames = []
    for key, embed in embedders.items():
        for variant, emb in embed(vocabulary, WORD_VARIANTS[embed.family]).items():
            for task, pairs in words.pairs.items():
                cosines = metrics.indexed_pair_cosines(
                    emb.values, _positions(index, pairs["word1"]), _positions(index, pairs["word2"])
                )
                human = pairs["score"].to_numpy()
                rho, notes = per_layer(
                    lambda layer: metrics.spearman(cosines[:, layer], human), len(emb.layers)
                )
                frames.append(
                    _rows("word_similarity", key, variant, task, emb.layers, rho, len(pairs), notes)
                )
            lexicon = _lookup(emb, index, words.lexicon["word"])
            pleasant = _lookup(emb, index, words.pleasant)
            unpleasant = _lookup(emb, index, words.unpleasant)
            r, notes = per_layer(
                lambda layer: metrics.pearson(
                    metrics.valnorm_effect_sizes(
                        lexicon[:, layer], pleasant[:, layer], unpleasant[:, layer]
                    ),
                    valence,
                ),
                len(emb.layers),
            )
            frames.append(
                _rows("word_similarity", key, variant, VALNORM_TASK, emb.layers, r, len(valence), notes)
            )
    return _table(frames)


def sts(embedders: Mapping[str, Embedder], sentences: SentenceData) -> pd.DataFrame:
    """Result 3: Spearman rho between sentence-pair cosines and STS-B gold scores."""
    index = {sentence: i for i, sentence in enumerate(sentences.sentences)}
    pairs = sentences.pairs
    gold = pairs["score"].to_numpy()
    frames = []
    for key, embed in embedders.items():
        for variant, emb in embed(sentences.sentences, SENTENCE_VARIANTS[embed.family]).items():
            cosines = metrics.indexed_pair_cosines(
                emb.values, _positions(index, pairs["sentence1"]), _positions(index, pairs["sentence2"])
            )
            rho, notes = per_layer(
                lambda layer: metrics.spearman(cosines[:, layer], gold), len(emb.layers)
            )
            frames.append(_rows("sts", key, variant, STS_TASK, emb.layers, rho, len(pairs), notes))
    return _table(frames)


def run_all(
    embedders: Mapping[str, Embedder], words: WordData, sentences: SentenceData
) -> pd.DataFrame:
    """All four results in one table, in a fixed row order."""
    return _table(
        [
            cwe_self_similarity(embedders, sentences),
            word_similarity(embedders, words),
            sts(embedders, sentences),
            sentence_self_similarity(embedders, sentences),
        ]
    )


def cwe_corpus_size(
    embedders: Mapping[str, Embedder], sentences: SentenceData,
    sizes: Sequence[int] = (250, 500, 1000, 2000), repeats: int = 5, seed: int = 0,
) -> pd.DataFrame:  # fmt: skip
    """CWE self-similarity on seeded random subsets of the sentence corpus, by layer.

    Columns ``model, size, repeat, layer, value``; the full corpus is one more size with
    one repeat. No forward pass beyond the cached ``random_token`` draw.
    """
    rng = np.random.default_rng(seed)
    n = len(sentences.sentences)
    subsets = [(size, r, rng.choice(n, size, replace=False)) for size in sizes if size < n for r in range(repeats)]
    subsets.append((n, 0, np.arange(n)))
    rows = []
    for key, embed in embedders.items():
        values = embed(sentences.sentences, [CWE_VARIANT])[CWE_VARIANT]
        for size, repeat, chosen in subsets:
            for layer, value in zip(values.layers, metrics.self_similarity(values.values[chosen])):
                rows.append((key, size, repeat, layer, float(value)))
    return pd.DataFrame(rows, columns=["model", "size", "repeat", "layer", "value"])


def cwe_over_seeds(
    embedders: Mapping[str, Embedder], sentences: SentenceData, seeds: Sequence[int] = tuple(range(5)),
    variant: str = CWE_VARIANT,
) -> pd.DataFrame:  # fmt: skip
    """CWE self-similarity for several seeds of the token draw: ``model, seed, layer, value``.

    All seeds of a model share one forward pass per five seeds (see
    :meth:`cvsp.embeddings.Embedder.random_draws`), and each draw is cached.
    """
    rows = []
    for key, embed in embedders.items():
        for seed, emb in embed.random_draws(sentences.sentences, variant, seeds).items():
            for layer, value in zip(emb.layers, metrics.self_similarity(emb.values)):
                rows.append((key, seed, layer, float(value)))
    return pd.DataFrame(rows, columns=["model", "seed", "layer", "value"])
