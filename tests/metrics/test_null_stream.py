"""One null stream per (subspace, null), shared by every metric: same values as the plain metric on the
same draws, float32 within its stated tolerance, one draw sequence whatever the metric set."""

import numpy as np
import pytest

from saegeom.metrics import fast_nulls as fn
from saegeom.metrics import get_metric, permutation_test
from saegeom.metrics.baselines import NullPools, NullStream, permutation_tests

GRAM = ["linear_cka", "linear_cka_debiased", "svcca", "pwcca", "orthogonal_procrustes", "permutation_procrustes",
        "soft_matching"]
OTHERS = ["mmcs", "mutual_knn", "jaccard_knn", "rsa"]
OPTIONS = {"mutual_knn": {"k": 5}, "jaccard_knn": {"k": 5}}


def _world(n=48, d=6, extra=30, seed=0):
    """X (n, d); a pool of n partners (a noisy rotation of X) + ``extra`` unrelated latents, with bins."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    q = np.linalg.qr(rng.standard_normal((d, d)))[0]
    pool = np.concatenate([x @ q + 0.7 * rng.standard_normal((n, d)), rng.standard_normal((extra, d))])
    bins = rng.integers(0, 3, len(pool))
    pools = NullPools(axis=0, b_pool=pool, b_pool_bins=bins, y_pool_idx=np.arange(n), y_bins=bins[:n])
    return x, pool[:n], pool, pools


@pytest.mark.parametrize("null", ["random_partners", "repairing"])
def test_shared_stream_equals_the_plain_metric_on_the_recorded_draws(null):
    """Every metric's null values from the shared stream (float64) equal the plain metric, a second
    implementation, evaluated here on the very index sets the stream drew."""
    x, y, pool, pools = _world()
    metrics = {m: OPTIONS.get(m, {}) for m in GRAM + OTHERS}
    stream = NullStream(null, 5)
    res = permutation_tests(metrics, x, y, n_baseline=12, baseline=null, seed=5, pools=pools, precision="float64",
                            device=None, stream=stream, record=True)
    source = pool if null == "random_partners" else y
    for m, kw in metrics.items():
        plain = np.array([get_metric(m)(x, source[idx], **kw) for idx in stream.index_sets])
        tol = 1e-7 if m == "soft_matching" else 1e-9  # assignment vs POT's LP: same optimum, solver rounding
        np.testing.assert_allclose(res[m].samples, plain, rtol=tol, atol=1e-11, err_msg=m)
        assert res[m].value == pytest.approx(get_metric(m)(x, y, **kw), rel=1e-12)


def test_float32_products_stay_within_the_stated_tolerance(monkeypatch):
    """float32 shared products vs float64, same draws: every gram-family value within FLOAT32_ATOL (measured
    max over seeds 0-4 of this test: 8e-8), and not bit-identical (the float32 path really ran)."""
    monkeypatch.setattr(fn, "FLOAT32_MIN_ITEMS", 0)
    x, y, pool, pools = _world(n=200, d=16, extra=100, seed=1)
    args = dict(n_baseline=20, seed=2, pools=pools, device=None)
    lo = permutation_tests(GRAM, x, y, precision="float32", **args)
    hi = permutation_tests(GRAM, x, y, precision="float64", **args)
    moved = 0.0
    for m in GRAM:
        diff = np.abs(lo[m].samples - hi[m].samples)
        assert diff.max() <= fn.FLOAT32_ATOL, m
        moved = max(moved, diff.max())
    assert moved > 0


def test_torch_product_path_on_cpu_equals_numpy(monkeypatch):
    """The device code path (torch, here on the CPU) gives the numpy path's values."""
    pytest.importorskip("torch")
    monkeypatch.setattr(fn, "FLOAT32_MIN_ITEMS", 0)
    x, y, pool, pools = _world(seed=3)
    args = dict(n_baseline=8, seed=1, pools=pools)
    for precision, tol in (("float64", 1e-10), ("float32", fn.FLOAT32_ATOL)):
        dev = permutation_tests(GRAM, x, y, precision=precision, device="cpu", **args)
        ref = permutation_tests(GRAM, x, y, precision="float64", device=None, **args)
        for m in GRAM:
            np.testing.assert_allclose(dev[m].samples, ref[m].samples, rtol=0, atol=tol, err_msg=f"{m} {precision}")


