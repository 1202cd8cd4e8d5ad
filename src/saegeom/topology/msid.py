"""MSID (Tsitsulin et al. 2020, "The shape of data: intrinsic distance for data distributions").

Each cloud becomes a k-nearest-neighbour graph (Euclidean, symmetrised, unweighted, no
self-loops: with duplicate points a point is still not its own neighbour); its descriptor is
the heat-kernel trace ``h(t) = tr exp(−t L)`` of the normalised Laplacian
``L = I − D^{-1/2} A D^{-1/2}`` at temperatures ``t`` (log-spaced in [0.1, 10]), divided by
the number of nodes (the paper's "empty graph" normalisation). For clouds of at most
``exact_max_points`` points (default 512: a dense eigendecomposition costs well under a second)
the trace is exact; above, it is estimated by stochastic Lanczos quadrature (Ubaru, Chen & Saad
2017): for random Rademacher vectors v, ``vᵀ f(L) v ≈ |v|² Σ_k τ_k² f(θ_k)`` with (θ_k, τ_k) the
eigenvalues and first eigenvector components of the m-step Lanczos tridiagonal matrix (its
spread across seeds is large at tens of probes: prefer the exact path wherever it is affordable).
The distance is ``max_t |c(t) (h_X(t) − h_Y(t))|`` with ``c(t) = exp(−2 (t + 1/t))`` (the paper's
weighting). The reference implementation further multiplies descriptors by 1e6; we report the
unscaled value. Written here because neither scipy nor gudhi offers SLQ or MSID, and the
reference package pins old dependencies.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

DEFAULT_TIMES = np.logspace(-1, 1, 256)


def knn_graph(points: np.ndarray, k: int = 5) -> sp.csr_matrix:
    """(n, n) symmetric 0/1 adjacency of the k-NN graph of the rows of ``points`` (n, d), zero diagonal.

    Neighbours come from sklearn's query of the fitted points themselves (``kneighbors()`` without
    an argument), which leaves each point out of its own list even when other rows duplicate it;
    asking for k + 1 neighbours and dropping the first would keep a self-loop whenever a duplicate
    comes first."""
    from sklearn.neighbors import NearestNeighbors

    n = len(points)
    k = min(k, n - 1)
    if k < 1:
        return sp.csr_matrix((n, n))
    # exact ball-tree search: on clouds of a few hundred points sklearn's brute-force path spends most of
    # its time starting its thread pool, once per cloud and null draw
    _, idx = NearestNeighbors(n_neighbors=k, algorithm="ball_tree").fit(points).kneighbors()
    rows = np.repeat(np.arange(n), k)
    a = sp.csr_matrix((np.ones(n * k), (rows, idx.ravel())), shape=(n, n))
    a = a + a.T
    a.data[:] = 1.0
    return a


def normalized_laplacian(adj: sp.spmatrix) -> sp.csr_matrix:
    """``I − D^{-1/2} A D^{-1/2}`` (isolated nodes get a zero row)."""
    deg = np.asarray(adj.sum(1)).ravel()
    inv = np.where(deg > 0, 1.0 / np.sqrt(np.maximum(deg, 1e-300)), 0.0)
    d = sp.diags(inv)
    return (sp.identity(adj.shape[0]) - d @ adj @ d).tocsr()


def lanczos_nodes(op: sp.spmatrix, v: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """m-step Lanczos (full reorthogonalisation), run on every column of ``v`` (n, nv) at once.

    Returns (theta, tau2): (nv, m') Ritz values and squared first components of their
    eigenvectors — the nodes and weights of the Gauss quadrature of vᵀ f(A) v / |v|².
    A probe whose Krylov space closes early (β ≈ 0: the quadrature is already exact) keeps
    zero-weight nodes for the remaining steps.
    """
    n, nv = v.shape
    m = min(m, n)
    basis = np.zeros((m, n, nv))
    alpha, beta = np.zeros((m, nv)), np.zeros((m, nv))
    q = v / np.linalg.norm(v, axis=0)
    active = np.ones(nv, bool)
    for i in range(m):
        basis[i] = q
        w = op @ q
        alpha[i] = np.einsum("nv,nv->v", q, w) * active
        for _ in range(2):  # full reorthogonalisation against every previous vector (twice is enough)
            w = w - np.einsum("inv,iv->nv", basis[: i + 1], np.einsum("inv,nv->iv", basis[: i + 1], w))
        if i + 1 < m:
            b = np.linalg.norm(w, axis=0)
            active &= b > 1e-10
            beta[i] = np.where(active, b, 0.0)
            q = np.where(active, w / np.where(active, b, 1.0), 0.0)
    thetas, weights = np.zeros((nv, m)), np.zeros((nv, m))
    for j in range(nv):
        t = np.diag(alpha[:, j]) + np.diag(beta[: m - 1, j], 1) + np.diag(beta[: m - 1, j], -1)
        size = m if beta[: m - 1, j].all() else int(np.argmin(beta[: m - 1, j] > 0)) + 1
        theta, vec = np.linalg.eigh(t[:size, :size])
        thetas[j, :size], weights[j, :size] = theta, vec[0] ** 2
    return thetas, weights


def heat_trace_slq(lap: sp.spmatrix, times: np.ndarray = DEFAULT_TIMES, m: int = 10, n_vectors: int = 100,
                   seed: int = 0) -> np.ndarray:
    """(len(times),) stochastic Lanczos estimate of ``tr exp(−t L)`` (Rademacher probes)."""
    n = lap.shape[0]
    rng = np.random.default_rng(seed)
    v = rng.choice([-1.0, 1.0], size=(n, n_vectors))
    theta, tau2 = lanczos_nodes(lap, v, m)
    # each probe: |v|² = n; average over probes
    return n * np.einsum("vk,tvk->t", tau2, np.exp(-np.multiply.outer(times, theta))) / n_vectors


def heat_trace_exact(lap: sp.spmatrix | np.ndarray, times: np.ndarray = DEFAULT_TIMES) -> np.ndarray:
    """Exact ``tr exp(−t L)`` from a full eigendecomposition (reference for small graphs)."""
    # the ignore: scipy's issparse is not a TypeGuard, so its stubs do not narrow ``lap`` to a sparse matrix
    dense = lap.toarray() if sp.issparse(lap) else np.asarray(lap)  # type: ignore[union-attr]
    ev = np.linalg.eigvalsh(dense)
    return np.exp(-np.multiply.outer(times, ev)).sum(1)


EXACT_MAX_POINTS = 512


def msid_descriptor(points: np.ndarray, k: int = 5, m: int = 10, n_vectors: int = 100,
                    times: np.ndarray = DEFAULT_TIMES, seed: int = 0,
                    exact_max_points: int = EXACT_MAX_POINTS) -> np.ndarray:
    """(len(times),) heat trace per node of the cloud's k-NN graph (rows of ``points`` are items):
    exact for at most ``exact_max_points`` points, else SLQ with ``m`` steps, ``n_vectors`` probes
    and ``seed`` (module doc)."""
    lap = normalized_laplacian(knn_graph(np.asarray(points, dtype=np.float64), k))
    if lap.shape[0] <= exact_max_points:
        return heat_trace_exact(lap, times) / lap.shape[0]
    return heat_trace_slq(lap, times, m, n_vectors, seed) / lap.shape[0]


def msid_distance(x: np.ndarray, y: np.ndarray, k: int = 5, m: int = 10, n_vectors: int = 100,
                  times: np.ndarray = DEFAULT_TIMES, seed: int = 0, exact_max_points: int = EXACT_MAX_POINTS) -> float:
    """MSID between the clouds ``x`` (n, d1) and ``y`` (m, d2); widths and sizes may differ. Both
    descriptors use ``seed`` (as the topology rows do), so equal clouds are at distance 0."""
    hx = msid_descriptor(x, k, m, n_vectors, times, seed, exact_max_points)
    hy = msid_descriptor(y, k, m, n_vectors, times, seed, exact_max_points)
    c = np.exp(-2 * (times + 1 / times))
    return float(np.max(np.abs(c * (hx - hy))))
