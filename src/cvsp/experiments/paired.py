"""Intervals, paired differences and the claims' intervals, from bootstrap replicates.

Every table here is computed from :func:`.bootstrap.replicates` (one set of resample
indices per task, shared by every model), so a difference between two models is paired:
its interval is that of the replicate-by-replicate difference. :func:`uncertainty` gives
the tables of ``cvsp reproduce``. Used by :mod:`cvsp.intervals`, :mod:`.comparisons` and
:mod:`.beyond`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import numpy as np
import pandas as pd

from cvsp import metrics, paper, stats
from cvsp.experiments.bootstrap import Replicates, replicates
from cvsp.experiments.inputs import SentenceData, WordData
from cvsp.registry import hidden_count

# Which CLIP token choice is compared with which GPT-2 one, per result (paired differences).
COMPARED: dict[str, tuple[tuple[str, str], ...]] = {
    "cwe_self_similarity": (("random_token", "random_token"),),
    "word_similarity": (("last_subtoken", "last_subtoken"), ("eos", "eos")),
    "sts": (("eos", "last_token"), ("eos", "eos"), ("mean", "mean")),
    "sentence_self_similarity": (("eos", "eos"), ("mean", "mean")),
}


DIFFERENCE_COLUMNS = ["result", "task", "clip_variant", "gpt2_variant", "layer", "difference"]
DIFFERENCE_COLUMNS += ["ci_low", "ci_high", "t", "p"]


def uncertainty(
    embedders,
    words: WordData,
    sentences: SentenceData,
    boot,
    workers: int | None = None,
    reps: Mapping[tuple, Replicates] | None = None,
) -> tuple[pd.DataFrame, ...]:
    """Bootstrap intervals of the series, the paired CLIP − GPT-2 differences, the claims.

    Returns ``(intervals, differences, claims)``: ``intervals`` has ``result, model, variant,
    task, layer, ci_low, ci_high``; ``differences`` one row per compared pair of token
    choices and layer (and ``best`` for the best layer 0-12, chosen inside each
    replicate): ``difference``, ``ci_low``, ``ci_high``, and for correlations Williams'
    ``t`` and ``p`` (on ranks for Spearman); ``claims`` the interval of our number for
    each claim of :mod:`cvsp.paper`. ``reps``: the replicates of these models, where the
    caller has them (:func:`cvsp.intervals.model_replicates` caches them per model).
    """
    reps = replicates(embedders, words, sentences, boot, workers) if reps is None else reps
    intervals = interval_table(reps, boot)
    diffs = paired_differences(reps, "clip", "gpt2", COMPARED, boot)
    differences = pd.DataFrame(diffs, columns=DIFFERENCE_COLUMNS)
    return intervals, differences, claim_intervals(reps, boot)


def interval_table(reps: dict[tuple, Replicates], boot) -> pd.DataFrame:
    """``result, model, variant, task, layer, ci_low, ci_high`` of every series."""
    rows = []
    for (result, model, variant, task), r in reps.items():
        low, high = stats.percentile_interval(r.values, boot.level)
        rows += [
            (result, model, variant, task, layer, lo, hi)
            for layer, lo, hi in zip(r.layers, low, high)
        ]
    return pd.DataFrame(
        rows, columns=["result", "model", "variant", "task", "layer", "ci_low", "ci_high"]
    )


def compared_series(
    reps: Mapping[tuple, Replicates],
    model: str,
    base: str,
    compared: Mapping[str, Sequence[tuple[str, str]]],
) -> Iterator[tuple[str, str, str, str, Replicates, Replicates]]:
    """``(result, task, variant, base_variant, ours, other)`` for each series of ``model``
    whose token choice ``compared`` pairs with a series of ``base`` on the same task, in
    the order of ``reps``."""
    for (result, key, variant, task), ours in reps.items():
        if key != model:
            continue
        for wanted, base_variant in compared.get(result, ()):
            other = reps.get((result, base, base_variant, task))
            if wanted == variant and other is not None:
                yield result, task, variant, base_variant, ours, other


def paired_differences(
    reps: dict[tuple, Replicates],
    model: str,
    base: str,
    compared: Mapping[str, Sequence[tuple[str, str]]],
    boot,
) -> list[tuple]:
    """Rows ``(result, task, variant, base_variant, layer, difference, ci_low, ci_high, t, p)``
    of ``model − base`` for the token choices ``compared`` pairs, per hidden layer and for
    the best layer (chosen inside each replicate; correlations only). The two models must
    have the same number of layers (models of different depths are compared on relative
    depth: :func:`cvsp.experiments.beyond.depth_differences`)."""
    rows = []
    for result, task, variant, base_variant, ours, other in compared_series(
        reps, model, base, compared
    ):
        depth = hidden_count(ours.layers)
        if depth != hidden_count(other.layers):
            raise ValueError(
                f"{model} and {base} differ in depth; compare them with depth_differences."
            )
        named = (result, task, variant, base_variant)
        rows += [(*named, *row) for row in _layer_differences(ours, other, depth, boot)]
        if ours.scores is not None or result == "word_similarity":  # correlations only
            rows.append((*named, *_best_difference(ours, other, depth, boot)))
    return rows


def _layer_differences(ours: Replicates, other: Replicates, depth: int, boot) -> list[tuple]:
    """``(layer, difference, ci_low, ci_high, t, p)`` per hidden layer; Williams' ``t`` and
    ``p`` for rank correlations (NaN otherwise)."""
    a, b = ours.values[:, :depth], other.values[:, :depth]
    point_a, point_b = ours.point[:depth], other.point[:depth]
    low, high = stats.percentile_interval(a - b, boot.level)
    rows = []
    for layer in range(depth):
        t = p = float("nan")
        if ours.scores is not None and np.isfinite(point_a[layer] + point_b[layer]):
            r23 = spearman_or_nan(ours.scores[layer], other.scores[layer])
            if np.isfinite(r23):
                t, p = stats.williams_t(point_a[layer], point_b[layer], r23, len(ours.gold))
        difference = point_a[layer] - point_b[layer]
        rows.append((str(layer), difference, low[layer], high[layer], t, p))
    return rows


def _best_difference(ours: Replicates, other: Replicates, depth: int, boot) -> tuple:
    """``("best", difference, ci_low, ci_high, nan, nan)``: the best layers' difference, the
    best layer chosen inside each replicate (a "best layer" means something for
    correlations only)."""
    a, b = ours.values[:, :depth], other.values[:, :depth]
    with np.errstate(all="ignore"):
        best = stats.best_replicates(a) - stats.best_replicates(b)
        lo, hi = stats.percentile_interval(best[:, None], boot.level)
    difference = np.nanmax(ours.point[:depth]) - np.nanmax(other.point[:depth])
    return ("best", difference, lo[0], hi[0], np.nan, np.nan)


def claim_intervals(
    reps: dict[tuple, Replicates], boot, claims: Sequence[paper.Reported] = paper.REPORTED
) -> pd.DataFrame:
    """Interval of our number for each claim of :mod:`cvsp.paper` (or of ``claims``), the
    best (or worst) layer and token choice re-selected inside each replicate."""
    rows = [(claim.text, *claim_interval(claim, reps, boot)) for claim in claims]
    return pd.DataFrame(rows, columns=["claim", "ci_low", "ci_high"])


def claim_interval(
    claim: paper.Reported, reps: Mapping[tuple, Replicates], boot
) -> tuple[float, float]:
    """The 95 % interval of our number for one claim, the best (or worst) layer and token
    choice re-chosen inside each replicate (NaN where no series of the claim was run)."""
    columns = []
    for variant in claim.variants:
        r = reps.get((claim.result, claim.model, variant, claim.task))
        if r is not None:
            columns += [
                r.values[:, r.layers.index(layer)] for layer in claim.layers if layer in r.layers
            ]
    if not columns:
        return float("nan"), float("nan")
    stacked = np.stack(columns, axis=1)
    reduced = (
        stacked[:, 0]
        if claim.statistic == "value"
        else stats.best_replicates(stacked, claim.statistic)
    )
    low, high = stats.percentile_interval(reduced[:, None], boot.level)
    return float(low[0]), float(high[0])


def spearman_or_nan(a: np.ndarray, b: np.ndarray) -> float:
    try:
        return metrics.spearman(a, b)
    except metrics.MetricError:
        return float("nan")