def test_rotation_of_x_leaves_rotation_invariant_nulls_unchanged():
    """CKA, debiased CKA, SVCCA and orthogonal Procrustes do not see an orthogonal change of X's basis:
    the shared stream's null values (same draws) must not move either."""
    x, y, pool, pools = _world(seed=4)
    q = np.linalg.qr(np.random.default_rng(9).standard_normal((x.shape[1],) * 2))[0]
    inv = ["linear_cka", "linear_cka_debiased", "svcca", "orthogonal_procrustes"]
    a = permutation_tests(inv, x, y, n_baseline=25, seed=3, pools=pools, precision="float64", device=None)
    b = permutation_tests(inv, x @ q, y, n_baseline=25, seed=3, pools=pools, precision="float64", device=None)
    for m in inv:
        np.testing.assert_allclose(a[m].samples, b[m].samples, rtol=1e-9, atol=1e-11, err_msg=m)
        np.testing.assert_equal(a[m].p_value, b[m].p_value)


def test_one_stream_serves_every_metric(monkeypatch):
    """The null is drawn n_baseline times for all metrics together, the shared rows serve each draw
    once, and a metric's null values do not depend on which other metrics share its stream."""
    x, y, pool, pools = _world(seed=5)
    served = []
    orig = fn.SharedRows.draw

    def spy(self, idx):
        served.append(id(idx))
        return orig(self, idx)

    monkeypatch.setattr(fn.SharedRows, "draw", spy)
    stream = NullStream("random_partners", 7)
    joint = permutation_tests({m: OPTIONS.get(m, {}) for m in GRAM + OTHERS}, x, y, n_baseline=10, seed=7,
                              pools=pools, precision="float64", device=None, stream=stream, record=True)
    assert stream.n_draws == 10 and len(stream.index_sets) == 10
    assert len(set(served)) == 10  # one RowDraw per draw, asked for by the 7 gram-family metrics
    alone = permutation_test("svcca", x, y, n_baseline=10, seed=7, pools=pools)
    np.testing.assert_allclose(alone.samples, joint["svcca"].samples, rtol=1e-12)
    # a stream drawn for a nullable that redraws X too (random_subset) is shared as well
    pools_all = NullPools(axis=0, pairs_x=np.concatenate([x, pool[:20]]), pairs_y=np.concatenate([y, pool[20:40]]))
    subset = permutation_tests(["linear_cka", "rsa"], x[:20], y[:20], n_baseline=6, baseline="random_subset",
                               seed=1, pools=pools_all)
    for m in ("linear_cka", "rsa"):
        single = permutation_test(m, x[:20], y[:20], n_baseline=6, baseline="random_subset", seed=1, pools=pools_all)
        np.testing.assert_array_equal(subset[m].samples, single.samples)


def test_the_stream_keeps_the_null_exchangeable():
    """Every draw of the stratified random_partners stream has the partners' bin counts, and the
    observed partner set is among the draws (it is a possible draw); the draws cover the configurations."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3))
    pool = rng.standard_normal((8, 3))
    bins = np.array([0, 0, 1, 1, 0, 0, 1, 1])
    partners = np.array([0, 2, 4, 6])  # two in each bin: C(4, 2)² = 36 possible sets
    pools = NullPools(axis=0, b_pool=pool, b_pool_bins=bins, y_pool_idx=partners, y_bins=bins[partners])
    stream = NullStream("random_partners", 0)
    permutation_tests(["linear_cka"], x, pool[partners], n_baseline=600, seed=0, pools=pools, precision="float64",
                      device=None, stream=stream, record=True, min_valid_fraction=0.0)
    sets = {tuple(sorted(s)) for s in stream.index_sets}
    assert all(np.bincount(bins[s], minlength=2).tolist() == [2, 2] for s in stream.index_sets)
    assert tuple(sorted(partners)) in sets
    assert len(sets) == 36


def test_undefined_metric_is_reported_and_the_others_still_run():
    x, y, pool, pools = _world(n=10, d=6, extra=5, seed=6)  # svcca/pwcca: kx + ky > n - 1
    res = permutation_tests(["pwcca", "linear_cka"], x, y, n_baseline=5, seed=0, pools=pools)
    assert isinstance(res["pwcca"], ValueError) and "n - 1" in str(res["pwcca"])
    assert np.isfinite(res["linear_cka"].samples).all()


def test_subsampled_rsa_draws_equal_the_plain_metric_on_the_subsample(monkeypatch):
    """Above RSA_EXACT_MAX_ITEMS, X's ranks are computed once: each draw equals the plain rsa of the
    fixed subsample of X against the drawn Y's rows on it."""
    monkeypatch.setattr(fn, "RSA_EXACT_MAX_ITEMS", 60)
    monkeypatch.setattr(fn, "RSA_SUBSAMPLE_ITEMS", 40)
    x, y, pool, pools = _world(n=90, d=5, extra=20, seed=8)
    stream = NullStream("random_partners", 4)
    r = permutation_tests(["rsa"], x, y, n_baseline=10, seed=4, pools=pools, stream=stream, record=True)["rsa"]
    items = np.sort(np.random.default_rng(0).choice(90, 40, replace=False))  # the evaluator's subsample (seed 0)
    plain = [get_metric("rsa")(x[items], pool[idx][items]) for idx in stream.index_sets]
    np.testing.assert_allclose(r.samples, plain, rtol=1e-12, atol=1e-14)
    assert "subsample of 40 of 90" in r.note


