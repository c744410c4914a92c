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
    rows = np.repeat(np.arange(indices.shape[0]), indices.shape[1])
    counts = np.zeros((indices.shape[0], n), dtype=np.float64)
    np.add.at(counts, (rows, indices.ravel()), 1.0)
    return counts


def percentile_interval(replicates: np.ndarray, level: float = 0.95, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval along ``axis``, ignoring undefined (NaN) replicates."""
    tail = (1.0 - level) / 2.0 * 100.0
    with np.errstate(all="ignore"):
        low = np.nanpercentile(replicates, tail, axis=axis)
        high = np.nanpercentile(replicates, 100.0 - tail, axis=axis)
    return low, high


def _pearson_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson r between matching rows of ``a`` and ``b`` (last axis); NaN where constant."""
    a = a - a.mean(axis=-1, keepdims=True)
    b = b - b.mean(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (a * b).sum(axis=-1) / np.sqrt((a * a).sum(axis=-1) * (b * b).sum(axis=-1))


def correlation_replicates(
    model: np.ndarray, gold: np.ndarray, indices: np.ndarray, method: str = "spearman", chunk: int = 64
) -> np.ndarray:
    """Correlation of each layer's model scores with gold in every replicate: ``[B, L]``.

    ``model`` is ``[L, n]`` (or ``[n]``), ``gold`` ``[n]``; Spearman ranks each resample
    (ties averaged, as :func:`scipy.stats.spearmanr`). Replicates are processed in chunks
    so memory stays at ``chunk * L * n`` numbers.
    """
    model = np.atleast_2d(np.asarray(model, dtype=np.float64))
    gold = np.asarray(gold, dtype=np.float64)
    out = np.empty((indices.shape[0], model.shape[0]))
    for start in range(0, indices.shape[0], chunk):
        idx = indices[start : start + chunk]  # [c, n]
        x = model[:, idx]  # [L, c, n]
        y = gold[idx]  # [c, n]
        if method == "spearman":
            x = sps.rankdata(x, axis=-1)
            y = sps.rankdata(y, axis=-1)
        out[start : start + chunk] = _pearson_rows(x, y[None]).T
    return out


def weighted_self_similarity(units: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Self-similarity of resampled unit vectors in O(n·d): ``[B]`` or ``[B, L]``.

    With resample counts ``w`` and unit vectors ``u``: ``S = (|Σ w u|² − Σ w²) /
    ((Σ w)² − Σ w²)``, the mean cosine over pairs of distinct items ``i ≠ j`` weighted by
    ``w_i w_j`` (two draws of the same item do not form a pair, as in the statistic
    itself, which pairs distinct sentences). ``units`` is ``[n, d]`` or ``[n, L, d]``.
    """
    total = counts.sum(axis=1)
    square = (counts**2).sum(axis=1)
    denominator = total**2 - square
    if units.ndim == 2:
        summed = counts @ units  # [B, d]
        return ((summed**2).sum(axis=1) - square) / denominator
    values = np.empty((counts.shape[0], units.shape[1]))
    for layer in range(units.shape[1]):
        summed = counts @ units[:, layer].astype(np.float64)
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
    with np.errstate(all="ignore"):
        return np.nanmax(replicates, axis=1) if statistic == "max" else np.nanmin(replicates, axis=1)
