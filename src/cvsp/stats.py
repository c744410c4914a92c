"""Uncertainty: seeded bootstrap intervals, paired model comparisons, Williams' t.

Every interval is a percentile bootstrap over the items a number rests on (word pairs,
sentence pairs, lexicon words, sentences). The resample indices depend only on the
number of items and a seed, so both models and every layer of one task are resampled
with the **same** indices: differences between them are paired. All replicates are
computed at once (ranks of every replicate in one call, one matrix product for the
self-similarities), never in a Python loop over replicates or items.

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
    return np.bincount(flat, minlength=indices.shape[0] * n).reshape(indices.shape[0], n).astype(np.float64)


def percentile_interval(replicates: np.ndarray, level: float = 0.95, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval along ``axis``, ignoring undefined (NaN) replicates."""
    tail = (1.0 - level) / 2.0 * 100.0
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # an undefined layer: all NaN, NaN interval
        low = np.nanpercentile(replicates, tail, axis=axis)
        high = np.nanpercentile(replicates, 100.0 - tail, axis=axis)
    return low, high


def _weighted_moments(x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted mean and centred sum of squares of ``x`` per replicate (``x`` ``[B, n]`` or ``[n]``)."""
    total = w.sum(axis=1)
    wx = w * x
    mean = wx.sum(axis=1) / total
    return mean, np.einsum("bn,bn->b", wx, np.broadcast_to(x, w.shape)) - total * mean**2


def _weighted_pearson(x: np.ndarray, y: np.ndarray, w: np.ndarray, y_moments=None) -> np.ndarray:
    """Pearson r of ``x`` and ``y`` (``[B, n]`` or ``[n]``) with item weights ``w`` ``[B, n]``."""
    mean_x, ss_x = _weighted_moments(x, w)
    mean_y, ss_y = y_moments if y_moments is not None else _weighted_moments(y, w)
    cross = np.einsum("bn,bn->b", w * np.broadcast_to(x, w.shape), np.broadcast_to(y, w.shape))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (cross - w.sum(axis=1) * mean_x * mean_y) / np.sqrt(ss_x * ss_y)
    return np.where((ss_x <= 1e-12 * np.abs(mean_x * mean_x * w.sum(axis=1)) + 1e-300)
                    | (ss_y <= 1e-12 * np.abs(mean_y * mean_y * w.sum(axis=1)) + 1e-300), np.nan, r)  # fmt: skip


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


def correlation_replicates(
    model: np.ndarray, gold: np.ndarray, indices: np.ndarray, method: str = "spearman"
) -> np.ndarray:
    """Correlation of each layer's model scores with gold in every replicate: ``[B, L]``.

    ``model`` is ``[L, n]`` (or ``[n]``), ``gold`` ``[n]``. Spearman ranks every resample
    with ties averaged, exactly as :func:`scipy.stats.spearmanr` on the resampled items,
    from resample counts (:func:`resample_ranks`): no per-replicate sorting.
    """
    model = np.atleast_2d(np.asarray(model, dtype=np.float64))
    gold = np.asarray(gold, dtype=np.float64)
    counts = resample_counts(indices, gold.shape[0])
    y = resample_ranks(gold, counts) if method == "spearman" else gold[None, :]
    y_moments = _weighted_moments(y, counts)
    out = np.empty((indices.shape[0], model.shape[0]))
    for layer, scores in enumerate(model):
        x = resample_ranks(scores, counts) if method == "spearman" else scores[None, :]
        out[:, layer] = _weighted_pearson(x, y, counts, y_moments)
    return out


def weighted_self_similarity(units: np.ndarray, counts: np.ndarray, dtype: type = np.float32) -> np.ndarray:
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
    t = (r12 - r13) * np.sqrt((n - 1) * (1 + r23)) / np.sqrt(
        2 * (n - 1) / (n - 3) * det + mean**2 * (1 - r23) ** 3
    )
    return float(t), float(2 * sps.t.sf(abs(t), n - 3))


def best_replicates(replicates: np.ndarray, statistic: str = "max") -> np.ndarray:
    """The best (max) or worst (min) layer chosen inside each replicate: ``[B]``."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmax(replicates, axis=1) if statistic == "max" else np.nanmin(replicates, axis=1)
