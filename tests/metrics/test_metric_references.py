"""Each metric against an independent float64 computation, and its invariances."""

import itertools

import numpy as np
import pytest
import torch
from scipy.linalg import sqrtm
from scipy.optimize import linprog
from scipy.spatial.distance import pdist
from scipy.stats import ortho_group, spearmanr
from sklearn.neighbors import NearestNeighbors

from saegeom.metrics import (
    METRICS,
    MetricUndefined,
    jaccard_knn,
    linear_cka,
    mutual_knn,
    orthogonal_procrustes,
    permutation_procrustes,
    pwcca,
    rsa,
    soft_matching,
    svcca,
)

rng = np.random.default_rng(0)


def _pair(n=40, d1=6, d2=8, noise=0.5, seed=0):
    r = np.random.default_rng(seed)
    x = r.standard_normal((n, d1))
    y = x @ r.standard_normal((d1, d2)) + noise * r.standard_normal((n, d2))
    return x, y


# ---------- independent references -------------------------------------------------------

def ref_cka(x, y):
    n = len(x)
    h = np.eye(n) - 1 / n
    k, l_ = x @ x.T, y @ y.T
    hsic = lambda a, b: np.trace(a @ h @ b @ h)  # noqa: E731
    return hsic(k, l_) / np.sqrt(hsic(k, k) * hsic(l_, l_))


def ref_cca(x, y):
    """Canonical correlations from covariance matrices: svd(Sxx^-1/2 Sxy Syy^-1/2)."""
    x, y = x - x.mean(0), y - y.mean(0)
    sxx, syy, sxy = x.T @ x, y.T @ y, x.T @ y
    m = np.linalg.inv(np.real(sqrtm(sxx))) @ sxy @ np.linalg.inv(np.real(sqrtm(syy)))
    return np.linalg.svd(m, compute_uv=False)


def ref_pca_reduce(x, frac):
    x = x - x.mean(0)
    evals, evecs = np.linalg.eigh(x.T @ x)
    order = np.argsort(evals)[::-1]
    evals, evecs = evals[order], evecs[:, order]
    k = int(np.argmax(np.cumsum(evals) / evals.sum() >= frac - 1e-12)) + 1
    return x @ evecs[:, :k]


def ref_pwcca(x, y):
    """Morcos et al. (2018) from covariance matrices, no truncation; weights from the narrower side (X if equal)."""
    if x.shape[1] > y.shape[1]:
        x, y = y, x
    x, y = x - x.mean(0), y - y.mean(0)
    sxx, syy, sxy = x.T @ x, y.T @ y, x.T @ y
    ixx = np.linalg.inv(np.real(sqrtm(sxx)))
    u, rho, _ = np.linalg.svd(ixx @ sxy @ np.linalg.inv(np.real(sqrtm(syy))))
    m = x.shape[1]
    h = x @ ixx @ u[:, :m]          # canonical variates of the narrower side
    h /= np.linalg.norm(h, axis=0)
    alpha = np.abs(h.T @ x).sum(1)
    return (alpha * rho[:m]).sum() / alpha.sum()


def ref_knn(x, k):
    nn = NearestNeighbors(n_neighbors=k + 1, metric="cosine").fit(x)
    idx = nn.kneighbors(x, return_distance=False)
    return [set(row[row != i][:k]) for i, row in enumerate(idx)]


def norm_frob(x):
    x = x - x.mean(0)
    return x / np.linalg.norm(x)


# ---------- value checks --------------------------------------------------------------

def test_linear_cka_matches_hsic_form():
    x, y = _pair()
    assert linear_cka(x, y) == pytest.approx(ref_cka(x, y), rel=1e-10)
    assert linear_cka(torch.tensor(x), torch.tensor(y)) == pytest.approx(ref_cka(x, y), rel=1e-10)


def test_svcca_matches_covariance_cca():
    x, y = _pair(n=60, d1=5, d2=7, noise=1.0)
    assert svcca(x, y, var_fraction=1.0) == pytest.approx(ref_cca(x, y).mean(), rel=1e-8)
    xr, yr = ref_pca_reduce(x, 0.9), ref_pca_reduce(y, 0.9)
    assert svcca(x, y, var_fraction=0.9) == pytest.approx(ref_cca(xr, yr).mean(), rel=1e-8)
    # each side reduced by its own variance: a side with one dominant direction keeps 1 component
    y1 = np.outer(x[:, 0], [10, 0, 0]) + 0.001 * rng.standard_normal((60, 3))
    assert svcca(x, y1, 0.99) == pytest.approx(ref_cca(x, ref_pca_reduce(y1, 0.99)).mean(), rel=1e-8)


