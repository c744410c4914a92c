"""The geometry of embeddings as pure functions over arrays.

- :func:`rogue_contributions`, :func:`rogue_shares`: how much each dimension adds to the
  self-similarity (rogue dimensions, Timkey & van Schijndel 2021);
- :func:`fit_center`, :func:`fit_zscore`, :func:`fit_all_but_the_top` (Mu & Viswanath
  2018), :func:`fit_whitening` (Su et al. 2021) and :func:`apply_per_layer`:
  post-processing fitted on one set of vectors and applied to another;
- :func:`alignment`, :func:`uniformity`: Wang & Isola (2020) on unit vectors;
- :func:`jaccard`, :func:`partial_spearman`, :func:`shuffle_words`: lexical overlap.

Arrays are ``[n, d]`` or ``[n, L, d]``; functions over layers give one value per layer.
Undefined inputs raise :class:`cvsp.metrics.MetricError`. Used by the chapter "The
geometry behind the numbers".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from cvsp.metrics import MetricError, unit

ROW_CHUNK = 4096  # rows converted to float64 at a time
UNIFORMITY_CHUNK = 256  # rows of each [chunk, n] block of squared distances
WHITENING_EPS = 1e-10  # eigenvalues below this fraction of the largest are raised to it
_WORD = re.compile(r"\w+")


def _embeddings(x: np.ndarray, what: str = "vectors", min_rows: int = 2) -> np.ndarray:
    """``x`` as an array of shape ``[n, d]`` or ``[n, L, d]`` with at least ``min_rows`` rows."""
    x = np.asarray(x)
    if x.ndim not in (2, 3):
        raise MetricError(f"Expected {what} of shape [n, d] or [n, L, d], got {x.shape}.")
    if x.shape[0] < min_rows:
        raise MetricError(f"Expected at least {min_rows} {what}, got {x.shape[0]}.")
    return x


def _value(result: np.ndarray) -> float | np.ndarray:
    return float(result) if np.ndim(result) == 0 else result


# --- rogue dimensions ------------------------------------------------------------------


def rogue_contributions(x: np.ndarray) -> np.ndarray:
    """Each dimension's share ``C_i`` of the mean cosine over distinct pairs of vectors.

    With unit vectors ``u``: ``C_i = ((Σ_n u_ni)² − Σ_n u_ni²) / (N (N − 1))``, so
    ``Σ_i C_i`` is :func:`cvsp.metrics.self_similarity`. O(n d) memory. Returns ``[d]``
    for ``[n, d]`` and ``[L, d]`` for ``[n, L, d]``.
    """
    x = _embeddings(x)
    n = x.shape[0]
    total = np.zeros(x.shape[1:], dtype=np.float64)
    squares = np.zeros(x.shape[1:], dtype=np.float64)
    for start in range(0, n, ROW_CHUNK):
        u = unit(x[start : start + ROW_CHUNK])
        total += u.sum(axis=0)
        squares += np.einsum("n...,n...->...", u, u)
    return (total * total - squares) / (n * (n - 1))


def rogue_shares(x: np.ndarray, k: Sequence[int] = (1, 3)) -> pd.DataFrame:
    """Share of the self-similarity due to the top-k dimensions by contribution, per layer.

    One row per layer (index ``layer``; a single row 0 for ``[n, d]``) with the
    ``self_similarity`` and, for each k, ``top{k}_share`` (sum of the k largest
    contributions over the self-similarity) and ``top{k}_dims`` (their indices, largest
    first). A self-similarity of exactly 0 has no shares and raises.
    """
    contributions = np.atleast_2d(rogue_contributions(x))  # [L, d]
    d = contributions.shape[1]
    if not k or any(int(j) != j or not 1 <= j <= d for j in k):
        raise MetricError(f"Each k must be an integer from 1 to d = {d}, got {tuple(k)}.")
    total = contributions.sum(axis=1)
    if np.any(total == 0):
        raise MetricError("The self-similarity is 0, so shares of it are undefined.")
    order = np.argsort(-contributions, axis=1, kind="stable")
    rows = []
    for layer in range(contributions.shape[0]):
        row: dict[str, object] = {"layer": layer, "self_similarity": float(total[layer])}
        for j in k:
            top = order[layer, : int(j)]
            row[f"top{j}_share"] = float(contributions[layer, top].sum() / total[layer])
            row[f"top{j}_dims"] = tuple(int(i) for i in top)
        rows.append(row)
    return pd.DataFrame(rows).set_index("layer")


# --- post-processing -----------------------------------------------------------------


@dataclass(frozen=True)
class Transform:
    """A fitted affine map ``((x − mean) / scale) @ matrix`` over the last axis.

    ``scale`` and ``matrix`` are optional (``None`` skips that step). The result is float64.
    """

    name: str
    mean: np.ndarray  # [d]
    scale: np.ndarray | None = None  # [d]
    matrix: np.ndarray | None = None  # [d, d']

    @property
    def dims(self) -> int:
        """Number of input dimensions ``d``."""
        return self.mean.shape[0]

    def apply(self, x: np.ndarray) -> np.ndarray:
        """The fitted map applied to the rows of ``x`` (``[..., d]``), with the fitted statistics."""
        x = np.asarray(x)
        if x.dtype.kind not in "biuf":  # anything but plain numbers is converted as before
            x = np.asarray(x, dtype=np.float64)
        if x.ndim < 1 or x.shape[-1] != self.dims:
            raise MetricError(
                f"{self.name} was fitted on {self.dims} dimensions, got shape {x.shape}."
            )
        y = np.subtract(
            x, self.mean, dtype=np.float64
        )  # float32 input is widened on the fly, not copied first
        if self.scale is not None:
            y = y / self.scale
        if self.matrix is not None:
            y = y @ self.matrix
        return y

    __call__ = apply


def _fitting_data(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise MetricError(f"A transform is fitted on one layer of shape [n, d], got {x.shape}.")
    if x.shape[0] < 2:
        raise MetricError(f"A transform needs at least two vectors to fit, got {x.shape[0]}.")
    if not np.all(np.isfinite(x)):
        raise MetricError("The fitting vectors contain NaN or inf.")
    return x


Eigh = tuple[np.ndarray, np.ndarray, np.ndarray]  # mean, eigenvalues (descending), eigenvectors


def covariance_eigh(x: np.ndarray) -> Eigh:
    """Mean, eigenvalues (descending) and eigenvectors (columns) of the 1/n covariance of
    ``x`` ``[n, d]``: what all-but-the-top and whitening are fitted from, computed once
    when both are fitted on the same vectors."""
    return _covariance_eigh(_fitting_data(x))


def _covariance_eigh(x: np.ndarray) -> Eigh:
    """Mean, eigenvalues (descending) and eigenvectors (columns) of the 1/n covariance."""
    mean = x.mean(axis=0)
    centred = x - mean
    values, vectors = np.linalg.eigh(centred.T @ centred / x.shape[0])
    return mean, values[::-1], vectors[:, ::-1]


def fit_center(x: np.ndarray) -> Transform:
    """Subtract the mean of the fitting vectors ``x`` ``[n, d]``."""
    x = _fitting_data(x)
    return Transform("centring", x.mean(axis=0))


def fit_zscore(x: np.ndarray) -> Transform:
    """Subtract the mean and divide by the (1/n) standard deviation of each dimension of ``x``."""
    x = _fitting_data(x)
    std = x.std(axis=0)
    if np.any(std == 0):
        raise MetricError(
            f"Dimension {int(np.argmax(std == 0))} is constant, so it cannot be z-scored."
        )
    return Transform("z-scoring", x.mean(axis=0), scale=std)


def fit_all_but_the_top(x: np.ndarray, D: int, eigh: Eigh | None = None) -> Transform:
    """All-but-the-top (Mu & Viswanath 2018): centre, then drop the top ``D`` principal directions.

    The directions are those of the centred fitting vectors ``x`` ``[n, d]``; the map is
    ``(x − μ)(I − V Vᵀ)`` with ``V`` their ``[d, D]`` eigenvectors. ``D = 0`` is centring.
    ``eigh`` (:func:`covariance_eigh` of ``x``) saves the decomposition when it is known.
    """
    x = _fitting_data(x)
    d = x.shape[1]
    if int(D) != D or not 0 <= D < d:
        raise MetricError(f"D must be an integer from 0 to d − 1 = {d - 1}, got {D}.")
    D = int(D)
    mean, _, vectors = eigh if eigh is not None else _covariance_eigh(x)
    top = vectors[:, :D]
    return Transform(f"all-but-the-top (D={D})", mean, matrix=np.eye(d) - top @ top.T)


def fit_whitening(x: np.ndarray, eps: float = WHITENING_EPS, eigh: Eigh | None = None) -> Transform:
    """Whitening (Su et al. 2021): ``(x − μ) U Λ^−½`` from the covariance ``U Λ Uᵀ`` of ``x``.

    The covariance is the 1/n one, so the whitened fitting vectors have the identity
    covariance. Eigenvalues below ``eps`` times the largest are raised to that floor, so
    directions without variance (e.g. when n ≤ d) are not blown up to inf. ``eigh``
    (:func:`covariance_eigh` of ``x``) saves the decomposition when it is known.
    """
    x = _fitting_data(x)
    if not eps > 0:
        raise MetricError(f"eps must be positive, got {eps}.")
    mean, values, vectors = eigh if eigh is not None else _covariance_eigh(x)
    if values[0] <= 0:
        raise MetricError("The fitting vectors are all equal, so they cannot be whitened.")
    floor = eps * values[0]
    return Transform("whitening", mean, matrix=vectors / np.sqrt(np.maximum(values, floor)))


def apply_per_layer(
    fit: Callable[..., Transform], x_fit: np.ndarray, x_apply: np.ndarray, **kw: object
) -> np.ndarray:
    """Fit ``fit(x_fit[:, l], **kw)`` on each layer and apply it to ``x_apply[:, l]``.

    ``x_fit`` is ``[n, L, d]``, ``x_apply`` ``[m, L, d]``; returns ``[m, L, d']`` in float64.
    """
    x_fit, x_apply = np.asarray(x_fit), np.asarray(x_apply)
    if x_fit.ndim != 3 or x_apply.ndim != 3 or x_fit.shape[1:] != x_apply.shape[1:]:
        raise MetricError(
            f"Expected [n, L, d] and [m, L, d] arrays, got {x_fit.shape} and {x_apply.shape}."
        )
    layers = [
        fit(x_fit[:, layer], **kw).apply(x_apply[:, layer]) for layer in range(x_fit.shape[1])
    ]
    return np.stack(layers, axis=1)


# --- alignment and uniformity ---------------------------------------------------------


def alignment(a: np.ndarray, b: np.ndarray, alpha: float = 2) -> float | np.ndarray:
    """Mean of ``|f(a_k) − f(b_k)|^alpha`` over paired rows, ``f`` the L2 normalisation.

    Wang & Isola (2020). ``[n, d]`` gives a float, ``[n, L, d]`` one value per layer.
    """
    a = _embeddings(a, min_rows=1)
    b = np.asarray(b)
    if a.shape != b.shape:
        raise MetricError(f"Shapes differ: {a.shape} and {b.shape}.")
    if not alpha > 0:
        raise MetricError(f"alpha must be positive, got {alpha}.")
    total = np.zeros(a.shape[1:-1], dtype=np.float64)
    for start in range(0, a.shape[0], ROW_CHUNK):
        rows = slice(start, start + ROW_CHUNK)
        diff = unit(a[rows]) - unit(b[rows])
        total += (np.einsum("n...d,n...d->n...", diff, diff) ** (alpha / 2)).sum(axis=0)
    return _value(total / a.shape[0])


def _uniformity_layer(u: np.ndarray, t: float, chunk: int) -> float:
    """:func:`uniformity` of unit vectors ``u`` ``[n, d]``, one ``[chunk, n]`` block at a time."""
    n = u.shape[0]
    peak, scaled = -np.inf, 0.0  # running log-sum-exp: log Σ exp(v) = peak + log(scaled)
    for start in range(0, n - 1, chunk):
        stop = min(start + chunk, n)
        gram = u[start:stop] @ u[start:].T  # rows i in [start, stop), columns j >= start
        exponent = -t * np.maximum(2.0 - 2.0 * gram, 0.0)
        later = np.arange(n - start)[None, :] > np.arange(stop - start)[:, None]  # j > i
        values = exponent[later]
        block_peak = values.max()
        new_peak = max(peak, block_peak)
        scaled = scaled * np.exp(peak - new_peak) + np.exp(values - new_peak).sum()
        peak = new_peak
    return float(peak + np.log(scaled) - np.log(n * (n - 1) / 2))


def uniformity(x: np.ndarray, t: float = 2, chunk: int = UNIFORMITY_CHUNK) -> float | np.ndarray:
    """``log`` of the mean over pairs ``i < j`` of ``exp(−t |f_i − f_j|²)``, ``f`` the L2 normalisation.

    Wang & Isola (2020). Computed ``chunk`` rows at a time with a running log-sum-exp, so
    no ``n × n`` matrix is allocated. ``[n, d]`` gives a float, ``[n, L, d]`` one value
    per layer.
    """
    x = _embeddings(x)
    if not t > 0:
        raise MetricError(f"t must be positive, got {t}.")
    if int(chunk) != chunk or chunk < 1:
        raise MetricError(f"chunk must be a positive integer, got {chunk}.")
    if x.ndim == 2:
        return _uniformity_layer(unit(x), t, int(chunk))
    return np.array(
        [_uniformity_layer(unit(x[:, layer]), t, int(chunk)) for layer in range(x.shape[1])]
    )


# --- lexical overlap -------------------------------------------------------------------


def words(text: str) -> set[str]:
    """The set of lower-cased ``\\w+`` tokens of ``text``."""
    return set(_WORD.findall(text.lower()))


def jaccard(a: str, b: str) -> float:
    """Jaccard index ``|A ∩ B| / |A ∪ B|`` of the lower-cased word sets of two texts."""
    left, right = words(a), words(b)
    if not left and not right:
        raise MetricError("Both texts have no words, so their Jaccard index is undefined.")
    return len(left & right) / len(left | right)


def partial_spearman(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> float:
    """Spearman partial correlation of ``x`` and ``y`` controlling for ``z``.

    The Pearson partial correlation of the ranks (ties averaged):
    ``(r_xy − r_xz r_yz) / sqrt((1 − r_xz²)(1 − r_yz²))``.
    """
    arrays = [np.asarray(v, dtype=np.float64) for v in (x, y, z)]
    if any(v.ndim != 1 or v.shape != arrays[0].shape for v in arrays):
        raise MetricError(
            f"Expected three 1-d arrays of equal length, got {[v.shape for v in arrays]}."
        )
    if len(arrays[0]) < 4:
        raise MetricError(f"A partial correlation needs at least 4 items, got {len(arrays[0])}.")
    if not all(np.all(np.isfinite(v)) for v in arrays):
        raise MetricError("The scores contain NaN or inf.")
    if any(np.all(v == v[0]) for v in arrays):
        raise MetricError("One of x, y, z is constant, so a partial correlation is undefined.")
    r = np.corrcoef(np.stack([stats.rankdata(v) for v in arrays]))
    r_xy, r_xz, r_yz = r[0, 1], r[0, 2], r[1, 2]
    denominator = (1 - r_xz**2) * (1 - r_yz**2)
    if denominator <= 1e-12:
        raise MetricError(
            "x or y is a monotone function of z, so a partial correlation is undefined."
        )
    return float((r_xy - r_xz * r_yz) / np.sqrt(denominator))


def shuffle_words(sentence: str, rng: np.random.Generator | int) -> str:
    """The whitespace-separated words of ``sentence`` in a random order, joined by single spaces.

    ``rng`` is a generator or a seed. Punctuation stays attached to its word, and the
    permutation may be the identity; a sentence of at most one word is returned unchanged.
    """
    tokens = sentence.split()
    if len(tokens) < 2:
        return sentence
    order = np.random.default_rng(rng).permutation(len(tokens))
    return " ".join(tokens[i] for i in order)
