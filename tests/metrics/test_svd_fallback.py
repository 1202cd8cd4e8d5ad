"""The metrics' SVD falls back to LAPACK gesvd when gesdd does not converge, and names non-finite input."""

from __future__ import annotations

import numpy as np
import pytest

from saegeom.metrics import _arrays


def test_svd_falls_back_to_gesvd_and_names_non_finite_input(monkeypatch):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((40, 7)) * np.logspace(0, 8, 7)  # badly scaled columns
    want = np.linalg.svd(a, compute_uv=False)
    real = np.linalg.svd

    def fails(*args, **kwargs):
        raise np.linalg.LinAlgError("SVD did not converge")

    monkeypatch.setattr(np.linalg, "svd", fails)
    u, s, vt = _arrays.svd(a)
    np.testing.assert_allclose(s, want, rtol=1e-10)
    np.testing.assert_allclose((u * s) @ vt, a, rtol=1e-8, atol=1e-6 * np.abs(a).max())
    np.testing.assert_allclose(_arrays.svd(a, compute_uv=False), want, rtol=1e-10)
    a[3, 2] = np.nan
    with pytest.raises(ValueError, match="1 non-finite"):
        _arrays.svd(a)
    monkeypatch.setattr(np.linalg, "svd", real)
    np.testing.assert_allclose(_arrays.svd(a[:, [0, 1]])[1], np.linalg.svd(a[:, [0, 1]], compute_uv=False))


def test_null_directions_use_the_fallback(monkeypatch):
    """The Gaussian-direction nulls take the second moment of the same items the metrics decompose, through the
    same fallback."""
    from saegeom.metrics import baselines

    rng = np.random.default_rng(1)
    y = rng.standard_normal((50, 6)) * np.logspace(0, 6, 6)
    want = baselines._second_moment_root(y, 0)

    def fails(*args, **kwargs):
        raise np.linalg.LinAlgError("SVD did not converge")

    monkeypatch.setattr(np.linalg, "svd", fails)
    root = baselines._second_moment_root(y, 0)
    np.testing.assert_allclose(root.T @ root, y.T @ y / len(y), rtol=1e-8)
    np.testing.assert_allclose(np.abs(root), np.abs(want), rtol=1e-8, atol=1e-8 * np.abs(want).max())
