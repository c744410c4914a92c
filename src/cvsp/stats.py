"""Uncertainty: seeded bootstrap intervals, paired model comparisons, Williams' t.

Every interval is a percentile bootstrap over the items a number rests on (word pairs,
sentence pairs, lexicon words, sentences). The resample indices depend only on the
number of items and a seed, so both models and every layer of one task are resampled
with the **same** indices: differences between them are paired. All replicates are
computed at once (one sort per layer ranks every replicate, the gold side of a task is
prepared once for all its series, one matrix product gives the self-similarities), never
in a Python loop over replicates; the one loop over items (:func:`running_sum`) adds
whole rows of all replicates at a time.

Used by :mod:`cvsp.experiments` (intervals of ``scores.csv``, ``differences.csv``).
"""

from __future__ import annotations

import warnings
import zlib
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

DEFAULT_REPLICATES = 2000


@dataclass(frozen=True)
class BootstrapSettings:
    """How intervals are computed: replicates, coverage and the seed of the resampling."""

    replicates: int = DEFAULT_REPLICATES
    level: float = 0.95
    seed: int = 0

    def seed_for(self, name: str) -> int:
        """A seed per task, stable across runs and Python versions."""
        return (self.seed * 1_000_003 + zlib.crc32(name.encode())) % (2**32)


def resample_indices(n: int, replicates: int, seed: int) -> np.ndarray:
    """``[replicates, n]`` indices drawn with replacement (seeded)."""
    return np.random.default_rng(seed).integers(0, n, size=(replicates, n))


def resample_counts(indices: np.ndarray, n: int) -> np.ndarray:
    """How often each item is drawn in each replicate: ``[replicates, n]``."""
    flat = (np.arange(indices.shape[0])[:, None] * n + indices).ravel()
    return (
        np.bincount(flat, minlength=indices.shape[0] * n)
        .reshape(indices.shape[0], n)
        .astype(np.float64)
    )


def percentile_interval(
    replicates: np.ndarray, level: float = 0.95, axis: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval along ``axis``, ignoring undefined (NaN) replicates."""
    tail = (1.0 - level) / 2.0 * 100.0
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # an undefined layer: all NaN, NaN interval
        low = np.nanpercentile(replicates, tail, axis=axis)
        high = np.nanpercentile(replicates, 100.0 - tail, axis=axis)
    return low, high


def _undefined(spread: np.ndarray, mean: np.ndarray, total: np.ndarray) -> np.ndarray:
    """Where a weighted variable is constant (up to rounding): its correlation is undefined."""
    return spread <= 1e-12 * np.abs(mean * mean * total) + 1e-300


def resample_ranks(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Rank of each item within each resample (ties averaged, as in ``rankdata``): ``[B, n]``.

    An item drawn ``w`` times, and items of equal value, share the average of the ranks
    their draws occupy, so sorting once serves every replicate.
    """
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    if len(starts) == len(values):  # no tied values: each item is its own group
        drawn = counts[:, order]
        ranks = np.empty_like(drawn)
        ranks[:, order] = np.cumsum(drawn, axis=1) - (drawn - 1) / 2
        return ranks
    group_counts = np.add.reduceat(counts[:, order], starts, axis=1)  # [B, G]
    below = np.cumsum(group_counts, axis=1) - group_counts
    group_rank = below + (group_counts + 1) / 2
    group_of_sorted = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(values)]))
    group_of_item = np.empty_like(group_of_sorted)
    group_of_item[order] = group_of_sorted
    return group_rank[:, group_of_item]


@dataclass(frozen=True)
class ResampledGold:
    """The gold side of every bootstrap correlation of one task, computed once.

    Arrays hold items on rows and replicates on columns (``[n, B]``), so reordering the
    items copies whole rows. Every series of the task (both models, every token choice
    and layer) reuses it, which also makes their replicates paired.
    """

    method: str
    counts: np.ndarray  # [n, B] draws of each item in each replicate
    weighted: np.ndarray  # [n, B] counts × gold (Spearman: × gold's rank in the resample)
    total: np.ndarray  # [B] draws per replicate
    mean: np.ndarray  # [B] weighted mean of gold (or of its ranks)
    spread: np.ndarray  # [B] weighted centred sum of squares of the same
    repeats: np.ndarray  # [B] Σ (w³ − w) / 12: the rank ties that repeated draws create

    @property
    def replicates(self) -> int:
        return self.counts.shape[1]