def test_pwcca_matches_reference_and_identity():
    x, y = _pair(n=80, d1=5, d2=6, noise=1.0)
    assert pwcca(x, y) == pytest.approx(ref_pwcca(x, y), rel=1e-8)
    assert pwcca(y, x) == pytest.approx(ref_pwcca(x, y), rel=1e-8)
    assert pwcca(x, x @ rng.standard_normal((5, 5))) == pytest.approx(1.0)


@pytest.mark.parametrize("inner, scipy_metric", [("correlation", "correlation"), ("cosine", "cosine")])
def test_rsa_matches_scipy(inner, scipy_metric):
    x, y = _pair(n=30)
    ref = spearmanr(pdist(x, scipy_metric), pdist(y, scipy_metric)).statistic
    assert rsa(x, y, inner=inner) == pytest.approx(ref, rel=1e-10)
    from scipy.stats import pearsonr

    ref_p = pearsonr(pdist(x, scipy_metric), pdist(y, scipy_metric)).statistic
    assert rsa(x, y, inner=inner, outer="pearson") == pytest.approx(ref_p, rel=1e-10)


def test_knn_overlaps_match_sklearn():
    x, y = _pair(n=50, noise=1.0)
    nx, ny = ref_knn(x, 5), ref_knn(y, 5)
    assert mutual_knn(x, y, k=5) == pytest.approx(np.mean([len(a & b) / 5 for a, b in zip(nx, ny, strict=True)]))
    assert jaccard_knn(x, y, k=5) == pytest.approx(np.mean([len(a & b) / len(a | b) for a, b in zip(nx, ny,
                                                                                                    strict=True)]))
    with pytest.raises(MetricUndefined, match="k-NN"):
        mutual_knn(x[:5], y[:5], k=5)


def test_orthogonal_procrustes_closed_form():
    x, y = _pair(d1=5, d2=5)
    a, b = norm_frob(x), norm_frob(y)
    ref = np.sqrt(max(2 - 2 * np.linalg.svd(a.T @ b, compute_uv=False).sum(), 0))
    assert orthogonal_procrustes(x, y) == pytest.approx(ref, rel=1e-8)
    # different widths: zero padding, so the nuclear norm of the (5 × 7) cross term
    x, y = _pair(d1=5, d2=7)
    a, b = norm_frob(x), norm_frob(y)
    ref = np.sqrt(max(2 - 2 * np.linalg.svd(a.T @ b, compute_uv=False).sum(), 0))
    assert orthogonal_procrustes(x, y) == pytest.approx(ref, rel=1e-8)


def test_permutation_procrustes_brute_force():
    x, y = _pair(d1=5, d2=5)
    a, b = norm_frob(x), norm_frob(y)
    ref = min(np.linalg.norm(a - b[:, list(p)]) for p in itertools.permutations(range(5)))
    assert permutation_procrustes(x, y) == pytest.approx(ref, rel=1e-10)


def test_soft_matching_brute_force_and_lp():
    x, y = _pair(d1=5, d2=5)
    a, b = norm_frob(x) * np.sqrt(5), norm_frob(y) * np.sqrt(5)
    ref = min(sum(np.sum((a[:, i] - b[:, p[i]]) ** 2) for i in range(5)) / 5 for p in itertools.permutations(range(5)))
    assert soft_matching(x, y) == pytest.approx(np.sqrt(ref), rel=1e-8)
    # unequal widths: the transport LP solved by scipy's linprog
    x, y = _pair(d1=3, d2=4)
    a, b = norm_frob(x) * np.sqrt(3), norm_frob(y) * np.sqrt(4)
    cost = ((a[:, :, None] - b[:, None, :]) ** 2).sum(0).ravel()
    eq = np.vstack([np.kron(np.eye(3), np.ones(4)), np.kron(np.ones(3), np.eye(4))])
    lp = linprog(cost, A_eq=eq, b_eq=np.r_[np.full(3, 1 / 3), np.full(4, 1 / 4)], bounds=(0, None))
    assert soft_matching(x, y) == pytest.approx(np.sqrt(lp.fun), rel=1e-6)


# ---------- invariances ----------------------------------------------------------------

REPRESENTATIONAL = ["svcca", "pwcca", "linear_cka", "linear_cka_debiased", "rsa", "mutual_knn", "jaccard_knn",
                    "orthogonal_procrustes", "permutation_procrustes", "soft_matching"]
