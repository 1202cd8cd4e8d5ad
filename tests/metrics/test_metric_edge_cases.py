"""Regression tests for metric fixes: k-NN ties, RSA ties, CCA with too few items, published PWCCA,
debiased linear CKA, and MetricUndefined for degenerate inputs.

Every expectation comes from an independent computation (closed form, exact arithmetic or a
second straightforward implementation), never from the code under test.
"""

import math
from fractions import Fraction

import numpy as np
import pytest
from scipy.linalg import sqrtm
from scipy.spatial.distance import pdist
from scipy.stats import ortho_group, spearmanr
from sklearn.neighbors import NearestNeighbors

import saegeom.metrics.representational as rep
from saegeom.metrics import (
    METRICS,
    MetricUndefined,
    jaccard_knn,
    linear_cka,
    linear_cka_debiased,
    mcc,
    mmcs,
    mutual_knn,
    orthogonal_procrustes,
    permutation_procrustes,
    pwcca,
    rsa,
    soft_matching,
    svcca,
)
from saegeom.metrics.representational import canonical_correlations, knn_sets
from saegeom.metrics.similarity import fraction_recovered

# ---------- 1. k-NN ties ------------------------------------------------------------------


def _one_hot_codes(n, n_latents, seed, values="one"):
    """(n, n_latents) codes where each token fires exactly one latent; also returns the latent per token."""
    r = np.random.default_rng(seed)
    g = r.integers(0, n_latents, n)
    x = np.zeros((n, n_latents))
    x[np.arange(n), g] = 1.0 if values == "one" else r.uniform(0.1, 5.0, n)
    return x, g


def analytic_mutual_knn(gx, gy, k):
    """E[mutual_knn] when neighbours are k uniform draws from the item's own group minus itself.

    Cosine is 1 inside a group and 0 across, so N_X(i) is a uniform k-subset of G_x(i) \\ {i},
    independently N_Y(i) of G_y(i) \\ {i}; an item j ≠ i in both groups is in both sets with
    probability k/(|G_x|−1) · k/(|G_y|−1).
    """
    out = []
    for i in range(len(gx)):
        sx, sy = np.sum(gx == gx[i]), np.sum(gy == gy[i])
        both = np.sum((gx == gx[i]) & (gy == gy[i]))
        out.append((both - 1) * k**2 / ((sx - 1) * (sy - 1)) / k)
    return float(np.mean(out))


@pytest.mark.parametrize("values", ["one", "random_positive"])
def test_knn_ties_are_broken_at_random(values):
    n, k, seeds = 600, 10, range(20)
    x, gx = _one_hot_codes(n, 3, seed=11, values=values)
    y, gy = _one_hot_codes(n, 3, seed=12, values=values)
    expected = analytic_mutual_knn(gx, gy, k)
    assert expected == pytest.approx(0.0167, abs=1e-3)
    assert abs(mutual_knn(x, y, k=k) - expected) < 0.03  # one draw (default seed); a fixed tie-break gave ≈ 0.28
    vals = np.array([mutual_knn(x, y, k=k, seed=s) for s in seeds])
    # Given the data, per-item overlaps are independent across items (each row has its own random
    # keys) and, within an item, sums of negatively associated indicators, so Var(overlap_i) <= its
    # mean (~1.7): one seed's mean over 600 items has sd <= sqrt(1.7/600)/k ≈ 0.0053, the mean over
    # 20 seeds <= 0.0012. 5 sd = 0.006; the fixed tie-break gave ≈ 0.28.
    assert vals.mean() == pytest.approx(expected, abs=0.006)
    assert jaccard_knn(x, y, k=k) <= mutual_knn(x, y, k=k) < 0.05
    assert jaccard_knn(x, y, k=k) < 0.03


