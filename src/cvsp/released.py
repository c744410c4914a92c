"""What the authors' released code computes, as far as it differs from this book.

The released code (:data:`RELEASED`, file ``sentence_evaluations.py``) reads the STS
Benchmark with Python's ``csv`` reader, which splits on commas and honours double
quotes, although the file is tab-separated: joining the fields back deletes every comma outside a quoted stretch,
and 11 rows that contain a ``"`` open a quoted field that swallows the following lines
(106 of them), so 1,273 pairs remain, 11 of them corrupted. The gold scores stay strings
and are ranked as strings. Its sentence self-similarity embeds the left column only
(1,273 sentences, duplicates kept).

These readers reproduce that, for the chapter "Reproducing the reproduction" only; the
results of the book never use them.
"""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
from scipy import stats

RELEASED = "wolferobert3/clip_contrastive_acl_2022@36108ea6fa4be58bea3bc68fd1d28f71140ab3a6"


def read_sts_as_released(text: str) -> pd.DataFrame:
    """The STS table as ``sentence_evaluations.py`` (lines 79-93) builds it.

    Columns ``score`` (a string, as there), ``sentence1``, ``sentence2`` and
    ``corrupted``: whether the row swallowed following lines of the file.
    """
    rows = ["".join(fields) for fields in csv.reader(io.StringIO(text))]
    fields = [row.split("\t")[4:7] for row in rows]
    table = pd.DataFrame(data=fields, columns=["score", "sentence1", "sentence2"])
    return table.assign(corrupted=["\n" in row for row in rows])


def spearman_as_released(model_scores: np.ndarray, gold: list[str]) -> float:
    """Spearman's rho with the gold scores ranked as the strings they are (lexicographically)."""
    order = np.asarray(gold, dtype=str)
    return float(stats.pearsonr(stats.rankdata(model_scores), stats.rankdata(order)).statistic)


def self_similarity_sentences_as_released(table: pd.DataFrame) -> list[str]:
    """The sentences the released self-similarity embeds: the left column, duplicates kept."""
    return list(table["sentence1"])


def _fits(table: pd.DataFrame, clip_tokenizer) -> pd.Series:
    from cvsp.embeddings import fits_clip

    return pd.Series(fits_clip(clip_tokenizer, list(table["sentence1"]))
                     & fits_clip(clip_tokenizer, list(table["sentence2"])), index=table.index)  # fmt: skip


def sts_as_released(embedders, table: pd.DataFrame, clip_tokenizer) -> pd.DataFrame:
    """STS per layer as the released code scores it: its 1,273 pairs, gold ranked as strings.

    Pairs longer than CLIP's 77 tokens are left out for both models, as in the book.
    """
    from cvsp import experiments, metrics

    kept = table[_fits(table, clip_tokenizer)].reset_index(drop=True)
    frames = []
    for key, embed in embedders.items():
        for variant in experiments.SENTENCE_VARIANTS[embed.family]:
            left = embed(list(kept["sentence1"]), [variant])[variant]
            right = embed(list(kept["sentence2"]), [variant])[variant]
            cosines = metrics.pair_cosines(left.values, right.values)
            values = [spearman_as_released(cosines[:, layer], list(kept["score"])) for layer in range(len(left.layers))]
            frames.append(experiments._rows("sts", key, variant, experiments.STS_TASK, left.layers, values, len(kept)))
    return experiments._table(frames)


def sentence_self_similarity_as_released(embedders, table: pd.DataFrame, clip_tokenizer) -> pd.DataFrame:
    """Sentence self-similarity over the left column only, duplicates kept."""
    from cvsp import experiments, metrics

    sentences = [s for s, ok in zip(self_similarity_sentences_as_released(table), _fits(table, clip_tokenizer)) if ok]
    frames = []
    for key, embed in embedders.items():
        for variant, emb in embed(sentences, experiments.SENTENCE_VARIANTS[embed.family]).items():
            values = metrics.self_similarity(emb.values)
            frames.append(experiments._rows("sentence_self_similarity", key, variant, experiments.SENTENCE_TASK,
                                            emb.layers, values, len(sentences)))  # fmt: skip
    return experiments._table(frames)
