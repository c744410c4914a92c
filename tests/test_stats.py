"""cvsp.stats against slow reference forms and hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from cvsp import metrics, stats


@pytest.fixture()
def sample():
    rng = np.random.default_rng(4)
    gold = rng.normal(size=40).round(1)  # ties, as in human ratings
    model = np.stack([gold + rng.normal(scale=s, size=40) for s in (0.5, 1.0, 3.0)])  # [L=3, n]
    return model, gold


def test_spearman_replicates_equal_a_slow_loop(sample):
    model, gold = sample
    idx = stats.resample_indices(40, 300, seed=1)
    fast = stats.correlation_replicates(model, gold, idx)
    slow = np.array([[sps.spearmanr(layer[i], gold[i]).statistic for layer in model] for i in idx])
    np.testing.assert_allclose(fast, slow, atol=1e-12)
    low, high = stats.percentile_interval(fast)
    np.testing.assert_allclose(low, np.percentile(slow, 2.5, axis=0))
    np.testing.assert_allclose(high, np.percentile(slow, 97.5, axis=0))


def test_spearman_replicates_with_tied_model_scores_equal_a_slow_loop(sample):
    # Cosines tie when a pair repeats or a layer barely varies; tied groups take one averaged rank.
    model, gold = sample
    tied = np.stack(
        [model[0].round(0), model[1].round(1), np.where(np.arange(40) < 20, 1.0, model[2])]
    )
    idx = stats.resample_indices(40, 300, seed=7)
    fast = stats.correlation_replicates(tied, gold, idx)
    slow = np.array([[sps.spearmanr(layer[i], gold[i]).statistic for layer in tied] for i in idx])
    np.testing.assert_allclose(fast, slow, atol=1e-12)


def test_a_constant_layer_or_replicate_is_undefined_not_a_number(sample):
    model, gold = sample
    flat = np.vstack([model[0], np.full(40, 0.3)])
    idx = np.vstack(
        [stats.resample_indices(40, 5, seed=1), np.full((1, 40), 3)]
    )  # last: one item 40 times
    for method in ("spearman", "pearson"):
        r = stats.correlation_replicates(flat, gold, idx, method)
        assert np.isnan(r[:, 1]).all() and np.isnan(r[-1]).all() and np.isfinite(r[:-1, 0]).all()


def test_gold_resampled_once_serves_every_series(sample):
    model, gold = sample
    idx = stats.resample_indices(40, 100, seed=3)
    shared = stats.resample_gold(gold, idx)
    for layer in model:
        np.testing.assert_array_equal(
            stats.correlations(layer, shared), stats.correlation_replicates(layer, gold, idx)
        )
    with pytest.raises(ValueError, match="Unknown correlation"):
        stats.resample_gold(gold, idx, "kendall")


def test_pearson_replicates_equal_a_slow_loop(sample):
    model, gold = sample
    idx = stats.resample_indices(40, 50, seed=2)
    fast = stats.correlation_replicates(model, gold, idx, method="pearson")
    slow = np.array([[sps.pearsonr(layer[i], gold[i]).statistic for layer in model] for i in idx])
    np.testing.assert_allclose(fast, slow, atol=1e-12)


def test_seeds_decide_the_indices():
    a = stats.resample_indices(30, 20, seed=5)
    assert (a == stats.resample_indices(30, 20, seed=5)).all()
    assert (a != stats.resample_indices(30, 20, seed=6)).any()
    settings = stats.BootstrapSettings()
    assert (
        settings.seed_for("stsb")
        == stats.BootstrapSettings().seed_for("stsb")
        != settings.seed_for("rg65")
    )


def test_weighted_self_similarity_equals_a_brute_force_weighted_mean():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(25, 2, 6))  # [n, L, d]
    units = metrics.unit(x)
    idx = stats.resample_indices(25, 30, seed=3)
    counts = stats.resample_counts(idx, 25)
    assert (counts.sum(axis=1) == 25).all()
    fast = stats.weighted_self_similarity(units, counts, dtype=np.float64)
    np.testing.assert_allclose(
        stats.weighted_self_similarity(units, counts), fast, atol=2e-6
    )  # float32 sums
    for b in range(30):
        w = counts[b]
        for layer in range(2):
            cos = units[:, layer] @ units[:, layer].T
            pair_weights = np.outer(w, w)
            np.fill_diagonal(pair_weights, 0.0)  # pairs of distinct items only
            expected = (pair_weights * cos).sum() / pair_weights.sum()
            assert fast[b, layer] == pytest.approx(expected, abs=1e-12)
    # all counts 1: the plain self-similarity
    ones = np.ones((1, 25))
    np.testing.assert_allclose(
        stats.weighted_self_similarity(units, ones, np.float64)[0],
        metrics.self_similarity(x),
        atol=1e-12,
    )


def test_williams_t_worked_case():
    # The example case of psych::r.test's documentation (Steiger 1980, case A):
    # n = 103, r12 = .4, r13 = .5, r23 = .1. By hand: |R| = 1 - .16 - .25 - .01 + .04 = .62,
    # r̄ = .45, t = -.1 * sqrt(102 * 1.1) / sqrt(2 * 102/100 * .62 + .2025 * .9**3)
    #   = -1.05925 / 1.18845 = -0.8913, df = 100.
    t, p = stats.williams_t(0.4, 0.5, 0.1, 103)
    assert t == pytest.approx(-0.8913, abs=1e-4)
    assert p == pytest.approx(2 * sps.t.sf(0.8913, 100), abs=1e-4)
    assert 0.36 < p < 0.39


def test_williams_t_is_zero_for_equal_correlations_and_flips_sign():
    assert stats.williams_t(0.6, 0.6, 0.3, 50)[0] == pytest.approx(0.0)
    t, p = stats.williams_t(0.7, 0.4, 0.5, 80)
    t_swapped, p_swapped = stats.williams_t(0.4, 0.7, 0.5, 80)
    assert t > 0 and t_swapped == pytest.approx(-t) and p == pytest.approx(p_swapped)


def test_paired_resampling_makes_identical_models_differ_by_exactly_zero(sample):
    model, gold = sample
    idx = stats.resample_indices(40, 200, seed=0)
    a = stats.correlation_replicates(model, gold, idx)
    b = stats.correlation_replicates(model.copy(), gold, idx)
    low, high = stats.percentile_interval(a - b)
    assert (low == 0).all() and (high == 0).all()
    unpaired = stats.correlation_replicates(model, gold, stats.resample_indices(40, 200, seed=1))
    low, high = stats.percentile_interval(a - unpaired)
    assert (high - low > 0.01).all()  # separate indices would make noise out of nothing


def test_best_layer_is_chosen_inside_each_replicate():
    replicates = np.array([[0.9, 0.1], [0.1, 0.9], [0.5, 0.5]])
    assert stats.best_replicates(replicates).tolist() == [0.9, 0.9, 0.5]
    assert stats.best_replicates(replicates, "min").tolist() == [0.1, 0.1, 0.5]
    once = replicates[:, replicates.mean(axis=0).argmax()]  # choosing the layer once instead
    assert not np.allclose(once, stats.best_replicates(replicates))


def test_interval_ignores_undefined_replicates():
    low, high = stats.percentile_interval(np.array([[np.nan], [1.0], [2.0], [3.0]]), level=0.5)
    assert low[0] == pytest.approx(1.5) and high[0] == pytest.approx(2.5)


@pytest.mark.parametrize("columns", [1, 63, 64, 300])
def test_running_sum_is_numpys_cumsum_bit_for_bit(columns):
    # The row-by-row sum (wide arrays) and numpy's (narrow ones) add in the same order:
    # equal to the last bit even for values whose sums round.
    rows = (
        np.random.default_rng(columns).normal(size=(57, columns))
        * 10.0 ** np.arange(-3, 4).repeat(9)[:57, None]
    )
    assert np.array_equal(stats.running_sum(rows), np.cumsum(rows, axis=0))
    assert stats.running_sum(rows[:0]).shape == (0, columns)


def test_correlations_stay_within_minus_one_and_one_when_squares_underflow():
    # Scores of 1e-200 have squares that underflow to 0: the spread is 0 although the
    # scores vary, so the correlation is "constant up to rounding", undefined: NaN, never inf.
    gold = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    tiny = gold * 1e-200
    idx = stats.resample_indices(5, 50, seed=1)
    for model, truth in ((tiny, gold), (gold, tiny)):
        r = stats.correlation_replicates(model, truth, idx, "pearson")
        assert np.isnan(r).all()  # the spread underflows in every replicate
    ordinary = stats.correlation_replicates(gold[::-1].copy(), gold, idx, "pearson")
    assert (np.isnan(ordinary) | (np.abs(ordinary + 1) < 1e-12)).all()  # reversed: -1 where defined


def test_spearman_replicates_with_untied_gold_equal_a_slow_loop():
    # Gold without ties takes resample_ranks' shortcut (each item its own group).
    rng = np.random.default_rng(11)
    gold = rng.permutation(25).astype(float) + rng.uniform(0, 0.1, size=25)
    assert len(np.unique(gold)) == 25
    model = np.stack([gold + rng.normal(scale=s, size=25) for s in (0.5, 5.0)])
    idx = stats.resample_indices(25, 60, seed=2)
    fast = stats.correlation_replicates(model, gold, idx)
    slow = np.array([[sps.spearmanr(layer[i], gold[i]).statistic for layer in model] for i in idx])
    np.testing.assert_allclose(fast, slow, atol=1e-12)
    # the ranks themselves, against scipy's rankdata of each resample (draws of one item tie)
    counts = stats.resample_counts(idx, 25)
    ranks = stats.resample_ranks(gold, counts)
    for b, drawn in enumerate(idx):
        expected = sps.rankdata(gold[drawn])
        np.testing.assert_allclose(ranks[b, drawn], expected, atol=1e-12)


def test_weighted_self_similarity_of_one_layer_equals_a_brute_force_weighted_mean():
    rng = np.random.default_rng(5)
    units = rng.normal(size=(9, 4))
    units /= np.linalg.norm(units, axis=1, keepdims=True)
    counts = stats.resample_counts(stats.resample_indices(9, 12, seed=4), 9)
    fast = stats.weighted_self_similarity(
        units, counts, dtype=np.float64
    )  # [n, d]: one value per replicate
    assert fast.shape == (12,)
    cos = units @ units.T
    for b, w in enumerate(counts):
        pair_weights = np.outer(w, w)
        np.fill_diagonal(pair_weights, 0.0)
        assert fast[b] == pytest.approx((pair_weights * cos).sum() / pair_weights.sum(), abs=1e-12)


def test_weighted_self_similarity_of_one_layer_equals_its_slice_of_many():
    """The ``[n, d]`` branch of :func:`cvsp.stats.weighted_self_similarity` (used on one
    layer, as in chapter 1's note on seeds) agrees with the ``[n, L, d]`` branch; a
    mutant of it (``- square`` -> ``+ square``) survived the fast suite."""
    from cvsp import metrics, stats

    units = metrics.unit(np.random.default_rng(1).normal(size=(20, 3, 5)))
    counts = stats.resample_counts(stats.resample_indices(20, 40, seed=2), 20)
    many = stats.weighted_self_similarity(units, counts, np.float64)
    for layer in range(3):
        one = stats.weighted_self_similarity(units[:, layer], counts, np.float64)
        np.testing.assert_allclose(one, many[:, layer], atol=1e-12)
    ones = np.ones((1, 20))
    assert stats.weighted_self_similarity(units[:, 0], ones, np.float64)[0] == pytest.approx(
        metrics.self_similarity(units[:, 0]), abs=1e-12
    )