def test_knn_seed_is_deterministic_and_ties_use_it():
    x, _ = _one_hot_codes(200, 3, seed=3)
    y, _ = _one_hot_codes(200, 3, seed=4)
    assert mutual_knn(x, y, k=5, seed=7) == mutual_knn(x, y, k=5, seed=7)
    assert jaccard_knn(x, y, k=5, seed=7) == jaccard_knn(x, y, k=5, seed=7)
    np.testing.assert_array_equal(np.sort(knn_sets(x, 5, seed=1), 1), np.sort(knn_sets(x, 5, seed=1), 1))
    assert len({mutual_knn(x, y, k=5, seed=s) for s in range(5)}) > 1


def test_knn_float_noise_does_not_split_ties():
    """Rows = positive multiples of 3 dense directions: in-group cosines are 1 up to ~1e-16 noise.
    They must count as tied (neighbours random within the group, varying with the seed) rather
    than be ordered by the noise, which would give the same sets for every seed."""
    r = np.random.default_rng(8)
    n, k = 300, 5
    dirs = r.standard_normal((3, 16))
    g = r.integers(0, 3, n)
    x = r.uniform(0.1, 10.0, (n, 1)) * dirs[g]
    sets = [knn_sets(x, k, seed=s) for s in range(3)]
    for s in sets:
        assert np.all(g[s] == g[:, None])  # neighbours are from the item's own group
    same = np.mean([set(a) == set(b) for a, b in zip(sets[0], sets[1], strict=True)])
    # chance that two random 5-subsets of ~99 group-mates coincide is ~1e-8
    assert same < 0.05


def ref_knn(x, k):
    nn = NearestNeighbors(n_neighbors=k + 1, metric="cosine").fit(x)
    idx = nn.kneighbors(x, return_distance=False)
    return [set(row[row != i][:k]) for i, row in enumerate(idx)]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_knn_untied_data_matches_sklearn_for_any_seed(seed):
    r = np.random.default_rng(seed)
    x = r.standard_normal((80, 7))
    y = x[:, :5] @ r.standard_normal((5, 9)) + r.standard_normal((80, 9))
    ref = ref_knn(x, 6)
    for s in (0, 1, 99):
        assert [set(row) for row in knn_sets(x, 6, seed=s)] == ref
    nx, ny = ref_knn(x, 6), ref_knn(y, 6)
    want = np.mean([len(a & b) / 6 for a, b in zip(nx, ny, strict=True)])
    assert mutual_knn(x, y, k=6, seed=0) == pytest.approx(want, abs=1e-15)
    assert mutual_knn(x, y, k=6, seed=5) == pytest.approx(want, abs=1e-15)


# ---------- 2. RSA ties -------------------------------------------------------------------


def _binary_codes(n, d, seed, p_two=0.3):
    """(n, d) 0/1 codes: every token fires one latent, ~p_two of them a second one."""
    r = np.random.default_rng(seed)
    z = np.zeros((n, d))
    z[np.arange(n), r.integers(0, d, n)] = 1.0
    two = np.flatnonzero(r.random(n) < p_two)
    z[two, r.integers(0, d, len(two))] = 1.0
    return z


def _exact_dissimilarity(inner, d):
    """1 − r for 0/1 rows, r an exact function of the integer counts: equal true values give equal floats."""

    def f(a, b):
        ab, sa, sb = int(a @ b), int(a.sum()), int(b.sum())
        if inner == "correlation":
            num, den = d * ab - sa * sb, (d * sa - sa * sa) * (d * sb - sb * sb)
        else:
            num, den = ab, sa * sb
        return 1.0 - math.copysign(math.sqrt(Fraction(num * num, den)), num)

    return f


@pytest.mark.parametrize("inner", ["correlation", "cosine"])
def test_rsa_exact_ties_do_not_depend_on_column_order(inner):
    x, y = _binary_codes(200, 6, seed=1), _binary_codes(200, 6, seed=2)
    dist = _exact_dissimilarity(inner, 6)
    ref = spearmanr(pdist(x, dist), pdist(y, dist)).statistic
    v = rsa(x, y, inner=inner)
    assert v == pytest.approx(ref, abs=1e-12)
    perm_rng = np.random.default_rng(0)
    for _ in range(5):
        p, q = perm_rng.permutation(6), perm_rng.permutation(6)
        assert rsa(x, y[:, p], inner=inner) == pytest.approx(v, abs=1e-12)
        assert rsa(x[:, q], y[:, p], inner=inner) == pytest.approx(v, abs=1e-12)


