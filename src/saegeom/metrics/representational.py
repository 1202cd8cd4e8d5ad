"""Representational similarity of paired rows: SVCCA, PWCCA, CKA (plain and debiased), RSA, kNN overlap.

Every function takes X: (n, d1) and Y: (n, d2) — rows are the same n items seen
by two models, columns are each model's dimensions (widths may differ) — and
returns a float. Inputs may be numpy or torch; all arithmetic is float64.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

from saegeom.metrics._arrays import paired
from saegeom.metrics._arrays import svd as _svd
from saegeom.metrics.registry import MetricUndefined, register_metric


def _centre(x: np.ndarray) -> np.ndarray:
    return x - x.mean(axis=0, keepdims=True)


def _orthonormal_basis(x: np.ndarray, tol: float = 1e-10) -> np.ndarray:
    """(n, r) orthonormal basis of the column space of (already centred) x."""
    u, s, _ = _svd(x, full_matrices=False)
    keep = s > tol * max(s.max(initial=0.0), 1e-300)
    return u[:, keep]


def _svd_reduce(x: np.ndarray, var_fraction: float) -> np.ndarray:
    """Top singular directions of centred x explaining ``var_fraction`` of *its own* variance."""
    u, s, _ = _svd(x, full_matrices=False)
    var = s**2
    if var.sum() == 0:
        return u[:, :0]
    k = int(np.searchsorted(np.cumsum(var) / var.sum(), var_fraction - 1e-12) + 1)
    return u[:, :k] * s[:k]


def _cca(x: np.ndarray, y: np.ndarray, name: str):
    """CCA of paired (n, dx), (n, dy) data via orthonormal bases of the centred column spaces.

    Returns ``(qx, u, rho)``: qx (n, kx) the basis of X, u (kx, m) the left singular
    vectors of Qxᵀ Qy and rho (m,) the canonical correlations, descending, m = min(kx, ky).
    Raises :class:`MetricUndefined` when a side has no variance, or when kx + ky > n − 1:
    centred data live in an (n − 1)-dimensional space, so the two column spaces then
    intersect and some canonical correlations are 1 by construction, whatever the data.
    """
    n = len(x)
    qx, qy = _orthonormal_basis(_centre(x)), _orthonormal_basis(_centre(y))
    kx, ky = qx.shape[1], qy.shape[1]
    if kx == 0 or ky == 0:
        raise MetricUndefined(f"{name} undefined: a side has no variance across items")
    if kx + ky > n - 1:
        raise MetricUndefined(f"{name} undefined: kx={kx} + ky={ky} kept components exceed n - 1 = {n - 1} "
                              f"(n={n} items), so some canonical correlations are 1 by construction")
    u, rho, _ = _svd(qx.T @ qy, full_matrices=False)
    return qx, u, np.clip(rho, 0.0, 1.0)


def canonical_correlations(x, y) -> np.ndarray:
    """Canonical correlations of paired X: (n, dx), Y: (n, dy), descending: singular values of Qxᵀ Qy.

    Raises :class:`MetricUndefined` when a side has no variance or when the ranks kx, ky
    of the centred sides satisfy kx + ky > n − 1 (see :func:`_cca`).
    """
    x, y = paired(x, y)
    return _cca(x, y, "canonical correlations")[2]


@register_metric("svcca")
def svcca(x, y, var_fraction: float = 0.99) -> float:
    """SVCCA (Raghu et al. 2017): SVD-reduce each side to ``var_fraction`` of its own
    total variance, then the mean canonical correlation of the reduced pair.

    X: (n, dx), Y: (n, dy). Undefined (:class:`MetricUndefined`) when the kept components
    kx + ky exceed n − 1 (canonical correlations of 1 by construction).
    """
    x, y = paired(x, y)
    _check_items(x, 2, "svcca")
    return float(_cca(_svd_reduce(_centre(x), var_fraction), _svd_reduce(_centre(y), var_fraction), "svcca")[2].mean())


@register_metric("pwcca")
def pwcca(x, y) -> float:
    """Projection-weighted CCA (Morcos et al. 2018), with the weighting of the paper.

    X: (n, dx), Y: (n, dy). No SVD truncation: CCA of the centred matrices gives
    correlations ρ_i; they are averaged with weights α_i = Σ_j |⟨h_i, z_j⟩|, where h_i
    is the i-th canonical variate (unit norm over items) and z_j the j-th centred column
    of the side with *fewer* columns (neurons) — X when the widths are equal, as in the
    reference code — so pwcca(X, Y) = pwcca(Y, X) whenever the widths differ. The weights
    use that side's neurons one by one, so it is invariant to permuting, flipping or
    isotropically scaling them, but not to rotating them.

    Which weighting: the paper's (above, on centred data). google/svcca's ``compute_pwcca``
    differs in two ways: it adds neuron i's mean back to the i-th canonical direction before
    orthonormalising them (QR), and it projects the *uncentred* activations. Its weights, unlike
    the correlations they weight, then change when a neuron is shifted by a constant — and SAE
    codes are non-negative with means that track firing frequency, so the weights would partly
    rank directions by how often their latents fire. Here every part of the measure is invariant
    to per-neuron offsets, as CCA itself is. The two agree when the columns have zero mean; on
    non-negative activations an independent side-by-side run found them 0.002–0.024 apart.
    Undefined (:class:`MetricUndefined`) when rank(X) + rank(Y) > n − 1 after centring.
    """
    x, y = paired(x, y)
    _check_items(x, 2, "pwcca")
    a, b = (x, y) if x.shape[1] <= y.shape[1] else (y, x)
    qa, u, rho = _cca(a, b, "pwcca")
    h = qa @ u  # (n, m) canonical variates of the weighting side, orthonormal columns
    alpha = np.abs(h.T @ _centre(a)).sum(axis=1)
    return float((alpha * rho).sum() / alpha.sum())


@register_metric("linear_cka")
def linear_cka(x, y) -> float:
    """Linear CKA (Kornblith et al. 2019): ‖Yᵀ X‖²_F / (‖Xᵀ X‖_F ‖Yᵀ Y‖_F) on centred columns."""
    x, y = paired(x, y)
    _check_items(x, 2, "linear_cka")
    x, y = _centre(x), _centre(y)
    den = np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y)
    if den == 0:
        raise MetricUndefined("linear_cka undefined: a side has no variance across items")
    return float(np.linalg.norm(y.T @ x) ** 2 / den)


_BLOCK = 1 << 22  # elements per intermediate block (32 MB of float64)


def _sq_frob_cross(a: np.ndarray, b: np.ndarray) -> float:
    """‖aᵀ b‖²_F = tr(a aᵀ b bᵀ) for a: (n, p), b: (n, q), without a p×q or n×n matrix.

    Sums blocks of aᵀb (over columns of a) or of the Gram products (over rows),
    whichever is cheaper, so memory stays O(n·(p + q)).
    """
    n, p = a.shape
    q = b.shape[1]
    if p * q <= n * n:
        step = max(1, _BLOCK // max(q, 1))
        return sum(float(np.sum((a[:, i:i + step].T @ b) ** 2)) for i in range(0, p, step))
    step = max(1, _BLOCK // n)
    return sum(float(np.sum((a[i:i + step] @ a.T) * (b[i:i + step] @ b.T))) for i in range(0, n, step))


def _hsic_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased HSIC (Song et al. 2012) of the linear kernels K = XXᵀ, L = YYᵀ, from X: (n, dx), Y: (n, dy).

    [tr(K̃L̃) + (1ᵀK̃1)(1ᵀL̃1)/((n−1)(n−2)) − 2/(n−2)·1ᵀK̃L̃1] / (n(n−3)), K̃ = K with zero
    diagonal, evaluated through X and Y only: tr(K̃L̃) = ‖XᵀY‖²_F − Σ_i‖x_i‖²‖y_i‖²,
    K̃1 = X(Xᵀ1) − diag(K).
    """
    n = len(x)
    dk, dl = np.einsum("ij,ij->i", x, x), np.einsum("ij,ij->i", y, y)
    sx, sy = x.sum(axis=0), y.sum(axis=0)
    k1, l1 = x @ sx - dk, y @ sy - dl
    trace = _sq_frob_cross(x, y) - dk @ dl
    return float((trace + k1.sum() * l1.sum() / ((n - 1) * (n - 2)) - 2.0 / (n - 2) * (k1 @ l1)) / (n * (n - 3)))


