"""Persistent homology of feature clouds with gudhi: subsample, complex, diagrams, plots.

A *cloud* is an (n, d) matrix whose rows are items (SAE decoder directions or true
features, unit norm) and whose columns are the model's dimensions. Diagrams are
``{dim: (k, 2) array of (birth, death)}``; the one essential H0 class (death = inf) is
kept in the diagrams and tables and left out of the distances (every connected Rips
filtration has exactly one, born at 0, so it carries no shape information).

Complexes:
  ``rips``   Vietoris–Rips on a precomputed distance matrix (``cosine`` = 1 − cos, or
             ``euclidean``) with gudhi's ``RipsPersistence`` (edge collapse + its Ripser
             fork), on a farthest-point subsample of at most ``n_points`` rows;
  ``alpha``  alpha complex of the rows projected on their first ``alpha_dim`` principal
             components (filtration values are gudhi's squared radii; we report radii).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from saegeom.io.atomic import atomic_path
from saegeom.io.tables import write_table
from saegeom.metrics._arrays import as_f64
from saegeom.metrics._arrays import unit_rows as _unit_rows

DIAGRAM_SCHEMA = pa.schema([
    ("subspace", pa.string()),   # "all", "cluster:3", "group:days", ...
    ("dim", pa.int16()),         # homology dimension
    ("birth", pa.float64()),
    ("death", pa.float64()),     # inf for essential classes
    ("n_points", pa.int64()),    # points of the (subsampled) cloud behind the diagram
])

Diagrams = dict[int, np.ndarray]


def unit_rows(x) -> np.ndarray:
    """(n, d) rows as float64 scaled to unit norm (zero rows stay zero); the metrics' helper on any array."""
    return _unit_rows(as_f64(x))


def distance_matrix(points: np.ndarray, metric: str = "cosine") -> np.ndarray:
    """(n, n) distances between the rows of ``points`` (n, d); ``cosine`` = 1 − cos of the rows."""
    if metric == "cosine":
        u = unit_rows(points)
        d = np.clip(1.0 - u @ u.T, 0.0, 2.0)
    elif metric == "euclidean":
        from scipy.spatial.distance import cdist

        d = cdist(points, points)
    else:
        raise ValueError(f"unknown distance {metric!r}; expected cosine or euclidean")
    d = (d + d.T) / 2
    np.fill_diagonal(d, 0.0)
    return d


def farthest_point_indices(dist: np.ndarray, n: int, start: int = 0) -> np.ndarray:
    """Indices of a greedy farthest-point subsample of size ``min(n, len(dist))``, in selection order.

    Written here (O(n·len) on the precomputed matrix) because gudhi's
    ``choose_n_farthest_points`` returns coordinates, not indices, and the rows' labels must follow.
    """
    total = len(dist)
    if n >= total:
        return np.arange(total)
    chosen = np.empty(n, dtype=np.int64)
    chosen[0] = start
    nearest = dist[start].copy()
    for i in range(1, n):
        chosen[i] = int(np.argmax(nearest))
        nearest = np.minimum(nearest, dist[chosen[i]])
    return chosen


def rips_diagrams(dist: np.ndarray, max_dim: int = 1) -> Diagrams:
    """Rips persistence diagrams of a full distance matrix, dimensions 0..max_dim."""
    from gudhi.sklearn.rips_persistence import RipsPersistence

    dims = list(range(max_dim + 1))
    if len(dist) < 2:
        return {d: np.zeros((0, 2)) for d in dims} | ({0: np.array([[0.0, np.inf]])} if len(dist) else {})
    out = RipsPersistence(homology_dimensions=dims, input_type="full distance matrix", n_jobs=1).fit_transform([dist])
    return {d: np.asarray(out[0][i], dtype=np.float64).reshape(-1, 2) for i, d in enumerate(dims)}


