"""Sparse assignment (LAPJVsp on the positive-correlation graph) gives the dense Hungarian pairs."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from saegeom.pairing import assign_positive, assign_positive_sparse, pair_features
from saegeom.pairing.correlation import CoactivationAccumulator


@pytest.mark.parametrize("shape", [(30, 30), (25, 40), (40, 25)])
@pytest.mark.parametrize("density", [0.05, 0.3, 1.0])
def test_sparse_assignment_equals_dense(shape, density):
    rng = np.random.default_rng(int(density * 100) + shape[1])
    m = rng.uniform(-1, 1, shape) * (rng.random(shape) < density)
    r, c = assign_positive(m)
    dense = {(int(i), int(j)) for i, j in zip(r, c, strict=True) if m[i, j] > 0}
    r, c = assign_positive_sparse(sp.csr_matrix(m))
    assert (m[r, c] > 0).all()
    assert {(int(i), int(j)) for i, j in zip(r, c, strict=True)} == dense  # continuous weights: unique optimum


def test_sparse_assignment_edge_cases():
    assert len(assign_positive_sparse(sp.csr_matrix(-np.ones((3, 4))))[0]) == 0  # no positive edge
    m = np.array([[0.861, 0.323], [-0.279, -0.934]])  # the case the clipping exists for
    r, c = assign_positive_sparse(sp.csr_matrix(m))
    assert list(zip(r, c, strict=True)) == [(0, 0)]


def test_pair_features_hungarian_sparse_equals_dense():
    rng = np.random.default_rng(3)
    n, d = 4000, 60
    za = (rng.random((n, d)) < 0.05) * rng.random((n, d))
    zb = np.concatenate([za[:, :40] * (1 + 0.3 * rng.random((n, 40))),
                         (rng.random((n, 20)) < 0.05) * rng.random((n, 20))], axis=1)
    acc = CoactivationAccumulator(d, d)
    for s in range(0, n, 1000):
        acc.update(sp.csr_matrix(za[s:s + 1000]), sp.csr_matrix(zb[s:s + 1000]))
    stats = acc.stats()
    sparse = pair_features(stats, "hungarian")
    dense = pair_features(stats, "hungarian", dense_assignment=True)
    assert len(sparse) >= 40
    pd.testing.assert_frame_equal(sparse, dense, check_exact=False, rtol=1e-6)


def _stats_both_ways(tmp_path, device):
    from test_pairing import ReluCodes, sparse_codes, write

    from saegeom.pairing import coactivation_stats

    rng = np.random.default_rng(7)
    za = sparse_codes(900, 14, 0.15, rng)
    zb = np.concatenate([za[:, :8] * 1.5, sparse_codes(900, 5, 0.15, rng)], axis=1)
    sa, sb = write(tmp_path, "a", za), write(tmp_path, "b", zb)
    host = coactivation_stats(ReluCodes(14), sa, ReluCodes(13), sb, batch_size=256, progress=False)
    dev = coactivation_stats(ReluCodes(14).to(device), sa, ReluCodes(13).to(device), sb, batch_size=256,
                             progress=False, device=device, on_device=True)
    return host, dev


def _assert_same_stats(host, dev):
    for a, b in ((host, dev), (host.shifted, dev.shifted)):
        assert a.n == b.n
        np.testing.assert_allclose(b.cross.toarray(), a.cross.toarray(), rtol=1e-6, atol=1e-9)
        for k in ("sum_a", "sumsq_a", "count_a", "sum_b", "sumsq_b", "count_b"):
            np.testing.assert_allclose(getattr(b, k), getattr(a, k), rtol=1e-6)
    for method in ("many_to_one", "hungarian"):
        pd.testing.assert_frame_equal(pair_features(dev, method, "auto"), pair_features(host, method, "auto"),
                                      check_exact=False, rtol=1e-5)


def test_device_accumulator_equals_host_on_cpu(tmp_path):
    """The device path (sparse.mm into a dense tensor) run on the CPU gives the host path's sums."""
    _assert_same_stats(*_stats_both_ways(tmp_path, "cpu"))


def test_device_accumulator_on_cuda(tmp_path):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    _assert_same_stats(*_stats_both_ways(tmp_path, "cuda"))