@register_metric("linear_cka_debiased")
def linear_cka_debiased(x, y) -> float:
    """Debiased linear CKA (unbiased HSIC of Song et al. 2012; Nguyen et al. 2021, Kornblith's code).

    X: (n, dx), Y: (n, dy), rows paired. HSIC_u(K, L) / sqrt(HSIC_u(K, K) HSIC_u(L, L))
    with K = XXᵀ, L = YYᵀ, in O(n·d) memory (no n×n Gram matrix). Unlike plain CKA,
    its expectation is ≈ 0 for independent X and Y at small n; it can be negative.
    Columns are centred first (the value does not depend on it). Needs n ≥ 4, and is
    undefined (:class:`MetricUndefined`) when HSIC_u(K, K) or HSIC_u(L, L) is ≤ 0.
    """
    x, y = paired(x, y)
    _check_items(x, 4, "linear_cka_debiased")
    x, y = _centre(x), _centre(y)
    hxx, hyy = _hsic_unbiased(x, x), _hsic_unbiased(y, y)
    if hxx <= 0 or hyy <= 0:
        raise MetricUndefined(f"linear_cka_debiased undefined: unbiased HSIC of a side with itself is "
                              f"{min(hxx, hyy):.3g} <= 0 (no or too little variance across items)")
    return float(_hsic_unbiased(x, y) / np.sqrt(hxx * hyy))


