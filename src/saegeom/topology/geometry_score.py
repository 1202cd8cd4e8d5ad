"""Geometry Score (Khrulkov & Oseledets 2018, "Geometry Score: A Method For Comparing Generative
Adversarial Networks").

For one random set of ``n_landmarks`` landmarks drawn from the cloud, the witness complex
(all rows are witnesses; gudhi ``WitnessComplex`` on the landmark table of Euclidean
distances, as in the paper's code) is filtered up to ``alpha_max = gamma · max d(w, l)``;
its H1 intervals give the *relative living times* RLT(i) — the share of [0, alpha_max]
during which exactly i one-dimensional holes exist (i < ``i_max``). The mean RLT over
``n_repeats`` landmark draws (MRLT) is the cloud's descriptor, and the Geometry Score of two
clouds is ``Σ_i (MRLT_X(i) − MRLT_Y(i))²``. ``gamma = None`` is the paper's default
``1/128 · N/5000``; small clouds (N of a few hundred) need a larger gamma (config).
Written here because there is no maintained package (the authors' code is a script).
"""

from __future__ import annotations

import numpy as np


def relative_living_times(intervals: np.ndarray, alpha_max: float, i_max: int = 100) -> np.ndarray:
    """(i_max,) RLT: share of [0, alpha_max] during which exactly i H1 intervals are alive
    (infinite deaths are cut at ``alpha_max``)."""
    iv = np.asarray(intervals, dtype=np.float64).reshape(-1, 2)
    rlt = np.zeros(i_max)
    if len(iv) == 0:
        rlt[0] = 1.0
        return rlt
    iv = np.minimum(iv, alpha_max)
    points = np.unique(np.concatenate([iv.ravel(), [0.0, alpha_max]]))
    for lo, hi in zip(points[:-1], points[1:], strict=True):
        mid = (lo + hi) / 2
        alive = int(((iv[:, 0] <= mid) & (mid < iv[:, 1])).sum())
        if alive < i_max:
            rlt[alive] += hi - lo
    return rlt / alpha_max


def witness_h1(points: np.ndarray, landmarks: np.ndarray, gamma: float) -> tuple[np.ndarray, float]:
    """(H1 intervals, alpha_max) of the witness complex of ``landmarks`` witnessed by ``points``."""
    import gudhi
    from scipy.spatial.distance import cdist

    d = cdist(points, landmarks)
    order = np.argsort(d, axis=1)
    dist = np.take_along_axis(d, order, axis=1)
    table = [list(zip(o.tolist(), r.tolist(), strict=True)) for o, r in zip(order, dist, strict=True)]
    alpha_max = float(d.max() * gamma)
    st = gudhi.WitnessComplex(nearest_landmark_table=table).create_simplex_tree(max_alpha_square=alpha_max,
                                                                                limit_dimension=2)
    st.compute_persistence(homology_coeff_field=2)
    return np.asarray(st.persistence_intervals_in_dimension(1), dtype=np.float64).reshape(-1, 2), alpha_max


def mean_rlt(points: np.ndarray, n_landmarks: int = 64, gamma: float | None = None, i_max: int = 100,
             n_repeats: int = 100, seed: int = 0) -> np.ndarray:
    """(i_max,) MRLT of the cloud ``points`` (n, d) over ``n_repeats`` random landmark sets."""
    x = np.asarray(points, dtype=np.float64)
    g = (1.0 / 128) * len(x) / 5000 if gamma is None else gamma
    rng = np.random.default_rng(seed)
    out = np.zeros(i_max)
    for _ in range(n_repeats):
        lm = x[rng.choice(len(x), min(n_landmarks, len(x)), replace=False)]
        out += relative_living_times(*witness_h1(x, lm, g), i_max=i_max)
    return out / n_repeats


def geometry_score(x: np.ndarray, y: np.ndarray, n_landmarks: int = 64, gamma: float | None = None,
                   i_max: int = 100, n_repeats: int = 100, seed: int = 0) -> float:
    """Geometry Score between the clouds ``x`` (n, d1) and ``y`` (m, d2) (module doc)."""
    a = mean_rlt(x, n_landmarks, gamma, i_max, n_repeats, seed)
    b = mean_rlt(y, n_landmarks, gamma, i_max, n_repeats, seed + 1)
    return float(((a - b) ** 2).sum())