# ---------- 3. CCA with too few items -----------------------------------------------------


@pytest.mark.parametrize("n", [10, 20, 40])
@pytest.mark.parametrize("name", ["svcca", "pwcca"])
def test_cca_with_too_few_items_is_undefined(name, n):
    r = np.random.default_rng(n)
    x, y = r.standard_normal((n, 48)), r.standard_normal((n, 64))  # independent
    with pytest.raises(MetricUndefined, match=rf"kx=\d+.*ky=\d+.*n={n}"):
        METRICS[name](x, y)
    with pytest.raises(MetricUndefined, match="kx="):
        canonical_correlations(x, y)


def test_cca_boundary_and_defined_case():
    r = np.random.default_rng(0)
    # pwcca keeps all components: ranks 48 + 64 must be <= n − 1
    x, y = r.standard_normal((112, 48)), r.standard_normal((112, 64))
    with pytest.raises(MetricUndefined):
        pwcca(x, y)
    x, y = r.standard_normal((113, 48)), r.standard_normal((113, 64))
    assert len(canonical_correlations(x, y)) == 48
    x, y = r.standard_normal((400, 48)), r.standard_normal((400, 64))
    for f in (svcca, pwcca):
        assert 0 < f(x, y) < 0.5


# ---------- 4. PWCCA (Morcos et al. 2018) ---------------------------------------------------


def ref_pwcca(x, y):
    """Projection-weighted CCA from covariance matrices; weights from the side with fewer columns (X if equal)."""
    if x.shape[1] > y.shape[1]:
        x, y = y, x
    x, y = x - x.mean(0), y - y.mean(0)
    ixx = np.linalg.inv(np.real(sqrtm(x.T @ x)))
    iyy = np.linalg.inv(np.real(sqrtm(y.T @ y)))
    u, rho, _ = np.linalg.svd(ixx @ (x.T @ y) @ iyy)
    m = x.shape[1]
    h = x @ ixx @ u[:, :m]  # canonical variates of the narrower side
    h /= np.linalg.norm(h, axis=0)
    alpha = np.abs(h.T @ x).sum(1)
    return float((alpha * rho[:m]).sum() / alpha.sum())


def _related(n, dx, dy, seed, small=True):
    r = np.random.default_rng(seed)
    z = r.standard_normal((n, 3))
    x = np.hstack([z, r.standard_normal((n, dx - 3))]) * np.r_[np.ones(dx - 1), 0.03 if small else 1.0]
    y = z @ r.standard_normal((3, dy)) + 0.7 * r.standard_normal((n, dy))
    return x, y


def test_pwcca_matches_published_definition():
    # X's last column has < 1% of its variance: the published measure keeps it (no SVD truncation)
    x, y = _related(150, 5, 8, seed=0)
    assert pwcca(x, y) == pytest.approx(ref_pwcca(x, y), rel=1e-9)
    x, y = _related(150, 9, 4, seed=1)
    assert pwcca(x, y) == pytest.approx(ref_pwcca(x, y), rel=1e-9)
    x, y = _related(150, 6, 6, seed=2)  # equal widths: weights from X
    assert pwcca(x, y) == pytest.approx(ref_pwcca(x, y), rel=1e-9)
    assert pwcca(y, x) == pytest.approx(ref_pwcca(y, x), rel=1e-9)


@pytest.mark.parametrize("dx, dy", [(5, 8), (9, 4), (3, 20)])
def test_pwcca_is_symmetric_when_widths_differ(dx, dy):
    x, y = _related(120, dx, dy, seed=dx)
    assert pwcca(x, y) == pytest.approx(pwcca(y, x), rel=1e-12)


