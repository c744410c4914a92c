"""The paper's four results, each a function returning a tidy table (:mod:`.tables`).

| function | result | chapter |
| --- | --- | --- |
| :func:`cwe_self_similarity` | ``cwe_self_similarity`` | ``01_cwe_anisotropy`` |
| :func:`word_similarity` | ``word_similarity`` | ``02_word_similarity`` |
| :func:`sts` | ``sts`` | ``03_sts`` |
| :func:`sentence_self_similarity` | ``sentence_self_similarity`` | ``04_sentence_self_similarity`` |

:func:`run_all` computes all four (``cvsp reproduce``, the results page).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from cvsp import metrics
from cvsp.cached import EmbedderLike
from cvsp.experiments.choices import (
    CWE_FAMILY_VARIANTS,
    SENTENCE_CHOICES,
    SENTENCE_VARIANTS,
    WORD_VARIANTS,
)
from cvsp.experiments.inputs import (
    SENTENCE_TASK,
    STS_TASK,
    VALNORM_TASK,
    SentenceData,
    WordData,
    positions_of,
    vectors_of,
)
from cvsp.experiments.tables import per_layer, series_rows, tidy_table


def _self_similarity(
    result: str,
    embedders: Mapping[str, EmbedderLike],
    sentences: list[str],
    variants: Mapping[str, Sequence[str]],
) -> pd.DataFrame:
    frames = []
    for key, embed in embedders.items():
        chosen = variants[embed.family]
        for variant, emb in embed(sentences, chosen).items():
            values = metrics.self_similarity(emb.values)
            frames.append(
                series_rows(result, key, variant, SENTENCE_TASK, emb.layers, values, len(sentences))
            )
    return tidy_table(frames)


def cwe_self_similarity(
    embedders: Mapping[str, EmbedderLike], sentences: SentenceData
) -> pd.DataFrame:
    """Result 1: self-similarity of one random token per sentence, by layer.

    ``random_token`` (the sentence's own tokens) is the default draw; the two other rules
    of :data:`cvsp.tokens.RANDOM_RULES` are measured beside it.
    """
    return _self_similarity(
        "cwe_self_similarity", embedders, sentences.sentences, CWE_FAMILY_VARIANTS
    )


def sentence_self_similarity(
    embedders: Mapping[str, EmbedderLike], sentences: SentenceData
) -> pd.DataFrame:
    """Result 4: self-similarity of sentence embeddings, by layer and token choice."""
    return _self_similarity(
        "sentence_self_similarity", embedders, sentences.sentences, SENTENCE_VARIANTS
    )


def word_similarity(embedders: Mapping[str, EmbedderLike], words: WordData) -> pd.DataFrame:
    """Result 2: Spearman rho on the word-pair tasks and Pearson r on ValNorm, by layer."""
    vocabulary = words.vocabulary()
    index = {word: i for i, word in enumerate(vocabulary)}
    valence = words.lexicon["valence"].to_numpy()
    frames = []
    for key, embed in embedders.items():
        for variant, emb in embed(vocabulary, WORD_VARIANTS[embed.family]).items():
            units = metrics.unit(emb.values)  # once for the four pair tasks
            for task, pairs in words.pairs.items():
                cosines = metrics.unit_pair_cosines(
                    units, positions_of(index, pairs["word1"]), positions_of(index, pairs["word2"])
                )
                human = pairs["score"].to_numpy()
                rho, notes = per_layer(
                    lambda layer: metrics.spearman(cosines[:, layer], human), len(emb.layers)
                )
                frames.append(
                    series_rows(
                        "word_similarity", key, variant, task, emb.layers, rho, len(pairs), notes
                    )
                )
            lexicon = vectors_of(emb, index, words.lexicon["word"])
            pleasant = vectors_of(emb, index, words.pleasant)
            unpleasant = vectors_of(emb, index, words.unpleasant)
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
                series_rows(
                    "word_similarity",
                    key,
                    variant,
                    VALNORM_TASK,
                    emb.layers,
                    r,
                    len(valence),
                    notes,
                )
            )
    return tidy_table(frames)


def sts(
    embedders: Mapping[str, EmbedderLike], sentences: SentenceData, cosines_out: dict | None = None
) -> pd.DataFrame:
    """Result 3: Spearman rho between sentence-pair cosines and STS-B gold scores.

    ``cosines_out``: receives each series' layer names and pair cosines ``[pairs, layers]``
    under ``(model, variant)``, for a caller that needs them again (chapter 6's intervals)."""
    left, right = sentences.pair_positions()
    gold = sentences.gold
    frames = []
    for key, embed in embedders.items():
        for variant, emb in embed(sentences.sentences, SENTENCE_VARIANTS[embed.family]).items():
            cosines = metrics.indexed_pair_cosines(emb.values, left, right)
            if cosines_out is not None:
                cosines_out[(key, variant)] = (emb.layers, cosines)
            rho, notes = per_layer(
                lambda layer: metrics.spearman(cosines[:, layer], gold), len(emb.layers)
            )
            frames.append(
                series_rows("sts", key, variant, STS_TASK, emb.layers, rho, len(gold), notes)
            )
    return tidy_table(frames)


def run_all(
    embedders: Mapping[str, EmbedderLike], words: WordData, sentences: SentenceData
) -> pd.DataFrame:
    """All four results in one table, in a fixed row order."""
    for (
        embed
    ) in embedders.values():  # every choice read of the sentences, in one pass per input form
        embed(sentences.sentences, SENTENCE_CHOICES[embed.family])
    return tidy_table(
        [
            cwe_self_similarity(embedders, sentences),
            word_similarity(embedders, words),
            sts(embedders, sentences),
            sentence_self_similarity(embedders, sentences),
        ]
    )
