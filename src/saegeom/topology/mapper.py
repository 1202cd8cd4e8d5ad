"""Mapper graphs of feature clouds with kepler-mapper.

Traps of kepler-mapper this module avoids:

* ``KeplerMapper.fit_transform`` catches an exception raised by a projection object and
  silently falls back to the raw data. The lens is therefore computed here
  (:func:`compute_lens`) and passed to ``map(lens, X)``; a lens that raises fails the caller
  with its own error.
* DBSCAN's default ``eps`` (0.5, Euclidean) on unit-norm rows marks almost everything
  noise or one blob. Clustering uses cosine distance and an ``eps`` set to the
  ``eps_quantile`` quantile of every point's distance to its ``min_samples``-th nearest
  neighbour in the whole cloud (:func:`knn_eps`).
* ``custom_tooltips`` must be a numpy array; tooltips are HTML-escaped label strings.

Rows of ``points`` are items (latents or true features), columns the model dimensions.
"""

from __future__ import annotations

import html
import importlib
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

LENSES = ("pca", "l2norm", "umap")


def knn_eps(points: np.ndarray, k: int, quantile: float, metric: str = "cosine") -> float:
    """The ``quantile`` of every row's distance to its k-th nearest other row (n, d) → float."""
    from sklearn.neighbors import NearestNeighbors

    k = max(1, min(k, len(points) - 1))
    nn = NearestNeighbors(n_neighbors=k + 1, metric=metric).fit(points)
    dist, _ = nn.kneighbors(points)
    return float(max(np.quantile(dist[:, k], quantile), 1e-9))


def _import_lens(spec: str) -> Callable[[np.ndarray], np.ndarray]:
    module, _, name = spec.partition(":")
    if not module or not name:
        raise ValueError(f"custom lens {spec!r} must be 'module.path:function'")
    return getattr(importlib.import_module(module), name)


def compute_lens(points: np.ndarray, lens: str | Callable[[np.ndarray], np.ndarray] = "pca", *,
                 n_components: int = 2, table: pd.DataFrame | None = None, seed: int = 0) -> np.ndarray:
    """(n, c) lens values of the rows of ``points`` (n, d).

    ``lens``: ``pca`` (first ``n_components`` principal components), ``l2norm`` (row norm of
    the centred cloud), ``umap`` (UMAP to ``n_components``, cosine), ``column:<name>`` (a
    numeric column of ``table``, one row per point), ``module.path:function`` or a callable
    ``f(points) -> (n,) or (n, c)``. Exceptions of the lens propagate.
    """
    x = np.asarray(points, dtype=np.float64)
    if callable(lens):
        out = lens(x)
    elif lens == "pca":
        c = x - x.mean(0)
        _, _, vt = np.linalg.svd(c, full_matrices=False)
        out = c @ vt[: min(n_components, vt.shape[0])].T
    elif lens == "l2norm":
        out = np.linalg.norm(x - x.mean(0), axis=1)
    elif lens == "umap":
        import umap

        out = umap.UMAP(n_components=n_components, metric="cosine", random_state=seed,
                        n_neighbors=min(15, len(x) - 1)).fit_transform(x)
    elif lens.startswith("column:"):
        name = lens.split(":", 1)[1]
        if table is None or name not in table.columns:
            have = [] if table is None else list(table.columns)
            raise KeyError(f"lens column {name!r} not in the point table (columns: {have})")
        out = table[name].to_numpy(dtype=np.float64)
    elif ":" in lens:
        out = _import_lens(lens)(x)
    else:
        raise ValueError(f"unknown lens {lens!r}; expected one of {LENSES}, column:<name> or module:function")
    out = np.asarray(out, dtype=np.float64)
    out = out.reshape(len(x), -1)
    if not np.isfinite(out).all():
        raise ValueError(f"lens {lens!r} gave non-finite values")
    return out


def make_clusterer(points: np.ndarray, clusterer: str = "dbscan", *, min_samples: int = 3,
                   eps_quantile: float = 0.5, linkage: str = "single"):
    """A scikit-learn clusterer with cosine distance and a k-NN-quantile scale (module doc)."""
    from sklearn.cluster import DBSCAN, AgglomerativeClustering

    eps = knn_eps(points, min_samples, eps_quantile)
    if clusterer == "dbscan":
        return DBSCAN(eps=eps, min_samples=min_samples, metric="cosine")
    if clusterer == "agglomerative":
        return AgglomerativeClustering(n_clusters=None, distance_threshold=eps, metric="cosine", linkage=linkage)
    raise ValueError(f"unknown clusterer {clusterer!r}; expected dbscan or agglomerative")


