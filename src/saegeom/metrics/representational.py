"""Representational similarity of paired rows: SVCCA, PWCCA, CKA, RSA, kNN overlap.

Every function takes X: (n, d1) and Y: (n, d2) — rows are the same n items seen
by two models, columns are each model's dimensions (widths may differ) — and
returns a float. Inputs may be numpy or torch; all arithmetic is float64.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

from saegeom.metrics._arrays import paired
from saegeom.metrics.registry import register_metric


def _centre(x: np.ndarray) -> np.ndarray:
    return x - x.mean(axis=0, keepdims=True)


def _orthonormal_basis(x: np.ndarray, tol: float = 1e-10) -> np.ndarray:
    """(n, r) orthonormal basis of the column space of (already centred) x."""
    u, s, _ = np.linalg.svd(x, full_matrices=False)
    keep = s > tol * max(s.max(initial=0.0), 1e-300)
    return u[:, keep]


def _svd_reduce(x: np.ndarray, var_fraction: float) -> np.ndarray:
    """Top singular directions of centred x explaining ``var_fraction`` of *its own* variance."""
    u, s, _ = np.linalg.svd(x, full_matrices=False)
    var = s**2
    if var.sum() == 0:
        return u[:, :0]
    k = int(np.searchsorted(np.cumsum(var) / var.sum(), var_fraction - 1e-12) + 1)
    return u[:, :k] * s[:k]


def canonical_correlations(x, y) -> np.ndarray:
    """Canonical correlations of paired data, descending: singular values of Qxᵀ Qy."""
    x, y = paired(x, y)
    qx, qy = _orthonormal_basis(_centre(x)), _orthonormal_basis(_centre(y))
    if qx.shape[1] == 0 or qy.shape[1] == 0:
        return np.zeros(0)
    return np.clip(np.linalg.svd(qx.T @ qy, compute_uv=False), 0.0, 1.0)


@register_metric("svcca")
def svcca(x, y, var_fraction: float = 0.99) -> float:
    """SVCCA (Raghu et al. 2017): SVD-reduce each side to ``var_fraction`` of its own
    total variance, then the mean canonical correlation of the reduced pair."""
    x, y = paired(x, y)
    _check_items(x, 2, "svcca")
    rho = canonical_correlations(_svd_reduce(_centre(x), var_fraction), _svd_reduce(_centre(y), var_fraction))
    if not len(rho):
        raise ValueError("svcca undefined: a side has no variance across items")
    return float(rho.mean())


@register_metric("pwcca")
def pwcca(x, y, var_fraction: float = 0.99) -> float:
    """Projection-weighted CCA (Morcos et al. 2018), weights from the X side.

    After the same SVD reduction as SVCCA, canonical correlations ρ_i are weighted
    by α_i ∝ Σ_j |⟨h_i, x_j⟩|, with h_i X's i-th canonical variate (unit norm over
    items) and x_j the columns of the centred X.
    """
    x, y = paired(x, y)
    _check_items(x, 2, "pwcca")
    xr, yr = _svd_reduce(_centre(x), var_fraction), _svd_reduce(_centre(y), var_fraction)
    qx, qy = _orthonormal_basis(xr), _orthonormal_basis(yr)
    if qx.shape[1] == 0 or qy.shape[1] == 0:
        raise ValueError("pwcca undefined: a side has no variance across items")
    u, rho, _ = np.linalg.svd(qx.T @ qy, full_matrices=False)
    h = qx @ u  # (n, m) canonical variates of X, orthonormal columns
    alpha = np.abs(h.T @ _centre(x)).sum(axis=1)
    return float((alpha * np.clip(rho, 0, 1)).sum() / alpha.sum())


@register_metric("linear_cka")
def linear_cka(x, y) -> float:
    """Linear CKA (Kornblith et al. 2019): ‖Yᵀ X‖²_F / (‖Xᵀ X‖_F ‖Yᵀ Y‖_F) on centred columns."""
    x, y = paired(x, y)
    _check_items(x, 2, "linear_cka")
    x, y = _centre(x), _centre(y)
    den = np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y)
    if den == 0:
        raise ValueError("linear_cka undefined: a side has no variance across items")
    return float(np.linalg.norm(y.T @ x) ** 2 / den)


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


@register_metric("rsa")
def rsa(x, y, inner: str = "correlation", outer: str = "spearman") -> float:
    """RSA: rank (Spearman) or Pearson correlation between the two models' RDMs over items.

    Items without a direction in X or Y (see :func:`defined_items`) are dropped first.
    """
    x, y = paired(x, y)
    keep = defined_items(x, y, inner)
    x, y = x[keep], y[keep]
    _check_items(x, 3, "rsa")
    a, b = rdm(x, inner), rdm(y, inner)
    if outer == "spearman":
        a, b = rankdata(a), rankdata(b)
    elif outer != "pearson":
        raise ValueError(f"unknown RSA outer correlation {outer!r}; expected spearman or pearson")
    a, b = a - a.mean(), b - b.mean()
    den = np.sqrt((a @ a) * (b @ b))
    if den == 0:
        raise ValueError("rsa undefined: an RDM is constant (e.g. identical items)")
    return float(a @ b / den)


def knn_sets(x: np.ndarray, k: int) -> np.ndarray:
    """(n, k) indices of each row's k nearest other rows by cosine similarity (as a set; order unspecified)."""
    u = _directions(x, "cosine")
    sim = u @ u.T
    np.fill_diagonal(sim, -np.inf)
    return np.argpartition(-sim, k - 1, axis=1)[:, :k]


def _knn_overlap(x, y, k: int) -> np.ndarray:
    """Per item |N_X(i) ∩ N_Y(i)|, over the items with a direction on both sides."""
    x, y = paired(x, y)
    keep = defined_items(x, y, "cosine")
    x, y = x[keep], y[keep]
    if not 1 <= k < len(x):
        raise ValueError(f"k-NN needs 1 <= k < n items with non-zero rows; k={k}, n={len(x)}")
    nx, ny = knn_sets(x, k), knn_sets(y, k)
    n = len(x)
    mx, my = np.zeros((n, n), bool), np.zeros((n, n), bool)
    rows = np.arange(n)[:, None]
    mx[rows, nx] = True
    my[rows, ny] = True
    return (mx & my).sum(axis=1)


@register_metric("mutual_knn")
def mutual_knn(x, y, k: int = 10) -> float:
    """Mean fraction of each item's k cosine-nearest neighbours shared by X and Y (Huh et al. 2024)."""
    return float(_knn_overlap(x, y, k).mean() / k)


@register_metric("jaccard_knn")
def jaccard_knn(x, y, k: int = 10) -> float:
    """Mean Jaccard index |N_X(i) ∩ N_Y(i)| / |N_X(i) ∪ N_Y(i)| of k-NN sets (cosine)."""
    inter = _knn_overlap(x, y, k)
    return float((inter / (2 * k - inter)).mean())


def _check_items(x: np.ndarray, n_min: int, name: str) -> None:
    if len(x) < n_min:
        raise ValueError(f"{name} needs at least {n_min} paired items, got {len(x)}")
