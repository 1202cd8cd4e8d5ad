"""Shape metrics (distances; lower = more similar): Procrustes variants and soft matching.

X: (n, d1), Y: (n, d2), rows are paired items. Each matrix is centred (column
means removed) and scaled to unit Frobenius norm, so every distance lies in
[0, 2] and is invariant to isotropic scaling. Where the measure needs equal
widths, the narrower matrix is **zero-padded** with extra columns (which
changes no inner product between rows or columns).
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import orthogonal_procrustes as _scipy_procrustes
from scipy.optimize import linear_sum_assignment

from saegeom.metrics._arrays import paired
from saegeom.metrics.registry import MetricUndefined, register_metric


def _normalise(x: np.ndarray) -> np.ndarray:
    """(n, d) → columns centred, whole matrix scaled to unit Frobenius norm."""
    x = x - x.mean(axis=0, keepdims=True)
    n = np.linalg.norm(x)
    if n == 0:
        raise MetricUndefined("a constant matrix has no shape (zero norm after centring)")
    return x / n


def _pad(x: np.ndarray, width: int) -> np.ndarray:
    return np.pad(x, ((0, 0), (0, width - x.shape[1])))


def _prepared(x, y) -> tuple[np.ndarray, np.ndarray]:
    x, y = paired(x, y)
    x, y = _normalise(x), _normalise(y)
    w = max(x.shape[1], y.shape[1])
    return _pad(x, w), _pad(y, w)


@register_metric("orthogonal_procrustes", higher_is_similar=False)
def orthogonal_procrustes(x, y) -> float:
    """min over orthogonal R of ‖X − Y R‖_F (scipy's ``orthogonal_procrustes`` finds R)."""
    x, y = _prepared(x, y)
    r, _ = _scipy_procrustes(y, x)
    return float(np.linalg.norm(x - y @ r))


@register_metric("permutation_procrustes", higher_is_similar=False)
def permutation_procrustes(x, y) -> float:
    """min over permutations P of the columns of ‖X − Y P‖_F (``linear_sum_assignment``)."""
    x, y = _prepared(x, y)
    r, c = linear_sum_assignment(-(x.T @ y))
    return float(np.linalg.norm(x[:, r] - y[:, c]))


@register_metric("soft_matching", higher_is_similar=False)
def soft_matching(x, y) -> float:
    """Soft-matching distance (Khosla & Williams 2023), via POT's exact ``ot.emd``.

    sqrt(min_T Σ_ij T_ij ‖x_i − y_j‖²) over transport plans T between the columns of
    X and Y with uniform marginals (1/d1, 1/d2), after centring and scaling each
    matrix to Frobenius norm sqrt(width) (mean column norm² = 1). Works for
    different widths without padding; with equal widths it equals the best
    permutation matching of columns / sqrt(d).
    """
    import ot

    x, y = paired(x, y)
    x = _normalise(x) * np.sqrt(x.shape[1])
    y = _normalise(y) * np.sqrt(y.shape[1])
    cost = ot.dist(x.T, y.T, metric="sqeuclidean")
    a = np.full(x.shape[1], 1.0 / x.shape[1])
    b = np.full(y.shape[1], 1.0 / y.shape[1])
    return float(np.sqrt(max(ot.emd2(a, b, cost), 0.0)))
