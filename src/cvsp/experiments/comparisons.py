"""The contrasts of the chapter "Images or contrast?" and the published anchors of chapter 7.

:func:`contrasts` gives the paired differences of each pair of :data:`CONTRASTS`
(CLIP − GPT-2, and each SimCSE − BERT), :func:`anchor_scores` our STS-B score for each
published number of :data:`cvsp.paper.ANCHORS`. Used by :mod:`cvsp.reproduce` and
chapter 7.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from cvsp import metrics, paper, stats
from cvsp.cached import EmbedderLike
from cvsp.experiments.bootstrap import Replicates, replicates
from cvsp.experiments.choices import CWE_VARIANT
from cvsp.experiments.inputs import STS_TASK, SentenceData, WordData
from cvsp.experiments.paired import COMPARED, interval_table, paired_differences

# The contrasts of the chapter "Images or contrast?": (model, base, compared token choices).
SAME_CHOICES: dict[str, tuple[tuple[str, str], ...]] = {
    "cwe_self_similarity": ((CWE_VARIANT, CWE_VARIANT),),
    "word_similarity": (("last_subtoken", "last_subtoken"), ("cls", "cls")),
    "sts": (("cls", "cls"), ("mean", "mean")),
    "sentence_self_similarity": (("cls", "cls"), ("mean", "mean")),
}
CONTRASTS: tuple[tuple[str, str, Mapping[str, Sequence[tuple[str, str]]]], ...] = (
    ("clip", "gpt2", COMPARED),  # images and contrast (and data, size, tokenizer)
    ("simcse_unsup", "bert", SAME_CHOICES),  # contrast alone, on text (dropout noise)
    ("simcse_sup", "bert", SAME_CHOICES),  # contrast alone, on text (NLI pairs)
)
CONTRAST_COLUMNS: list[str] = [
    "result",
    "task",
    "model",
    "base",
    "variant",
    "base_variant",
    "layer",
    "difference",
    "ci_low",
    "ci_high",
    "t",
    "p",
]


def contrasts(
    embedders,
    words: WordData,
    sentences: SentenceData,
    boot,
    workers: int | None = None,
    reps: Mapping[tuple, Replicates] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Intervals of every series and the paired differences of each contrast of
    :data:`CONTRASTS` whose two models are among ``embedders``: ``(intervals, contrasts)``.

    ``contrasts`` has :data:`CONTRAST_COLUMNS`; all pairs share one set of resample
    indices per task, so every difference is paired. ``reps``: the replicates of these
    models, where the caller has them.
    """
    reps = replicates(embedders, words, sentences, boot, workers) if reps is None else reps
    return interval_table(reps, boot), contrast_table(reps, boot)


def contrast_table(reps: Mapping[tuple, Replicates], boot) -> pd.DataFrame:
    """The paired differences (:data:`CONTRAST_COLUMNS`) of each contrast of
    :data:`CONTRASTS` whose two models have series in ``reps``."""
    models = {key for _, key, _, _ in reps}
    diffs = [
        (result, task, model, base, *rest)
        for model, base, compared in CONTRASTS
        if model in models and base in models
        for result, task, *rest in paired_differences(reps, model, base, compared, boot)
    ]
    return pd.DataFrame(diffs, columns=CONTRAST_COLUMNS)


def anchor_scores(
    embedders: Mapping[str, EmbedderLike], sentences: SentenceData, boot
) -> pd.DataFrame:
    """Our STS-B score for each published anchor of :data:`cvsp.paper.ANCHORS` whose model
    runs here, read as the publication reads it, with its 95 % bootstrap interval (the
    resamples of :func:`cvsp.experiments.uncertainty` for STS): ``model, readout, published, ours, ci_low,
    ci_high, n, source``."""
    left, right = sentences.pair_positions()
    gold = sentences.gold
    resamples = stats.resample_indices(len(gold), boot.replicates, boot.seed_for(STS_TASK))
    rows = []
    for anchor in paper.ANCHORS:
        if anchor.model not in embedders:
            continue
        emb = embedders[anchor.model](sentences.sentences, [anchor.variant])[anchor.variant]
        vectors = np.mean([emb.layer(layer) for layer in anchor.layers], axis=0)
        cosines = metrics.indexed_pair_cosines(vectors, left, right)
        low, high = stats.percentile_interval(
            stats.correlation_replicates(cosines, gold, resamples), boot.level
        )
        rows.append(
            (
                anchor.model,
                anchor.readout,
                anchor.value,
                metrics.spearman(cosines, gold),
                float(low[0]),
                float(high[0]),
                len(gold),
                anchor.source,
            )
        )
    return pd.DataFrame(
        rows, columns=["model", "readout", "published", "ours", "ci_low", "ci_high", "n", "source"]
    )