def _directions(x: np.ndarray, inner: str) -> np.ndarray:
    """Rows as unit vectors for cosine (``inner='cosine'``) or Pearson (row-centred first)."""
    if inner == "correlation":
        x = x - x.mean(axis=1, keepdims=True)
    elif inner != "cosine":
        raise ValueError(f"unknown inner similarity {inner!r}; expected correlation or cosine")
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norm == 0, 1.0, norm)


def defined_items(x: np.ndarray, y: np.ndarray, inner: str = "cosine") -> np.ndarray:
    """(n,) items whose row has a direction in both X and Y.

    An all-zero row (a token on which none of the paired latents fires) — or a
    constant row, for correlation — has no cosine/correlation with anything: its
    dissimilarities and neighbours would be decided by tie-breaking, which is the
    same on both sides and fakes agreement. RSA and k-NN measures drop such items.
    """
    def ok(m):
        if inner == "correlation":
            m = m - m.mean(axis=1, keepdims=True)
        return np.linalg.norm(m, axis=1) > 1e-12

    return ok(x) & ok(y)


def rdm(x: np.ndarray, inner: str = "correlation") -> np.ndarray:
    """Upper-triangle (i < j) of the item × item dissimilarity matrix, (n(n-1)/2,).

    ``correlation``: 1 − Pearson r between rows; ``cosine``: 1 − cosine between rows.
    """
    u = _directions(x, inner)
    iu = np.triu_indices(len(u), 1)
    return 1.0 - (u @ u.T)[iu]


# Decimals kept before comparing similarities/dissimilarities: exactly tied values (e.g. identical
# sparse codes) must stay tied instead of being ordered by float rounding noise (~1e-16).
_DECIMALS = 10


@register_metric("rsa")
def rsa(x, y, inner: str = "correlation", outer: str = "spearman") -> float:
    """RSA: rank (Spearman) or Pearson correlation between the two models' RDMs over items.

    X: (n, dx), Y: (n, dy). Items without a direction in X or Y (see :func:`defined_items`)
    are dropped first. RDM entries are rounded to 10 decimals before ranking, so exact
    ties (frequent for sparse codes) get average ranks instead of an order set by float
    noise, which would depend on e.g. the column order.
    """
    x, y = paired(x, y)
    if inner not in ("correlation", "cosine"):
        raise ValueError(f"unknown inner similarity {inner!r}; expected correlation or cosine")
    if outer not in ("spearman", "pearson"):
        raise ValueError(f"unknown RSA outer correlation {outer!r}; expected spearman or pearson")
    keep = defined_items(x, y, inner)
    x, y = x[keep], y[keep]
    _check_items(x, 3, "rsa")
    a, b = rdm(x, inner), rdm(y, inner)
    ar, br = np.round(a, _DECIMALS), np.round(b, _DECIMALS)
    if ar.min() == ar.max() or br.min() == br.max():
        raise MetricUndefined("rsa undefined: an RDM is constant (e.g. identical items)")
    if outer == "spearman":
        a, b = rankdata(ar), rankdata(br)
    a, b = a - a.mean(), b - b.mean()
    return float(a @ b / np.sqrt((a @ a) * (b @ b)))


