"""p-values that stay honest: undefined null draws, calibration under a true null, narrow error handling."""

import numpy as np
import pandas as pd
import pytest

from saegeom.compare import Context, row_with_null
from saegeom.metrics import permutation_test
from saegeom.metrics.baselines import NullPools, make_sampler, p_value
from saegeom.metrics.registry import register_metric


def test_undefined_draws_leave_the_denominator():
    null = np.array([np.nan, np.nan, 0.6, 0.4])
    p, note = p_value(0.5, null, True, reachable_alpha=None)
    assert p == pytest.approx((1 + 1) / (1 + 2)) and note == ""
    p, note = p_value(0.5, null, True, min_valid_fraction=0.75)
    assert np.isnan(p) and "2 of 4" in note
    p, note = p_value(0.5, np.full(10, np.nan), True)
    assert np.isnan(p) and "0 of 10" in note


def test_all_undefined_null_gives_nan_not_a_small_p():
    """The case that used to report p = 1/(n+1): 4 latents firing on the same tokens (value 1), unrelated
    between the models; every row has the same direction, so the k-NN draws are all undefined."""
    rng = np.random.default_rng(0)
    fire = rng.random(1024) < 0.05
    x = np.outer(fire, np.ones(4))
    y = np.outer(fire, rng.random(4) + 0.5)
    r = permutation_test("mutual_knn", x, y, n_baseline=50, baseline="token_shuffle", seed=0, k=10)
    assert r.n_valid < 25
    assert np.isnan(r.p_value) and "null draws defined" in r.note
    row = row_with_null(Context(), x, y, metric="mutual_knn", subspace="all", representation="activations",
                     pairing="hungarian", n_baseline=50, baseline="token_shuffle", seed=0, n_pairs=4, k=10)
    assert np.isnan(row["p_value"]) or row["n_baseline_valid"] >= 25  # never a p without defined draws


@pytest.mark.parametrize("null", ["repairing", "random_partners"])
def test_p_values_are_uniform_under_a_true_null(null):
    """X and Y independent, so the observed statistic is exchangeable with the null draws and
    p is uniform on {1/(n+1), ..., 1}. Kolmogorov–Smirnov over 300 seeds: the largest gap between the
    empirical CDF and the uniform one at the grid points stays below the 1% critical value 1.63/sqrt(300)."""
    n_baseline, seeds = 39, 300
    ps = []
    for s in range(seeds):
        rng = np.random.default_rng(1000 + s)
        if null == "repairing":  # rows are pairs (decoder): re-pairing rows moves CKA
            x, y = rng.standard_normal((25, 4)), rng.standard_normal((25, 5))
            pools = NullPools(axis=0)
        else:  # columns are pairs (activations): partners replaced by other columns of an unrelated pool
            x = rng.standard_normal((25, 4))
            pool = rng.standard_normal((25, 60))  # 60 "live B latents", unrelated to X
            y_idx = rng.choice(60, 4, replace=False)
            y, pools = pool[:, y_idx], NullPools(axis=1, b_pool=pool, y_pool_idx=y_idx)
        r = permutation_test("linear_cka", x, y, n_baseline=n_baseline, baseline=null, seed=s, pools=pools)
        ps.append(r.p_value)
    ps = np.sort(ps)
    grid = np.arange(1, n_baseline + 2) / (n_baseline + 1)
    ecdf = np.searchsorted(ps, grid + 1e-12, side="right") / seeds
    assert np.max(np.abs(ecdf - grid)) < 1.63 / np.sqrt(seeds)
    assert abs(np.mean(ps <= 0.05) - 0.05) < 0.04


def test_random_partners_draws_distinct_live_latents_with_the_partners_bin_counts():
    """Every live latent is a candidate, the partners included; each draw has the partners' count per
    frequency bin, distinct latents, and over many draws every latent of a used bin appears."""
    rng = np.random.default_rng(2)
    pool = rng.standard_normal((10, 40))
    bins = np.repeat(np.arange(4), 10)  # pool columns 0-9 bin 0, 10-19 bin 1, ...
    y_idx = np.array([0, 1, 15, 33])
    pools = NullPools(axis=1, b_pool=pool, b_pool_bins=bins, y_pool_idx=y_idx, y_bins=bins[y_idx])
    draw = make_sampler("random_partners", pool[:, :4], pool[:, y_idx], pools)
    seen = set()
    for _ in range(300):
        _, y = draw(rng)
        cols = [int(np.flatnonzero((pool == y[:, [j]]).all(0))[0]) for j in range(4)]
        assert len(set(cols)) == 4
        assert sorted(c // 10 for c in cols) == [0, 0, 1, 3]  # the partners' bin counts
        seen |= set(cols)
    assert seen == set(range(10)) | set(range(10, 20)) | set(range(30, 40))  # partners included


@register_metric("_test_buggy_metric")
def _buggy(x, y):
    raise ValueError("a bug, not an undefined value")


def test_a_bug_is_not_reported_as_an_undefined_metric():
    x = np.random.default_rng(3).standard_normal((10, 3))
    with pytest.raises(ValueError, match="a bug"):
        row_with_null(Context(), x, x, metric="_test_buggy_metric", subspace="all", representation="decoder",
                   pairing="hungarian", n_baseline=5, baseline="repairing", seed=0, n_pairs=10)


def test_undefined_metric_becomes_a_nan_row_with_the_reason():
    x = np.random.default_rng(4).standard_normal((5, 3))
    row = row_with_null(Context(), x, x, metric="mutual_knn", subspace="all", representation="decoder",
                     pairing="hungarian", n_baseline=5, baseline="repairing", seed=0, n_pairs=5, k=10)
    assert np.isnan(row["value"]) and "k" in row["note"]
    assert pd.isna(row["p_value"])


def test_a_null_that_only_permutes_the_partners_gives_p_one_not_a_float_noise_p():
    """Columns as pairs with every live latent a partner: each draw is a column permutation of the
    same latents, which moves no measure; ties up to float noise count, so p is 1 (never small)."""
    rng = np.random.default_rng(5)
    pool = rng.standard_normal((30, 8))
    x = rng.standard_normal((30, 8))
    r = permutation_test("linear_cka", x, pool, n_baseline=40, pools=NullPools(axis=1, b_pool=pool,
                                                                               y_pool_idx=np.arange(8)))
    assert np.isfinite(r.value) and r.p_value == 1.0 and r.n_distinct == 1
    # repeated partners (several pairs share one latent) are replaced by one latent repeated alike
    small = make_sampler("random_partners", x.T[:8], pool.T[[0, 0, 1, 1, 2, 2, 3, 3]],
                         NullPools(axis=0, b_pool=pool.T[:6], y_pool_idx=np.array([0, 0, 1, 1, 2, 2, 3, 3])))
    for _ in range(20):
        rows = small(rng)[1]
        assert all(np.array_equal(rows[2 * i], rows[2 * i + 1]) for i in range(4))
        assert len({r.tobytes() for r in rows}) == 4
