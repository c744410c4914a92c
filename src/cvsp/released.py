"""What the authors' released code computes where it differs from this book.

The released code is :data:`RELEASED` (``wolferobert3/clip_contrastive_acl_2022`` at
commit ``36108ea6``). Its STS script, ``sentence_evaluations.py``:

- reads ``sts-test.csv`` with Python's ``csv.reader`` (lines 79-81), which splits on
  commas and honours double quotes although the file is tab-separated; joins each row's
  fields back with ``''`` (line 84), which deletes every comma outside a quoted stretch;
  then splits on tabs and keeps fields 4-6 (lines 87-88). 11 rows contain a ``"`` that
  opens a quoted field, which runs over the following line breaks and swallows 106
  lines of the file: 1,273 pairs remain, 11 of them corrupted;
- keeps the gold scores as strings (lines 89-93) and passes them to
  ``scipy.stats.spearmanr`` with the cosines (line 106). scipy stacks both inputs into
  one array (``np.column_stack``), so the cosines become strings too and both columns
  are ranked as strings;
- embeds the left column only for its sentence self-similarity, duplicates kept
  (line 113; line 112 builds the unique sentences, and line 114 only prints
  their number).

The readers below reproduce that, for the chapter "Reproducing the reproduction" only;
no result of the book uses them. Sentences longer than CLIP's 77 tokens would be left
out for both models, as in the book; none of the 1,273 released pairs is that long.
Its tables are in the book's tidy format (:mod:`cvsp.experiments.tables`). Used by
:mod:`cvsp.fidelity`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from cvsp import metrics
from cvsp.experiments import (
    SENTENCE_TASK,
    SENTENCE_VARIANTS,
    STS_TASK,
    per_layer,
    series_rows,
    tidy_table,
)
from cvsp.tokens import fits_clip

RELEASED = "wolferobert3/clip_contrastive_acl_2022@36108ea6fa4be58bea3bc68fd1d28f71140ab3a6"


def read_sts_as_released(text: str) -> pd.DataFrame:
    """The STS table as ``sentence_evaluations.py`` (lines 79-93) builds it.

    Columns ``score`` (a string, as there), ``sentence1``, ``sentence2``,
    ``swallowed`` (how many following lines of the file the row took in) and
    ``corrupted`` (whether it took in any).
    """
    rows = ["".join(fields) for fields in csv.reader(io.StringIO(text))]
    fields = [row.split("\t")[4:7] for row in rows]
    table = pd.DataFrame(data=fields, columns=["score", "sentence1", "sentence2"])
    swallowed = [row.count("\n") for row in rows]
    return table.assign(swallowed=swallowed, corrupted=[count > 0 for count in swallowed])


def spearman_as_released(cosines: Sequence[float], gold: Sequence[str]) -> float:
    """Spearman's rho as ``spearmanr(cosines, gold)`` computes it when ``gold`` holds strings.

    The cosines are float32 (the released code takes them from float32 hidden states);
    stacked with the strings they turn into their shortest decimal text, and both
    columns are ranked lexicographically (``"-0.2"`` after ``"-0.1"``, ``"10"`` before
    ``"2"``), then correlated (Pearson's r of the ranks, ties averaged).
    """
    stacked = np.column_stack((np.asarray(cosines, dtype=np.float32), np.asarray(gold, dtype=str)))
    ranks = np.apply_along_axis(stats.rankdata, 0, stacked)
    if (ranks == ranks[0]).all(axis=0).any():
        raise metrics.MetricError("A column is constant, so a correlation is undefined.")
    return float(np.corrcoef(ranks, rowvar=False)[0, 1])


def self_similarity_sentences_as_released(table: pd.DataFrame) -> list[str]:
    """The sentences the released self-similarity embeds: the left column, duplicates kept."""
    return list(table["sentence1"])


def _fits(table: pd.DataFrame, clip_tokenizer) -> pd.Series:
    return pd.Series(
        fits_clip(clip_tokenizer, list(table["sentence1"]))
        & fits_clip(clip_tokenizer, list(table["sentence2"])),
        index=table.index,
    )


def sts_as_released(
    embedders: Mapping, table: pd.DataFrame, clip_tokenizer, *, string_ranks: bool = True
) -> pd.DataFrame:
    """STS per layer on the released reader's pairs, in the book's tidy format.

    ``string_ranks`` (default ``True``, as released): rank cosines and gold scores as
    strings (:func:`spearman_as_released`); ``False`` ranks them as numbers, which
    separates the effect of the pairs from the effect of the ranking.
    """
    kept = table[_fits(table, clip_tokenizer)].reset_index(drop=True)
    gold = list(kept["score"])
    numeric = kept["score"].astype(float).to_numpy()
    frames = []
    for key, embed in embedders.items():
        for variant in SENTENCE_VARIANTS[embed.family]:
            left = embed(list(kept["sentence1"]), [variant])[variant]
            right = embed(list(kept["sentence2"]), [variant])[variant]
            cosines = metrics.pair_cosines(left.values, right.values)

            def score(layer: int) -> float:
                if string_ranks:
                    return spearman_as_released(cosines[:, layer], gold)
                return metrics.spearman(cosines[:, layer], numeric)

            values, notes = per_layer(score, len(left.layers))
            frames.append(
                series_rows("sts", key, variant, STS_TASK, left.layers, values, len(kept), notes)
            )
    return tidy_table(frames)


def sentence_self_similarity_as_released(
    embedders: Mapping, table: pd.DataFrame, clip_tokenizer
) -> pd.DataFrame:
    """Sentence self-similarity over the left column only, duplicates kept (line 113)."""
    sentences = [
        s
        for s, ok in zip(self_similarity_sentences_as_released(table), _fits(table, clip_tokenizer))
        if ok
    ]
    frames = []
    for key, embed in embedders.items():
        for variant, emb in embed(sentences, SENTENCE_VARIANTS[embed.family]).items():
            values = metrics.self_similarity(emb.values)
            frames.append(
                series_rows(
                    "sentence_self_similarity",
                    key,
                    variant,
                    SENTENCE_TASK,
                    emb.layers,
                    values,
                    len(sentences),
                )
            )
    return tidy_table(frames)