def mapper_graph(points: np.ndarray, lens_values: np.ndarray, *, n_cubes: int = 8, overlap: float = 0.3,
                 clusterer: str = "dbscan", min_samples: int = 3, eps_quantile: float = 0.5,
                 linkage: str = "single") -> dict[str, Any]:
    """kepler-mapper graph of ``points`` (n, d) over a precomputed ``lens_values`` (n, c).

    Returns kmapper's dict: ``nodes`` {node id: [row indices]}, ``links``, ``meta_data``.
    """
    import kmapper as km

    if len(points) != len(lens_values):
        raise ValueError(f"lens has {len(lens_values)} rows for {len(points)} points")
    mapper = km.KeplerMapper(verbose=0)
    return mapper.map(lens_values, np.asarray(points, dtype=np.float64),
                      cover=km.Cover(n_cubes=n_cubes, perc_overlap=overlap),
                      clusterer=make_clusterer(points, clusterer, min_samples=min_samples, eps_quantile=eps_quantile,
                                               linkage=linkage))


def graph_edges(graph: dict[str, Any]) -> list[tuple[str, str]]:
    """Undirected edges (a < b) of a kmapper graph."""
    return sorted({tuple(sorted((a, b))) for a, bs in graph["links"].items() for b in bs})


def graph_components(graph: dict[str, Any]) -> list[list[str]]:
    """Connected components of a kmapper graph, as lists of node ids."""
    import networkx as nx

    g = nx.Graph()
    g.add_nodes_from(graph["nodes"])
    g.add_edges_from(graph_edges(graph))
    return [sorted(c) for c in nx.connected_components(g)]


def component_purity(graph: dict[str, Any], labels: np.ndarray) -> tuple[float, list[float]]:
    """(weighted purity, per-component purities): within each component, the share of its member
    rows (each counted once) that carry the component's most common label; rows labelled −1 are
    ignored; the weighted purity weights components by their labelled members."""
    labels = np.asarray(labels)
    per, weights = [], []
    for comp in graph_components(graph):
        members = np.unique(np.concatenate([graph["nodes"][n] for n in comp]))
        lab = labels[members]
        lab = lab[lab != -1] if lab.dtype.kind in "iu" else lab[pd.notna(lab)]
        if len(lab) == 0:
            continue
        _, counts = np.unique(lab, return_counts=True)
        per.append(counts.max() / len(lab))
        weights.append(len(lab))
    if not weights:
        return float("nan"), []
    return float(np.average(per, weights=weights)), per


def graph_summary(graph: dict[str, Any], n_points: int, labels: np.ndarray | None = None) -> dict[str, Any]:
    """Summary numbers of one Mapper graph: nodes, edges, components, loops (= edges − nodes +
    components, the graph's first Betti number), node sizes, share of points in some node, and
    the component purity of ``labels`` when given."""
    sizes = np.array([len(m) for m in graph["nodes"].values()], dtype=np.float64)
    n_nodes, n_edges = len(graph["nodes"]), len(graph_edges(graph))
    n_comp = len(graph_components(graph))
    covered = (len(np.unique(np.concatenate([np.asarray(m) for m in graph["nodes"].values()])))
               if n_nodes else 0)
    purity = component_purity(graph, labels)[0] if labels is not None else float("nan")
    q = (lambda f: float(f(sizes)) if len(sizes) else float("nan"))
    return dict(n_points=int(n_points), n_nodes=n_nodes, n_edges=n_edges, n_components=n_comp,
                n_loops=n_edges - n_nodes + n_comp, node_size_min=q(np.min), node_size_median=q(np.median),
                node_size_mean=q(np.mean), node_size_max=q(np.max), coverage=covered / max(n_points, 1),
                purity=purity)


def graph_json(graph: dict[str, Any], ids: np.ndarray, meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """JSON-ready graph: ``nodes`` [{id, members (item ids, e.g. latent indices), size}], ``edges``
    [[a, b]], ``meta``."""
    ids = np.asarray(ids)
    nodes = [{"id": n, "members": [int(ids[i]) for i in m], "size": len(m)} for n, m in graph["nodes"].items()]
    return {"nodes": nodes, "edges": [list(e) for e in graph_edges(graph)], "meta": meta or {}}


def tooltips(labels: pd.Series | list[str]) -> np.ndarray:
    """kmapper's ``custom_tooltips``: a numpy array of HTML-escaped strings (labels are data)."""
    return np.array([html.escape(str(s)) for s in labels], dtype=object)