def test_pwcca_invariances():
    """ρ_i are invariant to any invertible map of either side; the weights use the narrower side's
    neurons one by one (Σ_j |⟨h_i, z_j⟩|), so that side is only free up to permutation, sign flips,
    isotropic scale and shifts of its neurons — rotating it changes the published measure."""
    r = np.random.default_rng(5)
    x, y = _related(120, 5, 8, seed=3, small=False)
    v = pwcca(x, y)
    qy = ortho_group.rvs(8, random_state=1)
    assert pwcca(x, y @ qy) == pytest.approx(v, rel=1e-9)
    assert pwcca(x, y @ r.standard_normal((8, 8)) + 3.0) == pytest.approx(v, rel=1e-9)
    flips = r.permutation(5), np.where(r.random(5) < 0.5, -1.0, 1.0)
    assert pwcca(4.0 * x[:, flips[0]] * flips[1] + 2.0, 0.1 * y) == pytest.approx(v, rel=1e-9)
    assert abs(pwcca(x @ ortho_group.rvs(5, random_state=0), y) - v) > 1e-3
    assert pwcca(x, x @ r.standard_normal((5, 5))) == pytest.approx(1.0)


# ---------- 5. debiased linear CKA ----------------------------------------------------------


def ref_cka_debiased(x, y):
    """Song et al. (2012) unbiased HSIC on n×n linear Gram matrices, straight from the formula."""
    n = len(x)
    one = np.ones(n)

    def hsic(k, l_):
        k, l_ = k.copy(), l_.copy()
        np.fill_diagonal(k, 0.0)
        np.fill_diagonal(l_, 0.0)
        return (np.trace(k @ l_) + (one @ k @ one) * (one @ l_ @ one) / ((n - 1) * (n - 2))
                - 2.0 / (n - 2) * (one @ k @ l_ @ one)) / (n * (n - 3))

    k, l_ = x @ x.T, y @ y.T
    return hsic(k, l_) / np.sqrt(hsic(k, k) * hsic(l_, l_))


@pytest.mark.parametrize("n, dx, dy", [(30, 5, 7), (12, 40, 50), (4, 3, 2), (60, 1, 3)])
def test_linear_cka_debiased_matches_gram_reference(n, dx, dy):
    r = np.random.default_rng(n + dx)
    x = r.standard_normal((n, dx)) + 2.0  # not centred: the reference sees the raw data
    y = x[:, :1] @ r.standard_normal((1, dy)) + r.standard_normal((n, dy)) - 1.0
    assert linear_cka_debiased(x, y) == pytest.approx(ref_cka_debiased(x, y), rel=1e-9, abs=1e-12)


def test_linear_cka_debiased_blocked_products(monkeypatch):
    """Tiny blocks force the blocked ‖XᵀY‖²_F over several column blocks and several row blocks."""
    r = np.random.default_rng(1)
    for n, dx, dy in [(30, 9, 7), (10, 30, 40)]:
        x, y = r.standard_normal((n, dx)), r.standard_normal((n, dy))
        monkeypatch.setattr(rep, "_BLOCK", 16)
        v = linear_cka_debiased(x, y)
        monkeypatch.undo()
        assert v == pytest.approx(ref_cka_debiased(x, y), rel=1e-9, abs=1e-12)


def test_linear_cka_debiased_is_unbiased_for_independent_data():
    n, d, seeds = 20, 10, 300
    r = np.random.default_rng(0)
    pairs = [(r.standard_normal((n, d)), r.standard_normal((n, d))) for _ in range(seeds)]
    deb = np.array([linear_cka_debiased(x, y) for x, y in pairs])
    plain = np.array([linear_cka(x, y) for x, y in pairs])
    # the estimator's expectation is 0 under independence: its mean over 300 draws lies within
    # 4 standard errors (sd ≈ 0.075 → 4 SE ≈ 0.017); plain CKA of the same draws is ≈ 0.33
    assert abs(deb.mean()) < 4 * deb.std(ddof=1) / np.sqrt(seeds)
    assert plain.mean() > 0.25