DIRECTIONS = ["mmcs", "mcc", "fraction_recovered"]
# invariance to rotating Y; for pwcca (equal widths: weights from X) this holds for Y only, see test_metrics_fixes
ROTATION_INVARIANT = {"svcca", "pwcca", "linear_cka", "linear_cka_debiased", "mutual_knn", "jaccard_knn",
                      "orthogonal_procrustes"}
NOT_ROTATION_INVARIANT = {"permutation_procrustes", "soft_matching", "mmcs", "mcc"}


def _kw(name):
    return {"k": 5} if "knn" in name else ({"inner": "cosine"} if name == "rsa" else {})


def test_registry_is_complete():
    assert set(REPRESENTATIONAL + DIRECTIONS) <= set(METRICS)
    assert not METRICS["orthogonal_procrustes"].higher_is_similar and METRICS["linear_cka"].higher_is_similar


@pytest.mark.parametrize("name", REPRESENTATIONAL)
def test_column_permutation_and_item_order_and_scale(name):
    x, y = _pair(n=40, d1=6, d2=6, noise=1.0)
    f, kw = METRICS[name], _kw(name)
    v = f(x, y, **kw)
    assert f(x, y[:, rng.permutation(6)], **kw) == pytest.approx(v, abs=1e-9)
    assert f(x[:, rng.permutation(6)], y, **kw) == pytest.approx(v, abs=1e-9)
    items = rng.permutation(40)
    assert f(x[items], y[items], **kw) == pytest.approx(v, abs=1e-9)
    assert f(3.0 * x, 0.2 * y, **kw) == pytest.approx(v, abs=1e-9)


@pytest.mark.parametrize("name", DIRECTIONS)
def test_directions_shared_dimension_permutation_and_scale(name):
    x, y = rng.standard_normal((10, 6)), rng.standard_normal((14, 6))
    f = METRICS[name]
    v = f(x, y)
    p = rng.permutation(6)
    assert f(x[:, p], y[:, p]) == pytest.approx(v)
    assert f(2 * x, 5 * y) == pytest.approx(v)


@pytest.mark.parametrize("name", sorted(ROTATION_INVARIANT | {"rsa"}))
def test_rotation_invariance(name):
    x, y = _pair(n=40, d1=6, d2=6, noise=1.0)
    q = ortho_group.rvs(6, random_state=1)
    f, kw = METRICS[name], _kw(name)
    assert f(x, y @ q, **kw) == pytest.approx(f(x, y, **kw), abs=1e-9)


@pytest.mark.parametrize("name", sorted(NOT_ROTATION_INVARIANT))
def test_not_rotation_invariant(name):
    x, y = _pair(n=40, d1=6, d2=6, noise=0.3)
    q = ortho_group.rvs(6, random_state=2)
    f = METRICS[name]
    assert abs(f(x, y @ q) - f(x, y)) > 1e-3


def test_identical_inputs_are_maximally_similar():
    x, _ = _pair(n=30)
    for name in ("svcca", "pwcca", "linear_cka", "linear_cka_debiased", "rsa", "mutual_knn", "jaccard_knn"):
        assert METRICS[name](x, x, **_kw(name)) == pytest.approx(1.0)
    for name in ("orthogonal_procrustes", "permutation_procrustes", "soft_matching"):
        assert METRICS[name](x, x) == pytest.approx(0.0, abs=1e-6)


def test_items_without_direction_do_not_fake_agreement():
    """Independent sparse codes where many tokens are silent: tie-broken neighbours of zero rows
    would agree on both sides; dropping undefined items keeps k-NN and RSA at chance."""
    r = np.random.default_rng(5)
    n, k = 300, 5
    x = np.where(r.random((n, 8)) < 0.15, r.random((n, 8)), 0.0)
    y = np.where(r.random((n, 8)) < 0.15, r.random((n, 8)), 0.0)
    keep = (np.abs(x).sum(1) > 0) & (np.abs(y).sum(1) > 0)
    assert keep.sum() < 0.8 * n
    chance = k / (keep.sum() - 1)
    assert mutual_knn(x, y, k=k) == pytest.approx(mutual_knn(x[keep], y[keep], k=k))
    assert mutual_knn(x, y, k=k) < 3 * chance
    assert rsa(x, y) == pytest.approx(rsa(x[keep], y[keep]))
    assert abs(rsa(x, y)) < 0.05
