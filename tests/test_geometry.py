"""Geometry of embeddings against brute force, hand-computed values and invariances."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import pdist
from scipy.special import logsumexp

from cvsp import geometry, metrics
from cvsp.metrics import MetricError


def anisotropic(n: int, d: int, seed: int = 0, layers: int | None = None) -> np.ndarray:
    """Random vectors sharing a common direction, like real embeddings."""
    rng = np.random.default_rng(seed)
    shape = (n, d) if layers is None else (n, layers, d)
    return rng.normal(size=shape) + rng.normal(size=shape[1:])


# --- rogue dimensions ------------------------------------------------------------------


def brute_force_contributions(x: np.ndarray) -> np.ndarray:
    u = x / np.linalg.norm(x, axis=1, keepdims=True)
    n = len(u)
    total = np.zeros(u.shape[1])
    for i in range(n):
        for j in range(n):
            if i != j:
                total += u[i] * u[j]
    return total / (n * (n - 1))


def test_rogue_contributions_by_hand():
    x = np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 3.0]])
    # unit: (1, 0), (0, 1), (s, s) with s = 1/sqrt(2); pairs with a nonzero product
    # in dim 0: (1, s) -> 2 * s over 6 ordered pairs; same for dim 1
    s = 1 / np.sqrt(2)
    np.testing.assert_allclose(geometry.rogue_contributions(x), [2 * s / 6, 2 * s / 6], atol=1e-15)


@pytest.mark.parametrize("n", [2, 3, 17])
def test_rogue_contributions_match_brute_force(n):
    x = anisotropic(n, 6, seed=n)
    np.testing.assert_allclose(
        geometry.rogue_contributions(x), brute_force_contributions(x), atol=1e-14
    )


@pytest.mark.parametrize("n", [2, 40, 300])
def test_rogue_contributions_sum_to_self_similarity(n):
    x = anisotropic(n, 24, seed=n).astype(np.float32)
    assert geometry.rogue_contributions(x).sum() == pytest.approx(
        metrics.self_similarity(x), abs=1e-14
    )
    x3 = anisotropic(n, 24, seed=n, layers=3)
    np.testing.assert_allclose(
        geometry.rogue_contributions(x3).sum(axis=1), metrics.self_similarity(x3), atol=1e-14
    )


def test_rogue_contributions_per_layer_and_chunked(monkeypatch):
    x = anisotropic(50, 8, layers=3)
    per_layer = geometry.rogue_contributions(x)
    assert per_layer.shape == (3, 8)
    for layer in range(3):
        np.testing.assert_allclose(
            per_layer[layer], brute_force_contributions(x[:, layer]), atol=1e-14
        )
    monkeypatch.setattr(geometry, "ROW_CHUNK", 7)  # several chunks, the last one partial
    np.testing.assert_allclose(geometry.rogue_contributions(x), per_layer, atol=1e-14)


def test_rogue_contributions_are_invariant_to_scaling_rows():
    x = anisotropic(30, 5)
    scales = np.random.default_rng(1).uniform(0.1, 10, size=(30, 1))
    np.testing.assert_allclose(
        geometry.rogue_contributions(x * scales), geometry.rogue_contributions(x), atol=1e-14
    )


def test_rogue_shares_find_a_planted_rogue_dimension():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3, 16))
    for layer, dim in enumerate([5, 0, 15]):
        x[:, layer, dim] += 40.0  # a large constant offset in one coordinate
    x[:, 2, 7] += 8.0  # a smaller second offset in the last layer
    shares = geometry.rogue_shares(x)
    assert list(shares.index) == [0, 1, 2]
    assert [dims[0] for dims in shares["top1_dims"]] == [5, 0, 15]
    assert (shares["top1_share"] > 0.95).all()
    assert shares.loc[2, "top3_dims"][:2] == (15, 7)
    assert (shares["top3_share"] >= shares["top1_share"]).all()
    np.testing.assert_allclose(shares["self_similarity"], metrics.self_similarity(x), atol=1e-14)


def test_rogue_shares_by_hand_and_for_one_layer():
    contributions = geometry.rogue_contributions(anisotropic(60, 10))
    shares = geometry.rogue_shares(anisotropic(60, 10), k=(1, 2, 10))
    order = np.argsort(contributions)[::-1]
    assert len(shares) == 1
    row = shares.loc[0]
    assert row["top1_dims"] == (order[0],)
    assert row["top2_dims"] == tuple(order[:2])
    assert row["top1_share"] == pytest.approx(contributions[order[0]] / contributions.sum())
    assert row["top2_share"] == pytest.approx(contributions[order[:2]].sum() / contributions.sum())
    assert row["top10_share"] == pytest.approx(1.0)


@pytest.mark.parametrize("k", [(0,), (11,), (1.5,), ()])
def test_rogue_shares_reject_bad_k(k):
    with pytest.raises(MetricError):
        geometry.rogue_shares(anisotropic(20, 10), k=k)


@pytest.mark.parametrize(
    "x", [np.ones((1, 3)), np.array([[1.0, 0.0], [0.0, 0.0]]), np.ones(4), np.ones((2, 2, 2, 2))]
)
def test_rogue_contributions_reject_bad_input(x):
    with pytest.raises(MetricError):
        geometry.rogue_contributions(x)


def test_rogue_shares_reject_zero_self_similarity():
    with pytest.raises(MetricError):
        geometry.rogue_shares(np.array([[1.0, 0.0], [0.0, 1.0]]))


# --- post-processing -----------------------------------------------------------------


FITS = {
    "center": (geometry.fit_center, {}),
    "zscore": (geometry.fit_zscore, {}),
    "abtt": (geometry.fit_all_but_the_top, {"D": 3}),
    "whitening": (geometry.fit_whitening, {}),
}


def scaled_sample(n: int = 200, d: int = 8, seed: int = 0) -> np.ndarray:
    """Correlated dimensions with very different scales and a nonzero mean."""
    rng = np.random.default_rng(seed)
    return (
        rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) * rng.uniform(0.1, 20, size=d)
        + rng.normal(size=d) * 5
    )


def top_directions(x: np.ndarray, D: int) -> np.ndarray:
    """Top-D principal directions by SVD of the centred data: ``[d, D]``."""
    return np.linalg.svd(x - x.mean(axis=0), full_matrices=False)[2][:D].T


def test_centring_makes_the_mean_zero_and_uses_the_fitted_mean():
    x, new = scaled_sample(seed=0), scaled_sample(seed=1)
    fitted = geometry.fit_center(x)
    np.testing.assert_allclose(fitted.apply(x).mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(fitted.apply(new), new - x.mean(axis=0), atol=1e-12)
    np.testing.assert_allclose(fitted(new), fitted.apply(new))


def test_zscore_leaves_standardised_data_unchanged():
    raw = scaled_sample()
    standard = (raw - raw.mean(axis=0)) / raw.std(axis=0)
    np.testing.assert_allclose(geometry.fit_zscore(standard).apply(standard), standard, atol=1e-12)


def test_zscore_standardises_and_uses_the_fitted_statistics():
    x, new = scaled_sample(seed=0), scaled_sample(seed=1)
    fitted = geometry.fit_zscore(x)
    out = fitted.apply(x)
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=0), 1, atol=1e-12)
    np.testing.assert_allclose(
        fitted.apply(new), (new - x.mean(axis=0)) / x.std(axis=0), atol=1e-12
    )


@pytest.mark.parametrize("D", [1, 3, 7])
def test_all_but_the_top_removes_exactly_the_top_directions(D):
    x = scaled_sample(d=8)
    out = geometry.fit_all_but_the_top(x, D).apply(x)
    top = top_directions(x, D)
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-9)
    assert np.abs(out @ top).max() < 1e-9 * np.abs(x).max()  # no variance left along them
    tol = 1e-9 * np.linalg.norm(x - x.mean(axis=0), 2)  # relative to the data, not to `out`
    assert np.linalg.matrix_rank(x - x.mean(axis=0), tol=tol) == 8
    assert np.linalg.matrix_rank(out, tol=tol) == 8 - D
    # the rest of the centred data is untouched
    centred = x - x.mean(axis=0)
    np.testing.assert_allclose(out, centred - centred @ top @ top.T, atol=1e-9 * np.abs(x).max())


def test_all_but_the_top_on_new_data_projects_out_the_fitted_directions():
    x, new = scaled_sample(seed=0), scaled_sample(seed=1)
    out = geometry.fit_all_but_the_top(x, 2).apply(new)
    assert np.abs(out @ top_directions(x, 2)).max() < 1e-9 * np.abs(new).max()
    assert np.abs(out @ top_directions(new, 2)).max() > 1e-3  # not refitted on the new data


def test_all_but_the_top_with_no_direction_is_centring():
    x, new = scaled_sample(seed=0), scaled_sample(seed=1)
    abtt, center = geometry.fit_all_but_the_top(x, 0), geometry.fit_center(x)
    np.testing.assert_allclose(abtt.apply(x), center.apply(x), atol=1e-12)
    np.testing.assert_allclose(abtt.apply(new), center.apply(new), atol=1e-12)


def test_whitening_gives_identity_covariance_on_the_fitting_data():
    x = scaled_sample(n=500, d=8)
    out = geometry.fit_whitening(x).apply(x)
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-10)
    np.testing.assert_allclose(np.cov(out, rowvar=False, bias=True), np.eye(8), atol=1e-10)


def test_whitening_with_fewer_vectors_than_dimensions_stays_finite():
    x = scaled_sample(n=5, d=8)
    out = geometry.fit_whitening(x).apply(x)
    assert np.all(np.isfinite(out))
    eigenvalues = np.linalg.eigvalsh(np.cov(out, rowvar=False, bias=True))
    # rank n - 1 = 4 after centring: covariance is a projector with 4 unit eigenvalues
    np.testing.assert_allclose(np.sort(eigenvalues), [0] * 4 + [1] * 4, atol=1e-6)


@pytest.mark.parametrize("name", sorted(FITS))
def test_transforms_apply_the_fitted_statistics_to_new_data(name):
    fit, kw = FITS[name]
    x = scaled_sample()
    fitted = fit(x, **kw)
    base = fitted.apply(x)
    # stretching the data about its mean stretches the output: a refit would undo it
    stretched = fitted.apply(x.mean(axis=0) + 2 * (x - x.mean(axis=0)))
    np.testing.assert_allclose(stretched, 2 * base, atol=1e-9 * np.abs(base).max())
    # shifting the data shifts every output row by the same nonzero amount
    shift = np.random.default_rng(2).normal(size=x.shape[1]) * 10
    moved = fitted.apply(x + shift) - base
    np.testing.assert_allclose(moved, np.broadcast_to(moved[0], moved.shape), atol=1e-9)
    assert np.abs(moved[0]).max() > 1e-3
    # an affine map: the rows of a new set are mapped independently of each other
    new = scaled_sample(seed=3)
    np.testing.assert_allclose(fitted.apply(new)[:5], fitted.apply(new[:5]), atol=1e-12)


@pytest.mark.parametrize("name", sorted(FITS))
def test_apply_per_layer_matches_a_loop_over_layers(name):
    fit, kw = FITS[name]
    x_fit = np.stack([scaled_sample(n=60, seed=s) for s in range(3)], axis=1).astype(np.float32)
    x_apply = np.stack([scaled_sample(n=40, seed=10 + s) for s in range(3)], axis=1)
    out = geometry.apply_per_layer(fit, x_fit, x_apply, **kw)
    assert out.shape == (40, 3, 8)
    for layer in range(3):
        expected = fit(x_fit[:, layer], **kw).apply(x_apply[:, layer])
        np.testing.assert_allclose(out[:, layer], expected)


@pytest.mark.parametrize("name", sorted(FITS))
def test_apply_widens_float32_to_float64_exactly(name):
    fit, kw = FITS[name]
    transform = fit(scaled_sample(n=60, seed=0), **kw)
    x = scaled_sample(n=40, seed=1).astype(np.float32)
    got = transform.apply(
        np.stack([x, x], axis=1)[:, 1]
    )  # a strided float32 view, as a layer of the embeddings is
    assert got.dtype == np.float64
    np.testing.assert_array_equal(
        got, transform.apply(x.astype(np.float64))
    )  # the same bits as widening first
    np.testing.assert_array_equal(
        transform.apply(x.astype(object)), got
    )  # not plain numbers: converted first


def test_apply_per_layer_rejects_mismatched_shapes():
    with pytest.raises(MetricError):
        geometry.apply_per_layer(geometry.fit_center, np.ones((5, 2, 3)), np.ones((5, 3, 3)))
    with pytest.raises(MetricError):
        geometry.apply_per_layer(geometry.fit_center, np.ones((5, 3)), np.ones((5, 3)))


@pytest.mark.parametrize(
    ("fit", "x", "kw"),
    [
        (geometry.fit_center, np.ones((1, 3)), {}),
        (geometry.fit_center, np.ones((4, 2, 3)), {}),
        (geometry.fit_center, np.array([[1.0, np.nan], [0.0, 1.0]]), {}),
        (geometry.fit_zscore, np.array([[1.0, 2.0], [1.0, 3.0]]), {}),
        (geometry.fit_all_but_the_top, np.eye(3), {"D": 3}),
        (geometry.fit_all_but_the_top, np.eye(3), {"D": -1}),
        (geometry.fit_whitening, np.ones((4, 3)), {}),
        (geometry.fit_whitening, np.eye(3), {"eps": 0.0}),
    ],
)
def test_fits_reject_bad_input(fit, x, kw):
    with pytest.raises(MetricError):
        fit(x, **kw)


def test_apply_rejects_other_dimensions():
    with pytest.raises(MetricError):
        geometry.fit_center(np.eye(3)).apply(np.ones((2, 4)))


# --- alignment and uniformity ---------------------------------------------------------


def brute_force_uniformity(x: np.ndarray, t: float = 2) -> float:
    u = x / np.linalg.norm(x, axis=1, keepdims=True)
    distances = pdist(u, metric="sqeuclidean")
    return float(logsumexp(-t * distances) - np.log(len(distances)))


def test_alignment_by_hand():
    a = np.array([[1.0, 0.0], [0.0, 3.0], [2.0, 2.0]])
    b = np.array([[5.0, 0.0], [2.0, 0.0], [-1.0, -1.0]])
    # squared distances of the unit vectors: 0, 2, 4
    assert geometry.alignment(a, b) == pytest.approx(2.0)
    assert geometry.alignment(a, b, alpha=1) == pytest.approx((np.sqrt(2) + 2) / 3)
    assert geometry.alignment(a, a) == 0.0
    assert geometry.alignment(a, 7 * a) == pytest.approx(0.0, abs=1e-15)


def test_alignment_per_layer_and_chunked(monkeypatch):
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(30, 4, 6)), rng.normal(size=(30, 4, 6))
    values = geometry.alignment(a, b, alpha=3)
    assert values.shape == (4,)
    for layer in range(4):
        ua = a[:, layer] / np.linalg.norm(a[:, layer], axis=1, keepdims=True)
        ub = b[:, layer] / np.linalg.norm(b[:, layer], axis=1, keepdims=True)
        assert values[layer] == pytest.approx(np.mean(np.linalg.norm(ua - ub, axis=1) ** 3))
    monkeypatch.setattr(geometry, "ROW_CHUNK", 7)
    np.testing.assert_allclose(geometry.alignment(a, b, alpha=3), values, atol=1e-14)


@pytest.mark.parametrize(
    ("a", "b", "alpha"),
    [
        (np.ones((3, 2)), np.ones((3, 3)), 2),
        (np.ones((3, 2)), np.array([[1.0, 1.0], [0.0, 0.0], [1.0, 2.0]]), 2),
        (np.ones((3, 2)), np.ones((3, 2)), 0),
        (np.ones((0, 2)), np.ones((0, 2)), 2),
    ],
)
def test_alignment_rejects_bad_input(a, b, alpha):
    with pytest.raises(MetricError):
        geometry.alignment(a, b, alpha=alpha)


def test_uniformity_by_hand():
    antipodal = np.array([[1.0, 2.0], [-3.0, -6.0]])
    assert geometry.uniformity(antipodal) == pytest.approx(-8.0)
    assert geometry.uniformity(antipodal, t=0.5) == pytest.approx(-2.0)
    assert geometry.uniformity(np.tile([3.0, 4.0, 0.0], (6, 1))) == pytest.approx(0.0, abs=1e-12)
    # three orthogonal unit vectors: every squared distance is 2
    assert geometry.uniformity(np.eye(3) * [1.0, 5.0, 9.0]) == pytest.approx(-4.0)


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 40, 41, 1000])
def test_uniformity_chunked_matches_brute_force(chunk):
    x = anisotropic(41, 5, seed=chunk)
    assert geometry.uniformity(x, chunk=chunk) == pytest.approx(
        brute_force_uniformity(x), abs=1e-12
    )
    assert geometry.uniformity(x, t=0.7, chunk=chunk) == pytest.approx(
        brute_force_uniformity(x, t=0.7), abs=1e-12
    )


def test_uniformity_is_stable_where_the_exponentials_underflow():
    x = anisotropic(30, 4, seed=5)
    t = 1e6
    expected = brute_force_uniformity(x, t=t)
    with np.errstate(divide="ignore"):
        naive = np.log(
            np.mean(np.exp(-t * pdist(x / np.linalg.norm(x, axis=1, keepdims=True), "sqeuclidean")))
        )
    assert expected < -800 and naive == -np.inf  # every exp underflows to 0
    assert geometry.uniformity(x, t=t, chunk=4) == pytest.approx(expected, rel=1e-12)


def test_uniformity_per_layer():
    x = anisotropic(25, 6, layers=3).astype(np.float32)
    values = geometry.uniformity(x, chunk=4)
    assert values.shape == (3,)
    for layer in range(3):
        assert values[layer] == pytest.approx(
            brute_force_uniformity(x[:, layer].astype(np.float64)), abs=1e-12
        )


@pytest.mark.parametrize(
    ("x", "kw"),
    [
        (np.ones((1, 3)), {}),
        (np.array([[1.0, 0.0], [0.0, 0.0]]), {}),
        (np.eye(3), {"t": 0}),
        (np.eye(3), {"chunk": 0}),
    ],
)
def test_uniformity_rejects_bad_input(x, kw):
    with pytest.raises(MetricError):
        geometry.uniformity(x, **kw)


# --- lexical overlap -------------------------------------------------------------------


def test_jaccard():
    assert geometry.jaccard("A man is playing a guitar.", "a MAN is playing a guitar") == 1.0
    assert geometry.jaccard("a cat", "the dog") == 0.0
    assert geometry.jaccard("The cat sat.", "the dog sat, the end") == pytest.approx(2 / 5)
    assert geometry.jaccard("", "word") == 0.0
    with pytest.raises(MetricError):
        geometry.jaccard("", " ... ")


def residual_partial_spearman(x, y, z) -> float:
    rx, ry, rz = (stats.rankdata(v) for v in (x, y, z))
    design = np.column_stack([np.ones_like(rz), rz])
    ex = rx - design @ np.linalg.lstsq(design, rx, rcond=None)[0]
    ey = ry - design @ np.linalg.lstsq(design, ry, rcond=None)[0]
    return float(np.corrcoef(ex, ey)[0, 1])


@pytest.mark.parametrize("seed", range(4))
def test_partial_spearman_matches_the_residual_definition(seed):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=50)
    x = z + rng.normal(size=50)
    y = 0.5 * x - z + rng.normal(size=50)
    y[:5] = np.round(y[:5])  # some ties
    y[5] = y[0]
    assert geometry.partial_spearman(x, y, z) == pytest.approx(
        residual_partial_spearman(x, y, z), abs=1e-12
    )


def test_partial_spearman_invariances():
    rng = np.random.default_rng(1)
    z = rng.normal(size=80)
    x, y = z + rng.normal(size=80), z + rng.normal(size=80)
    value = geometry.partial_spearman(x, y, z)
    assert geometry.partial_spearman(np.exp(x), y**3, 5 * z - 2) == pytest.approx(value, abs=1e-12)
    assert geometry.partial_spearman(y, x, z) == pytest.approx(value, abs=1e-12)
    assert geometry.partial_spearman(-x, y, z) == pytest.approx(-value, abs=1e-12)


def test_partial_spearman_is_near_zero_when_only_z_links_x_and_y():
    rng = np.random.default_rng(0)
    z = rng.normal(size=4000)
    x, y = z + rng.normal(size=4000), z + rng.normal(size=4000)
    assert metrics.spearman(x, y) > 0.4
    assert abs(geometry.partial_spearman(x, y, z)) < 0.05


@pytest.mark.parametrize(
    ("x", "y", "z"),
    [
        ([1.0, 2.0, 3.0], [1.0, 3.0, 2.0], [2.0, 1.0, 3.0]),
        ([1.0, 2.0, 3.0, 4.0], [1.0, 3.0, 2.0, 4.0], [2.0, 1.0, 3.0]),
        ([1.0, 1.0, 1.0, 1.0], [1.0, 3.0, 2.0, 4.0], [2.0, 1.0, 3.0, 4.0]),
        ([1.0, 2.0, 3.0, 4.0], [1.0, 3.0, 2.0, 4.0], [10.0, 20.0, 30.0, 40.0]),
        ([1.0, 2.0, 3.0, np.nan], [1.0, 3.0, 2.0, 4.0], [2.0, 1.0, 3.0, 4.0]),
    ],
)
def test_partial_spearman_rejects_bad_input(x, y, z):
    with pytest.raises(MetricError):
        geometry.partial_spearman(np.array(x), np.array(y), np.array(z))


def test_shuffle_words_keeps_the_words_and_is_seeded():
    sentence = "A  man is playing a large\tguitar on the stage ."
    shuffled = geometry.shuffle_words(sentence, 3)
    assert sorted(shuffled.split(" ")) == sorted(sentence.split())
    assert shuffled == geometry.shuffle_words(sentence, np.random.default_rng(3))
    assert shuffled == geometry.shuffle_words(sentence, 3)
    outputs = {geometry.shuffle_words(sentence, seed) for seed in range(5)}
    assert len(outputs) > 1 and sentence not in outputs


def test_shuffle_words_advances_a_shared_generator():
    rng = np.random.default_rng(0)
    sentence = "one two three four five six seven eight"
    first, second = geometry.shuffle_words(sentence, rng), geometry.shuffle_words(sentence, rng)
    assert first != second


@pytest.mark.parametrize("sentence", ["word", " word. ", ""])
def test_shuffle_words_leaves_short_sentences_unchanged(sentence):
    assert geometry.shuffle_words(sentence, 0) == sentence
