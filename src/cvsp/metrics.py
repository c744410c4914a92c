"""The paper's metrics as pure functions over arrays.

- :func:`self_similarity`: mean cosine similarity over all distinct pairs of vectors
  (``01_cwe_anisotropy``, ``04_sentence_self_similarity``);
- :func:`pair_cosines` and :func:`spearman`: word similarity and STS
  (``02_word_similarity``, ``03_sts``);
- :func:`valnorm_effect_sizes` and :func:`pearson`: ValNorm (``02_word_similarity``).

Arrays may carry a layer axis: ``[n, d]`` gives one value, ``[n, L, d]`` one per layer.
Inputs are checked: zero vectors, NaN or inf, too few items and constant scores raise
:class:`MetricError` instead of returning NaN.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

SELF_SIMILARITY_CHUNK = 4096  # rows converted to float64 at a time
# Cosines are rounded to this many decimals: equal vectors then give exactly equal
# cosines wherever they sit in memory, so rank correlations see true ties as ties
# rather than ordering them by float64 summation noise (~1e-16).
COSINE_DECIMALS = 12


class MetricError(ValueError):
    """A metric is undefined for these inputs."""


def _finite(x: np.ndarray, what: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        raise MetricError(f"{what} contains NaN or inf.")
    return x


def unit(x: np.ndarray, what: str = "vectors") -> np.ndarray:
    """Rows scaled to unit length (last axis), in float64; zero vectors are an error."""
    x = _finite(x, what)
    norms = np.sqrt(np.einsum("...d,...d->...", x, x))[..., None]
    if np.any(norms == 0):
        raise MetricError(f"{what} contain a zero vector, whose cosine is undefined.")
    return x / norms


def self_similarity(x: np.ndarray) -> float | np.ndarray:
    """Mean cosine similarity over all distinct pairs of the ``n`` vectors along axis 0.

    With unit vectors ``u_i`` and their sum ``s``: ``sum_{i != j} u_i . u_j = |s|^2 - n``,
    so the mean over the ``n (n - 1)`` ordered pairs needs O(n d) time and memory.
    ``x`` of shape ``[n, d]`` gives a float, ``[n, L, d]`` an array of ``L`` values.
    """
    x = np.asarray(x)
    n = x.shape[0]
    if n < 2:
        raise MetricError(f"Self-similarity needs at least two vectors, got {n}.")
    total = np.zeros(x.shape[1:], dtype=np.float64)
    for start in range(0, n, SELF_SIMILARITY_CHUNK):  # bounded float64 copies
        total += unit(x[start : start + SELF_SIMILARITY_CHUNK]).sum(axis=0)
    result = (np.sum(total * total, axis=-1) - n) / (n * (n - 1))
    return float(result) if np.ndim(result) == 0 else result


def pair_cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity of ``a[i]`` and ``b[i]`` for each row (and layer)."""
    if np.shape(a) != np.shape(b):
        raise MetricError(f"Shapes differ: {np.shape(a)} and {np.shape(b)}.")
    return np.round(np.sum(unit(a) * unit(b), axis=-1), COSINE_DECIMALS)


def indexed_pair_cosines(vectors: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Cosine of ``vectors[left[k]]`` and ``vectors[right[k]]`` for each k (and layer).

    Each vector is normalized once, however many pairs it appears in.
    """
    return unit_pair_cosines(unit(vectors), left, right)


def unit_pair_cosines(units: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """:func:`indexed_pair_cosines` of vectors already scaled by :func:`unit` (to reuse them)."""
    cosines = np.einsum("n...d,n...d->n...", units[np.asarray(left)], units[np.asarray(right)])
    return np.round(cosines, COSINE_DECIMALS)


def _correlation(kind: str, x: np.ndarray, y: np.ndarray) -> float:
    x = _finite(x, "scores")
    y = _finite(y, "scores")
    if x.shape != y.shape or x.ndim != 1:
        raise MetricError(f"Expected two 1-d arrays of equal length, got {x.shape}, {y.shape}.")
    if len(x) < 3:
        raise MetricError(f"A correlation needs at least 3 pairs, got {len(x)}.")
    if np.all(x == x[0]) or np.all(y == y[0]):
        which = "the model's similarities" if np.all(x == x[0]) else "the human scores"
        raise MetricError(f"{which} are all equal, so a correlation is undefined.")
    test = stats.spearmanr if kind == "spearman" else stats.pearsonr
    return float(test(x, y)[0])


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rank correlation of two score vectors."""
    return _correlation("spearman", x, y)


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson's correlation of two score vectors."""
    return _correlation("pearson", x, y)


def valnorm_effect_sizes(
    words: np.ndarray, pleasant: np.ndarray, unpleasant: np.ndarray
) -> np.ndarray:
    """Single-category WEAT effect size of each word (ValNorm).

    ``(mean cos to pleasant - mean cos to unpleasant) / std of all attribute cosines``,
    with the population standard deviation. Shapes ``[n, (L,) d]`` for the words and
    ``[a, (L,) d]`` for each attribute set; returns ``[n]`` or ``[n, L]``.
    """
    words_u = unit(words, "word vectors")
    attributes = unit(np.concatenate([pleasant, unpleasant]), "attribute vectors")
    cos = np.einsum("n...d,a...d->n...a", words_u, attributes)
    k = len(pleasant)
    spread = cos.std(axis=-1)
    if np.any(spread == 0):
        raise MetricError("A word has the same cosine to every attribute word.")
    return (cos[..., :k].mean(axis=-1) - cos[..., k:].mean(axis=-1)) / spread
