"""Input coercion shared by every metric."""

from __future__ import annotations

from typing import Any

import numpy as np

from saegeom.metrics.registry import MetricUndefined


def as_f64(x) -> np.ndarray:
    """numpy or torch (any device) → 2-D float64 numpy array."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"expected a 2-D matrix (rows = items), got shape {x.shape}")
    return x


def paired(x, y) -> tuple[np.ndarray, np.ndarray]:
    """Coerce a pair and check they have the same number of rows (paired items)."""
    x, y = as_f64(x), as_f64(y)
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"paired matrices need the same number of rows, got {x.shape[0]} and {y.shape[0]}")
    return x, y


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit norm (zero rows stay zero)."""
    n = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(n == 0, 1.0, n)


def same_width(x: np.ndarray, y: np.ndarray, metric: str) -> None:
    """Raise :class:`MetricUndefined` unless X and Y have the same number of columns (one shared space)."""
    if x.shape[1] != y.shape[1]:
        raise MetricUndefined(f"{metric} compares directions in one space: widths {x.shape[1]} and {y.shape[1]} differ")


def svd(a: np.ndarray, full_matrices: bool = False, compute_uv: bool = True) -> Any:
    """``np.linalg.svd`` (LAPACK ``gesdd``), falling back to ``gesvd`` (``scipy.linalg.svd``) when ``gesdd`` does not
    converge. ``gesdd``'s divide and conquer fails on some badly scaled matrices that ``gesvd``'s QR iteration
    handles (seen on activations of sparse TopK codes of a 1024-latent SAE); a matrix with NaN or inf is an error
    naming that instead."""
    try:
        return np.linalg.svd(a, full_matrices=full_matrices, compute_uv=compute_uv)  # type: ignore[call-overload]
    except np.linalg.LinAlgError:
        if not np.isfinite(a).all():
            raise ValueError(f"SVD of a {a.shape} matrix with {int((~np.isfinite(a)).sum())} non-finite entries; "
                             f"the items or the SAE codes contain NaN or inf") from None
        import scipy.linalg

        return scipy.linalg.svd(a, full_matrices=full_matrices, compute_uv=compute_uv, lapack_driver="gesvd")