@pytest.mark.parametrize("case", ["random_subset", "mismatched_subspace", "activations"])
def test_shared_pair_work_equals_the_plain_metric(case):
    """Nulls that redraw X too, and column draws (activations): the draw's shared centring, SVDs and k-NN
    overlaps give the plain metric's values on the same draws (fast=False recomputes each metric)."""
    rng = np.random.default_rng(11)
    metrics = {"svcca": {}, "pwcca": {}, "orthogonal_procrustes": {}, "mutual_knn": {"k": 4},
               "jaccard_knn": {"k": 4}, "linear_cka": {}}
    if case == "activations":  # tokens × pairs, columns drawn from B's live latents
        x = np.maximum(rng.standard_normal((40, 6)), 0)
        pool = np.maximum(np.concatenate([x + 0.5 * rng.standard_normal((40, 6)), rng.standard_normal((40, 9))], 1), 0)
        y, pools, null = pool[:, :6], NullPools(axis=1, b_pool=pool, y_pool_idx=np.arange(6)), "random_partners"
    else:
        allx, ally = rng.standard_normal((70, 5)), rng.standard_normal((70, 7))
        ally[:, :5] += allx
        x, y = allx[:30], ally[:30]
        pools = NullPools(axis=0, pairs_x=allx, pairs_y=ally, others=[ally[30:50], ally[50:]])
        null = case
    args = dict(n_baseline=12, baseline=null, seed=2, pools=pools, min_valid_fraction=0.0)
    fast = permutation_tests(metrics, x, y, **args)
    plain = permutation_tests(metrics, x, y, fast=False, **args)
    for m in metrics:
        assert np.isfinite(plain[m].samples).sum() >= 6, m
        np.testing.assert_allclose(fast[m].samples, plain[m].samples, rtol=1e-9, atol=1e-11, err_msg=m)


def test_float32_never_decides_a_tie(monkeypatch):
    """A null whose every draw is the observed configuration (each partner alone in its frequency
    stratum): float64 gives p = 1 with one distinct value; float32 must too (draws near the observed value
    are re-taken in float64), and small problems use float64 whatever is asked."""
    x, y, pool, pools = _world(n=60, d=6, seed=12)
    metrics = ["svcca", "linear_cka", "linear_cka_debiased", "orthogonal_procrustes"]
    own = np.arange(60)
    pools = NullPools(axis=0, b_pool=y, b_pool_bins=own, y_pool_idx=own, y_bins=own)
    args = dict(n_baseline=30, seed=0, pools=pools, device=None)
    hi = permutation_tests(metrics, x, y, precision="float64", **args)
    assert fn.SharedRows(x, y, "float32").precision == "float64"  # 60 < FLOAT32_MIN_ITEMS items
    monkeypatch.setattr(fn, "FLOAT32_MIN_ITEMS", 0)
    lo = permutation_tests(metrics, x, y, precision="float32", **args)
    for m in metrics:
        assert hi[m].p_value == 1.0 and hi[m].n_distinct == 1, m
        assert lo[m].p_value == 1.0 and lo[m].n_distinct == 1, m