def resample_gold(gold: np.ndarray, indices: np.ndarray, method: str = "spearman") -> ResampledGold:
    """Prepare ``gold`` ``[n]`` for :func:`correlations` under the resamples ``indices`` ``[B, n]``."""
    if method not in ("spearman", "pearson"):
        raise ValueError(f"Unknown correlation {method!r}: use 'spearman' or 'pearson'.")
    gold = np.asarray(gold, dtype=np.float64)
    counts = resample_counts(indices, gold.shape[0])  # [B, n]
    y = (
        resample_ranks(gold, counts)
        if method == "spearman"
        else np.broadcast_to(gold, counts.shape)
    )
    total = counts.sum(axis=1)
    weighted = counts * y
    mean = weighted.sum(axis=1) / total
    spread = np.einsum("bn,bn->b", weighted, y) - total * mean**2
    return ResampledGold(
        method,
        np.ascontiguousarray(counts.T),
        np.ascontiguousarray(weighted.T),
        total,
        mean,
        spread,
        _cube_excess(counts.T),
    )


def _cube_excess(w: np.ndarray) -> np.ndarray:
    """``Σ (w³ − w) / 12`` over axis 0: how much ties of ``w`` draws shrink a rank spread."""
    return ((w * w * w - w).sum(axis=0)) / 12


def running_sum(rows: np.ndarray) -> np.ndarray:
    """``np.cumsum(rows, axis=0)`` of an ``[n, B]`` array: the same sums in the same order.

    Taken row after row, each step one vector addition over all ``B`` columns: for the
    ``[items, replicates]`` arrays of :func:`correlations` this is about four times as fast
    as numpy's cumsum along the first axis, which does not vectorise over the columns.
    """
    if (
        rows.ndim != 2 or rows.shape[1] < 64 or len(rows) == 0
    ):  # few columns: the loop would cost more
        return np.cumsum(rows, axis=0)
    out = np.empty_like(rows)
    out[0] = rows[0]
    for i in range(1, len(rows)):
        np.add(out[i - 1], rows[i], out=out[i])
    return out


