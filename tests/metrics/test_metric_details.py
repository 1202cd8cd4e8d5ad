"""Conventions of MSID, the Wasserstein ground metric and MMCS, against independent references."""

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

from saegeom.metrics import MetricUndefined, mmcs
from saegeom.topology.diagram_distances import wasserstein
from saegeom.topology.msid import DEFAULT_TIMES, knn_graph, msid_descriptor, msid_distance


def _dense_msid_reference(points: np.ndarray, k: int) -> np.ndarray:
    """Heat trace per node from scratch: k nearest *other* points (dense distances), symmetrised 0/1
    adjacency, normalised Laplacian, dense eigenvalues."""
    d = cdist(points, points)
    np.fill_diagonal(d, np.inf)
    n = len(points)
    a = np.zeros((n, n))
    for i in range(n):
        a[i, np.argsort(d[i], kind="stable")[:k]] = 1.0
    a = np.maximum(a, a.T)
    deg = a.sum(1)
    lap = np.eye(n) - a / np.sqrt(np.outer(deg, deg))
    ev = np.linalg.eigvalsh(lap)
    return np.exp(-np.outer(DEFAULT_TIMES, ev)).sum(1) / n


def test_knn_graph_has_no_self_loops_when_points_are_duplicated():
    rng = np.random.default_rng(0)
    base = rng.standard_normal((20, 5))
    pts = np.repeat(base, 2, axis=0)  # every point twice
    adj = knn_graph(pts, k=1)
    assert adj.diagonal().sum() == 0
    # with k = 1 each point's only neighbour is its twin: 20 disjoint edges, whose normalised Laplacian has
    # eigenvalues 0 and 2 per edge, so the heat trace per node is (1 + exp(-2t)) / 2 in closed form
    np.testing.assert_allclose(msid_descriptor(pts, k=1), (1 + np.exp(-2 * DEFAULT_TIMES)) / 2, rtol=1e-10)


def test_small_clouds_get_the_exact_heat_trace_whatever_the_seed():
    pts = np.random.default_rng(1).standard_normal((60, 4))
    ref = _dense_msid_reference(pts, k=5)
    for seed in (0, 1, 2):
        np.testing.assert_allclose(msid_descriptor(pts, k=5, seed=seed), ref, rtol=1e-9)


def test_msid_distance_seeds_both_clouds_alike():
    pts = np.random.default_rng(2).standard_normal((80, 3))
    assert msid_distance(pts, pts) == 0.0
    # the stochastic path too (forced with exact_max_points=0): one seed for both clouds, as in the topology rows
    assert msid_distance(pts, pts, n_vectors=10, exact_max_points=0) == 0.0


def _w1_reference(a: np.ndarray, b: np.ndarray, p: float) -> float:
    """1-Wasserstein by hand: Hungarian matching on the augmented cost matrix (each bar may go to the
    diagonal, at its L_p distance to it: (d − b)/2 for L∞, (d − b)/√2 for L2)."""
    dist = (lambda u, v: cdist(u, v, "chebyshev")) if np.isinf(p) else (lambda u, v: cdist(u, v))
    to_diag = (lambda x: (x[:, 1] - x[:, 0]) / 2) if np.isinf(p) else (lambda x: (x[:, 1] - x[:, 0]) / np.sqrt(2))
    m, n = len(a), len(b)
    c = np.zeros((m + n, m + n))
    c[:m, :n] = dist(a, b)
    c[:m, n:] = np.inf
    c[:m, n:][np.arange(m), np.arange(m)] = to_diag(a)
    c[m:, :n] = np.inf
    c[m:, :n][np.arange(n), np.arange(n)] = to_diag(b)
    c[np.isinf(c)] = 1e9
    r, s = linear_sum_assignment(c)
    return float(c[r, s].sum())


def test_wasserstein_ground_metrics_match_a_hand_matching():
    # one bar each: matched to each other (L2: |(0.5, 1)| = 1.118; L∞: 1) beats both to the diagonal
    a, b = np.array([[0.0, 1.0]]), np.array([[0.5, 2.0]])
    assert wasserstein(a, b, ground="l2") == pytest.approx(np.hypot(0.5, 1.0), rel=1e-9)
    assert wasserstein(a, b, ground="linf") == pytest.approx(1.0, rel=1e-9)
    rng = np.random.default_rng(3)
    for _ in range(5):
        da = np.sort(rng.uniform(0, 1, (7, 2)), axis=1)
        db = np.sort(rng.uniform(0, 1, (5, 2)), axis=1)
        for ground, p in (("l2", 2.0), ("linf", np.inf)):
            assert wasserstein(da, db, ground=ground) == pytest.approx(_w1_reference(da, db, p), rel=1e-7)
    with pytest.raises(ValueError, match="ground metric"):
        wasserstein(a, b, ground="l1")


def test_mmcs_leaves_dead_rows_out():
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((6, 5)), rng.standard_normal((9, 5))
    live = mmcs(x, y)
    # zero rows on either side change nothing
    assert mmcs(np.r_[x, np.zeros((3, 5))], np.r_[y, np.zeros((2, 5))]) == pytest.approx(live, rel=1e-12)
    # every best cosine negative: a zero row in Y must not lift them to 0
    opp = mmcs(x[:1], np.r_[-x[:1], np.zeros((1, 5))])
    assert opp == pytest.approx(-1.0, rel=1e-12)
    with pytest.raises(MetricUndefined, match="all-zero"):
        mmcs(x, np.zeros((3, 5)))