def test_linear_cka_debiased_invariances():
    r = np.random.default_rng(4)
    x = r.standard_normal((40, 6))
    y = x @ r.standard_normal((6, 8)) + r.standard_normal((40, 8))
    v = linear_cka_debiased(x, y)
    qx, qy = ortho_group.rvs(6, random_state=2), ortho_group.rvs(8, random_state=3)
    assert linear_cka_debiased(x @ qx, y @ qy) == pytest.approx(v, rel=1e-9)
    assert linear_cka_debiased(3.0 * x, 0.01 * y) == pytest.approx(v, rel=1e-9)
    assert linear_cka_debiased(x + 5.0, y - 2.0) == pytest.approx(v, rel=1e-9)
    assert linear_cka_debiased(y, x) == pytest.approx(v, rel=1e-12)
    assert linear_cka_debiased(x, x) == pytest.approx(1.0)
    assert METRICS["linear_cka_debiased"].higher_is_similar


def test_linear_cka_debiased_undefined():
    r = np.random.default_rng(0)
    with pytest.raises(MetricUndefined, match="at least 4"):
        linear_cka_debiased(r.standard_normal((3, 2)), r.standard_normal((3, 2)))
    with pytest.raises(MetricUndefined, match="HSIC"):
        linear_cka_debiased(np.ones((10, 3)), r.standard_normal((10, 2)))


# ---------- MetricUndefined for degenerate inputs, ValueError for caller bugs ----------------

_r = np.random.default_rng(0)
_G = _r.standard_normal((30, 4))
_H = _r.standard_normal((30, 5))
_CONST = np.ones((30, 4))

DEGENERATE = [
    ("svcca few items", lambda: svcca(_G[:1], _H[:1])),
    ("svcca constant", lambda: svcca(_CONST, _H)),
    ("pwcca constant", lambda: pwcca(_G, _CONST)),
    ("linear_cka constant", lambda: linear_cka(_CONST, _H)),
    ("linear_cka few items", lambda: linear_cka(_G[:1], _H[:1])),
    ("rsa few items", lambda: rsa(_G[:2], _H[:2])),
    ("rsa constant RDM", lambda: rsa(np.tile(_G[:1], (30, 1)), _H)),
    ("mutual_knn k >= n", lambda: mutual_knn(_G[:5], _H[:5], k=5)),
    ("jaccard_knn k >= n", lambda: jaccard_knn(_G[:5], _H[:5], k=5)),
    ("knn_sets k >= n", lambda: knn_sets(_G[:5], 5)),
    ("mmcs widths", lambda: mmcs(_G, _H)),
    ("mcc widths", lambda: mcc(_G, _H)),
    ("fraction_recovered widths", lambda: fraction_recovered(_G, _H)),
    ("orthogonal_procrustes constant", lambda: orthogonal_procrustes(_CONST, _H)),
    ("permutation_procrustes constant", lambda: permutation_procrustes(_G, _CONST)),
    ("soft_matching constant", lambda: soft_matching(_CONST, _H)),
]


@pytest.mark.parametrize("case", DEGENERATE, ids=[c[0] for c in DEGENERATE])
def test_degenerate_inputs_raise_metric_undefined(case):
    with pytest.raises(MetricUndefined):
        case[1]()


CALLER_BUGS = [
    ("rsa unknown inner", lambda: rsa(_G[:2], _H[:2], inner="euclid")),
    ("rsa unknown outer", lambda: rsa(_G[:2], _H[:2], outer="kendall")),
    ("1-D input", lambda: linear_cka(_G[:, 0], _H[:, 0])),
    ("row mismatch", lambda: svcca(_G, _H[:20])),
    ("k < 1", lambda: mutual_knn(_G, _H, k=0)),
]


@pytest.mark.parametrize("case", CALLER_BUGS, ids=[c[0] for c in CALLER_BUGS])
def test_caller_bugs_raise_plain_value_error(case):
    with pytest.raises(ValueError) as err:
        case[1]()
    assert not isinstance(err.value, MetricUndefined)