def _share_tied_ranks(
    running: np.ndarray, drawn: np.ndarray, tied: np.ndarray, ties: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Ranks of sorted items when some neighbours tie (``tied[i]``: item ``i + 1`` equals ``i``).

    ``running`` holds the running sum of ``drawn`` ``[n, B]``; every draw of a tied group
    takes the group's average rank. Only the rows of tied groups are recomputed, and the
    tie term ``ties`` (that of the items alone) is corrected for the merged groups.
    """
    in_group = np.r_[tied, False] | np.r_[False, tied]  # items that tie with a neighbour
    first = np.flatnonzero(in_group & ~np.r_[False, tied])
    last = np.flatnonzero(in_group & ~np.r_[tied, False])
    through = running[last]  # draws up to each group's end [G, B]
    before = np.where((first > 0)[:, None], running[np.maximum(first - 1, 0)], 0.0)
    group = through - before
    members = np.flatnonzero(in_group)
    ties = ties - _cube_excess(drawn[members]) + _cube_excess(group)
    running -= (drawn - 1) / 2
    running[members] = (through - (group - 1) / 2)[
        np.repeat(np.arange(len(first)), last - first + 1)
    ]
    return running, ties


def correlations(model: np.ndarray, gold: ResampledGold) -> np.ndarray:
    """Correlation of each layer's scores (``[L, n]`` or ``[n]``) with gold in every replicate: ``[B, L]``.

    Spearman is Pearson on the ranks within each resample, ties averaged, exactly as
    :func:`scipy.stats.spearmanr` on the resampled items. With draws sorted by the
    model's score, ranks are a running sum of the draws, their mean is ``(N + 1) / 2``
    and their spread ``(N³ − N − Σ (G³ − G)) / 12`` over groups ``G`` of tied draws, so a
    layer costs one sort, one running sum and one dot product per replicate.
    """
    model = np.atleast_2d(np.asarray(model, dtype=np.float64))
    total = gold.total
    if gold.method == "pearson":
        sums = model @ gold.counts  # [L, B]
        mean = sums / total
        spread = (model**2) @ gold.counts - total * mean**2
        cross = model @ gold.weighted - total * mean * gold.mean
    else:
        mean = np.broadcast_to((total + 1) / 2, (model.shape[0], gold.replicates))
        spread = np.empty((model.shape[0], gold.replicates))
        cross = np.empty_like(spread)
        for layer, scores in enumerate(model):
            order = np.argsort(scores, kind="stable")
            ordered = scores[order]
            drawn = gold.counts[order]
            ranks = running_sum(drawn)  # draws up to and including each item
            ties = gold.repeats
            tied = ordered[1:] == ordered[:-1]
            if tied.any():  # tied scores share the average rank of their group's draws
                ranks, ties = _share_tied_ranks(ranks, drawn, tied, ties)
            else:
                ranks -= (drawn - 1) / 2
            cross[layer] = (
                np.einsum("nb,nb->b", ranks, gold.weighted[order]) - total * mean[layer] * gold.mean
            )
            spread[layer] = (total**3 - total) / 12 - ties
    with np.errstate(invalid="ignore", divide="ignore"):
        r = cross / np.sqrt(spread * gold.spread)
    undefined = _undefined(spread, mean, total) | _undefined(gold.spread, gold.mean, total)
    return np.where(undefined, np.nan, r).T


def correlation_replicates(
    model: np.ndarray, gold: np.ndarray, indices: np.ndarray, method: str = "spearman"
) -> np.ndarray:
    """Correlation of each layer's model scores with gold in every replicate: ``[B, L]``.

    ``model`` is ``[L, n]`` (or ``[n]``), ``gold`` ``[n]``, ``indices`` ``[B, n]``. To
    score several series against the same gold, call :func:`resample_gold` once and
    :func:`correlations` per series.
    """
    return correlations(model, resample_gold(gold, indices, method))


def weighted_self_similarity(
    units: np.ndarray, counts: np.ndarray, dtype: type = np.float32
) -> np.ndarray:
    """Self-similarity of resampled unit vectors in O(n·d): ``[B]`` or ``[B, L]``.

    With resample counts ``w`` and unit vectors ``u``: ``S = (|Σ w u|² − Σ w²) /
    ((Σ w)² − Σ w²)``, the mean cosine over pairs of distinct items ``i ≠ j`` weighted by
    ``w_i w_j`` (two draws of the same item do not form a pair, as in the statistic
    itself, which pairs distinct sentences). ``units`` is ``[n, d]`` or ``[n, L, d]``.

    The sums ``Σ w u`` (one matrix product, the whole cost) are taken in ``dtype``:
    float32 by default, twice as fast as float64 and within about 1e-6 of it, far below
    the width of any interval; the rest is float64.
    """
    total = counts.sum(axis=1)
    square = (counts**2).sum(axis=1)
    denominator = total**2 - square
    weights = counts.astype(dtype)
    if units.ndim == 2:
        summed = (weights @ units.astype(dtype)).astype(np.float64)  # [B, d]
        return ((summed**2).sum(axis=1) - square) / denominator
    values = np.empty((counts.shape[0], units.shape[1]))
    for layer in range(units.shape[1]):
        summed = (weights @ units[:, layer].astype(dtype)).astype(np.float64)
        values[:, layer] = ((summed**2).sum(axis=1) - square) / denominator
    return values


def williams_t(r12: float, r13: float, r23: float, n: int) -> tuple[float, float]:
    """Williams' t for two dependent correlations sharing variable 1 (Steiger 1980, eq. 7).

    Tests r12 = r13 (e.g. each model's correlation with the same gold ratings) given
    r23 (the correlation between the two models' scores); ``n − 3`` degrees of freedom.
    Returns ``(t, two-sided p)``.
    """
    det = 1 - r12**2 - r13**2 - r23**2 + 2 * r12 * r13 * r23
    mean = (r12 + r13) / 2
    with np.errstate(
        invalid="ignore", divide="ignore"
    ):  # identical scores (r23 = 1): t undefined, NaN
        t = (
            (r12 - r13)
            * np.sqrt((n - 1) * (1 + r23))
            / np.sqrt(2 * (n - 1) / (n - 3) * det + mean**2 * (1 - r23) ** 3)
        )
    return float(t), float(2 * sps.t.sf(abs(t), n - 3))


def best_replicates(replicates: np.ndarray, statistic: str = "max") -> np.ndarray:
    """The best (max) or worst (min) layer chosen inside each replicate: ``[B]``."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        return (
            np.nanmax(replicates, axis=1) if statistic == "max" else np.nanmin(replicates, axis=1)
        )