def alpha_diagrams(points: np.ndarray, dim: int = 3, max_dim: int = 1) -> Diagrams:
    """Alpha-complex diagrams of the rows projected on their first ``dim`` principal components.

    gudhi's alpha filtration values are squared radii; the diagrams hold radii.
    """
    import gudhi

    x = np.asarray(points, dtype=np.float64)
    x = x - x.mean(0)
    k = min(dim, x.shape[1], max(1, len(x) - 1))
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    proj = x @ vt[:k].T
    st = gudhi.AlphaComplex(points=proj).create_simplex_tree()
    st.compute_persistence()
    out = {}
    for d in range(max_dim + 1):
        iv = np.asarray(st.persistence_intervals_in_dimension(d), dtype=np.float64).reshape(-1, 2)
        out[d] = np.sqrt(np.maximum(iv, 0))
    return out


def cloud_diagrams(points: np.ndarray, *, complex: str = "rips", distance: str = "cosine", n_points: int = 200,
                   max_dim: int = 1, alpha_dim: int = 3) -> tuple[Diagrams, int]:
    """(diagrams, points used) of a cloud (n, d): farthest-point subsample to ``n_points``, then the complex."""
    points = np.asarray(points, dtype=np.float64)
    dist = distance_matrix(points, distance)
    idx = farthest_point_indices(dist, n_points)
    if complex == "rips":
        return rips_diagrams(dist[np.ix_(idx, idx)], max_dim), len(idx)
    if complex == "alpha":
        pts = unit_rows(points[idx]) if distance == "cosine" else points[idx]
        return alpha_diagrams(pts, alpha_dim, max_dim), len(idx)
    raise ValueError(f"unknown complex {complex!r}; expected rips or alpha")


def finite(diagram: np.ndarray) -> np.ndarray:
    """(k, 2) bars of a diagram with a finite death."""
    diagram = np.asarray(diagram, dtype=np.float64).reshape(-1, 2)
    return diagram[np.isfinite(diagram[:, 1])]


def lifetimes(diagram: np.ndarray) -> np.ndarray:
    """Finite bar lengths (death − birth), longest first."""
    f = finite(diagram)
    return np.sort(f[:, 1] - f[:, 0])[::-1]


def diagrams_frame(diagrams: dict[str, tuple[Diagrams, int]]) -> pd.DataFrame:
    """Tidy table (``DIAGRAM_SCHEMA``) of ``{subspace: (diagrams, n_points)}``."""
    rows = [(sub, d, b, e, n) for sub, (dg, n) in diagrams.items() for d, arr in dg.items() for b, e in arr]
    return pd.DataFrame(rows, columns=DIAGRAM_SCHEMA.names).astype({"dim": "int16", "n_points": "int64"})


def write_diagrams(frame: pd.DataFrame, path: str | Path) -> None:
    write_table(frame, path, DIAGRAM_SCHEMA)


def plot_diagrams(frame: pd.DataFrame, path: str | Path, title: str = "") -> None:
    """PNG: persistence diagram (left) and barcode (right) of subspace ``all``, H0 and H1."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sub = frame[frame.subspace == "all"]
    fig, (ax_d, ax_b) = plt.subplots(1, 2, figsize=(10, 4.5))
    fin = sub[np.isfinite(sub.death)]
    top = float(fin.death.max()) if len(fin) else 1.0
    top = top * 1.1 if top > 0 else 1.0
    colours = {0: "tab:blue", 1: "tab:orange", 2: "tab:green"}
    y = 0
    for d, grp in sub.groupby("dim"):
        death = grp.death.replace(np.inf, top)
        ax_d.scatter(grp.birth, death, s=10, c=colours.get(d, "k"), label=f"H{d}")
        order = np.argsort(-(death - grp.birth).to_numpy())
        for b, e in zip(grp.birth.to_numpy()[order], death.to_numpy()[order], strict=True):
            ax_b.plot([b, e], [y, y], c=colours.get(d, "k"), lw=1)
            y += 1
    ax_d.plot([0, top], [0, top], "k--", lw=0.8)
    ax_d.axhline(top, c="grey", lw=0.5, ls=":")
    ax_d.set(xlabel="birth", ylabel="death (top line = ∞)", title="diagram")
    ax_d.legend(loc="lower right")
    ax_b.set(xlabel="filtration value", ylabel="bar", title="barcode (longest first per dimension)")
    fig.suptitle(title)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
