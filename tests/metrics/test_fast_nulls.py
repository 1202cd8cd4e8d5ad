"""The fast null evaluators give the plain loop's null values (same draws) and p-values."""

import numpy as np
import pytest

from saegeom.metrics import fast_nulls as fn
from saegeom.metrics import permutation_test, rsa
from saegeom.metrics.baselines import NullPools

FAST = ["linear_cka", "linear_cka_debiased", "svcca", "pwcca", "orthogonal_procrustes", "permutation_procrustes",
        "soft_matching", "mmcs", "mutual_knn", "jaccard_knn", "rsa"]


def _paired(n=60, d=6, pool_extra=0, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    pool = np.concatenate([x @ np.linalg.qr(rng.standard_normal((d, d)))[0] + 0.5 * rng.standard_normal((n, d)),
                           rng.standard_normal((pool_extra, d))])
    return x, pool[:n], pool


@pytest.mark.parametrize("metric", FAST)
@pytest.mark.parametrize("null", ["repairing", "random_partners_all", "random_partners_subset"])
def test_fast_equals_plain(metric, null):
    x, y, pool = _paired(pool_extra=0 if null != "random_partners_subset" else 40)
    pools = NullPools(axis=0, b_pool=pool, y_pool_idx=np.arange(len(y)) if null.endswith("subset") else None)
    kind = "repairing" if null == "repairing" else "random_partners"
    kw = {"k": 5} if "knn" in metric else {}
    if null.endswith("subset"):  # 40 other latents, 60 partners: draws fall back to the whole pool
        pools = NullPools(axis=0, b_pool=pool)
    args = dict(n_baseline=40, baseline=kind, seed=3, pools=pools, **kw)
    slow = permutation_test(metric, x, y, fast=False, **args)
    quick = permutation_test(metric, x, y, fast=True, **args)
    assert np.isfinite(slow.samples).all()
    tol = 1e-7 if metric == "soft_matching" else 1e-9  # LP solver vs assignment: same optimum, solver rounding
    np.testing.assert_allclose(quick.samples, slow.samples, rtol=tol, atol=1e-11)
    assert quick.value == pytest.approx(slow.value, rel=1e-12)
    np.testing.assert_equal(quick.p_value, slow.p_value)  # NaN (e.g. a null that moves nothing) equals NaN


@pytest.mark.parametrize("metric", ["pwcca", "soft_matching", "linear_cka", "svcca"])
@pytest.mark.parametrize("widths", [(5, 7), (7, 5)])
def test_fast_equals_plain_with_different_widths(metric, widths):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((40, widths[0]))
    y = x[:, :1] + rng.standard_normal((40, widths[1]))
    args = dict(n_baseline=30, baseline="repairing", seed=1, pools=NullPools(axis=0))
    a, b = permutation_test(metric, x, y, fast=True, **args), permutation_test(metric, x, y, fast=False, **args)
    np.testing.assert_allclose(a.samples, b.samples, rtol=1e-7, atol=1e-11)


def test_fast_path_is_used_and_can_differ_from_a_wrong_shortcut(monkeypatch):
    """The test above would pass vacuously if no evaluator ran: check one runs, and that a broken
    one is caught (the comparison can fail)."""
    x, y, pool = _paired()
    called = []
    orig = fn._LinearCKA.__call__

    def spy(self, idx):
        called.append(1)
        return orig(self, idx) + 1e-6

    monkeypatch.setattr(fn._LinearCKA, "__call__", spy)
    r = permutation_test("linear_cka", x, y, n_baseline=5, baseline="repairing", pools=NullPools(axis=0))
    plain = permutation_test("linear_cka", x, y, n_baseline=5, baseline="repairing", pools=NullPools(axis=0),
                             fast=False)
    assert len(called) == 5 and not np.allclose(r.samples, plain.samples, rtol=1e-9, atol=1e-11)


def test_ties_and_zero_rows_fall_back_to_plain():
    rng = np.random.default_rng(1)
    x = (rng.random((50, 4)) < 0.3).astype(float)  # binary rows: tied cosines, some zero rows
    y = (rng.random((50, 4)) < 0.3).astype(float)
    for metric in ("mutual_knn", "rsa", "mmcs", "linear_cka"):
        args = dict(n_baseline=20, baseline="repairing", seed=2, pools=NullPools(axis=0))
        kw = {"k": 5} if metric == "mutual_knn" else {}
        a = permutation_test(metric, x, y, fast=True, **args, **kw)
        b = permutation_test(metric, x, y, fast=False, **args, **kw)
        np.testing.assert_allclose(a.samples, b.samples, rtol=1e-9, atol=1e-11, err_msg=metric)


def test_subsampled_rsa_note_and_error_bound(monkeypatch):
    """Above RSA_EXACT_MAX_ITEMS the value and the draws use a fixed subsample of items. Measured
    over seeds 0-4 at n = 600 with 150-item subsamples: |subsampled − full| ≤ 0.027; bound 0.05."""
    monkeypatch.setattr(fn, "RSA_EXACT_MAX_ITEMS", 200)
    monkeypatch.setattr(fn, "RSA_SUBSAMPLE_ITEMS", 150)
    for s in range(3):
        x, y, _ = _paired(n=600, d=8, seed=s)
        r = permutation_test("rsa", x, y, n_baseline=19, baseline="repairing", seed=s, pools=NullPools(axis=0))
        assert "subsample of 150 of 600 items" in r.note
        assert abs(r.value - rsa(x, y)) < 0.05
        assert r.p_value == pytest.approx(1 / 20)