def knn_sets(x: np.ndarray, k: int, seed: int | np.random.Generator = 0) -> np.ndarray:
    """(n, k) indices of each row's k nearest other rows by cosine similarity (as a set; order unspecified).

    x: (n, d). Cosines are rounded to 10 decimals; every row strictly above the k-th
    largest value is taken and the remaining places are filled uniformly at random
    among the rows tied at it (``np.random.default_rng(seed)``: deterministic per seed).
    A fixed tie-break (e.g. by index) would pick the same neighbours in two unrelated
    spaces and fake agreement.
    """
    n = len(x)
    if k < 1:
        raise ValueError(f"k-NN needs k >= 1, got k={k}")
    if k >= n:
        raise MetricUndefined(f"k-NN needs k < n items; k={k}, n={n}")
    u = _directions(x, "cosine")
    sim = np.round(u @ u.T, _DECIMALS)
    np.fill_diagonal(sim, -np.inf)
    kth = np.partition(sim, n - k, axis=1)[:, n - k, None]  # each row's k-th largest similarity
    # sort key: above the k-th value first, then the ties in random order, then the rest
    key = np.where(sim > kth, -np.inf, np.inf)
    tied = sim == kth
    key[tied] = np.random.default_rng(seed).random(np.count_nonzero(tied))
    return np.argpartition(key, k - 1, axis=1)[:, :k]


def _knn_overlap(x, y, k: int, seed: int) -> np.ndarray:
    """Per item |N_X(i) ∩ N_Y(i)|, over the items with a direction on both sides."""
    x, y = paired(x, y)
    keep = defined_items(x, y, "cosine")
    x, y = x[keep], y[keep]
    if k < 1:
        raise ValueError(f"k-NN needs k >= 1, got k={k}")
    if k >= len(x):
        raise MetricUndefined(f"k-NN needs k < n items with non-zero rows; k={k}, n={len(x)}")
    rng = np.random.default_rng(seed)  # one stream: X's and Y's tie-breaks are independent draws
    nx, ny = knn_sets(x, k, rng), knn_sets(y, k, rng)
    n = len(x)
    mx, my = np.zeros((n, n), bool), np.zeros((n, n), bool)
    rows = np.arange(n)[:, None]
    mx[rows, nx] = True
    my[rows, ny] = True
    return (mx & my).sum(axis=1)


@register_metric("mutual_knn")
def mutual_knn(x, y, k: int = 10, seed: int = 0) -> float:
    """Mean fraction of each item's k cosine-nearest neighbours shared by X and Y (Huh et al. 2024).

    X: (n, dx), Y: (n, dy). Exact ties at the k-th neighbour are broken at random
    (``seed``; see :func:`knn_sets`).
    """
    return float(_knn_overlap(x, y, k, seed).mean() / k)


@register_metric("jaccard_knn")
def jaccard_knn(x, y, k: int = 10, seed: int = 0) -> float:
    """Mean Jaccard index |N_X(i) ∩ N_Y(i)| / |N_X(i) ∪ N_Y(i)| of k-NN sets (cosine).

    X: (n, dx), Y: (n, dy). Exact ties at the k-th neighbour are broken at random
    (``seed``; see :func:`knn_sets`).
    """
    inter = _knn_overlap(x, y, k, seed)
    return float((inter / (2 * k - inter)).mean())


def _check_items(x: np.ndarray, n_min: int, name: str) -> None:
    if len(x) < n_min:
        raise MetricUndefined(f"{name} needs at least {n_min} paired items, got {len(x)}")
