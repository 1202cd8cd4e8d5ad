"""Shape comparisons of two feature clouds → rows of ``results/metrics.parquet``.

Per subspace present in both clouds (``all``, ``cluster:<c>``, ``circle:<c>``,
``group:<name>``), with ``representation = decoder`` (``ground_truth`` for true-feature
clouds) and ``pairing = none`` (nothing is matched, so the clouds may differ in size and
width): bottleneck and 1-Wasserstein (ground metric ``topology.wasserstein_ground``, L∞ by default)
distances between the two diagrams per homology
dimension, MSID and the Geometry Score (all distances: lower = more alike).

Nulls (``saegeom.settings.TOPOLOGY_NULLS``), p-values by ``saegeom.metrics.baselines.p_value``
(only defined draws count; "extreme" = at most the observed distance):

  ``random_subset``      A's and B's subspace replaced by same-size random subsets of their
                         whole clouds — "is this subspace's shape more alike across the models
                         than that of any same-size set of features?" (not drawn for ``all``);
  ``random_directions``  B's cloud replaced by as many isotropic Gaussian directions in B's own linear
                         span (:func:`directions_in_span`): the draws have B's dimension (numerical
                         rank) and nothing else of it — "is B's shape closer to A's than that of
                         structureless directions in B's span?". (Directions isotropic in B's full
                         width would have the ambient dimension, not B's: a structureless B in an
                         8-dimensional subspace of 16 would then look "like" any other
                         8-dimensional cloud.)

A p-value is reported only when the defined draws can reach ``settings.REACHABLE_ALPHA`` (0.05): with N
draws the smallest p is 1 / (1 + N), so N < 19 gives NaN with a note. ``p_value_gpd`` is the
generalised-Pareto tail estimate of the same p (``saegeom.compare.multiple_testing.gpd_tail_p``).

``n_items`` of a row is the number of points of A and B together (after subsampling),
``n_pairs`` is 0.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from saegeom.compare.multiple_testing import gpd_tail_p
from saegeom.compare.rows import Context, make_row
from saegeom.metrics.baselines import p_value
from saegeom.settings import TopologySettings
from saegeom.topology.cloud import FeatureCloud
from saegeom.topology.diagram_distances import bottleneck, wasserstein
from saegeom.topology.geometry_score import mean_rlt
from saegeom.topology.msid import msid_descriptor
from saegeom.topology.persistence import cloud_diagrams, distance_matrix, farthest_point_indices, unit_rows
from saegeom.utils import derive_seed

log = logging.getLogger(__name__)


class CloudShape:
    """Everything the distances need from one cloud, computed once: diagrams, MSID descriptor, MRLT."""

    def __init__(self, points: np.ndarray, settings: TopologySettings, seed: int):
        s = settings
        dist = distance_matrix(points, s.distance)
        idx = farthest_point_indices(dist, s.n_points)
        self.points = np.asarray(points)[idx]
        self.n = len(idx)
        need = set(s.metrics)
        self.diagrams = (cloud_diagrams(self.points, complex=s.complex, distance=s.distance, n_points=s.n_points,
                                        max_dim=s.max_dim, alpha_dim=s.alpha_dim)[0]
                         if any(m.startswith(("bottleneck", "wasserstein")) for m in need) else {})
        self.msid = (msid_descriptor(self.points, k=s.msid["k"], m=s.msid["lanczos_steps"],
                                     n_vectors=s.msid["n_vectors"], seed=seed,
                                     exact_max_points=s.msid["exact_max_points"]) if "msid" in need else None)
        gs = s.geometry_score
        self.mrlt = (mean_rlt(self.points, gs["n_landmarks"], gs["gamma"], gs["i_max"], gs["n_repeats"], seed)
                     if "geometry_score" in need else None)


def shape_distances(a: CloudShape, b: CloudShape, metrics: list[str], wasserstein_ground: str = "linf"
                    ) -> dict[str, float]:
    """{metric: distance} between two cloud shapes (``wasserstein_ground``: see ``diagram_distances.wasserstein``)."""
    from saegeom.topology.msid import DEFAULT_TIMES

    out = {}
    for m in metrics:
        if (m == "msid" and (a.msid is None or b.msid is None)) or (
                m == "geometry_score" and (a.mrlt is None or b.mrlt is None)):
            raise ValueError(f"metric {m!r} was not computed for these shapes (not in their settings' metrics)")
        if m.startswith(("bottleneck_h", "wasserstein_h")):
            kind, dim = m.rsplit("_h", 1)
            da, db = a.diagrams[int(dim)], b.diagrams[int(dim)]
            out[m] = bottleneck(da, db) if kind == "bottleneck" else wasserstein(da, db, ground=wasserstein_ground)
        elif m == "msid":
            c = np.exp(-2 * (DEFAULT_TIMES + 1 / DEFAULT_TIMES))
            assert a.msid is not None and b.msid is not None  # checked above
            out[m] = float(np.max(np.abs(c * (a.msid - b.msid))))
        elif m == "geometry_score":
            assert a.mrlt is not None and b.mrlt is not None  # checked above
            out[m] = float(((a.mrlt - b.mrlt) ** 2).sum())
    return out


def directions_in_span(points: np.ndarray, rtol: float = 1e-8) -> Callable[[np.random.Generator], np.ndarray]:
    """Sampler ``rng -> (n, d)``: n isotropic Gaussian directions (unit rows) in the linear span of
    ``points`` (n, d), i.e. uniform on the unit sphere of that r-dimensional subspace.

    r is the numerical rank of ``points`` (singular values above ``rtol`` × the largest), so the draws
    have the cloud's own dimension and nothing else of it. This is the exact null law of a
    structureless cloud (isotropic directions in its span) — a plug-in Gaussian with the cloud's
    estimated mean and covariance would not be (its draws are more concentrated than the cloud they
    were fitted to, which makes small structureless clouds look "alike" to anything). An anisotropic
    cloud (unequal variances within its span) differs from these draws by that anisotropy, which
    the null counts as shape.
    """
    x = np.asarray(points, dtype=np.float64)
    _, sv, vt = np.linalg.svd(x, full_matrices=False)
    basis = vt[sv > rtol * sv[0]] if len(sv) and sv[0] > 0 else vt[:0]  # (r, d) orthonormal rows
    return lambda rng: unit_rows(rng.standard_normal((len(x), len(basis))) @ basis)


def topology_rows(a: FeatureCloud, b: FeatureCloud, ctx: Context, settings: TopologySettings,
                  representation: str = "decoder") -> list[dict[str, Any]]:
    """Rows of every topology metric × subspace × null for clouds ``a`` and ``b`` (module doc)."""
    s = settings
    subspaces = {"all": (np.ones(len(a), bool), np.ones(len(b), bool))}
    subspaces |= {k: (a.subspaces[k], b.subspaces[k]) for k in sorted(set(a.subspaces) & set(b.subspaces))}
    rows = []
    for sub, (ma, mb) in tqdm(subspaces.items(), desc=f"topology {ctx.comparison}"):
        na, nb = int(ma.sum()), int(mb.sum())
        baselines = [n for n in s.baselines if not (n == "random_subset" and sub == "all")]
        if min(na, nb) < s.min_points:
            note = f"too few points ({na} in A, {nb} in B; need {s.min_points})"
            rows += [make_row(ctx, subspace=sub, representation=representation, pairing="none", n_pairs=0,
                              metric=m, baseline=n, n_items=na + nb, note=note)
                     for m in s.metrics for n in baselines]
            continue
        seed = derive_seed(ctx.seed, ctx.comparison, sub, "topology")
        shape_a = CloudShape(a.points[ma], s, seed)
        shape_b = CloudShape(b.points[mb], s, seed)
        value = shape_distances(shape_a, shape_b, s.metrics, s.wasserstein_ground)
        n_items = shape_a.n + shape_b.n
        for null in baselines:
            rng = np.random.default_rng(derive_seed(seed, null))
            draws = np.full((s.n_baseline, len(s.metrics)), np.nan)
            directions = directions_in_span(b.points[mb]) if null == "random_directions" else None
            for i in range(s.n_baseline):
                if null == "random_subset":
                    xa = a.points[rng.choice(len(a), na, replace=False)]
                    xb = b.points[rng.choice(len(b), nb, replace=False)]
                    sa, sb = CloudShape(xa, s, seed), CloudShape(xb, s, seed)
                else:
                    assert directions is not None  # TOPOLOGY_NULLS: the other null is random_directions
                    sa, sb = shape_a, CloudShape(directions(rng), s, seed)
                d = shape_distances(sa, sb, s.metrics, s.wasserstein_ground)
                draws[i] = [d[m] for m in s.metrics]
            for j, m in enumerate(s.metrics):
                null_m = draws[:, j]
                p, note = p_value(value[m], null_m, higher_is_similar=False)
                fin = null_m[np.isfinite(null_m)]
                # p_value gives NaN with a note when the draws cannot reach REACHABLE_ALPHA
                p_tail = gpd_tail_p(value[m], null_m, higher_is_similar=False)[0] if np.isfinite(p) else np.nan
                rows.append(make_row(ctx, subspace=sub, representation=representation, pairing="none", n_pairs=0,
                                     metric=m, value=value[m], baseline=null,
                                     baseline_mean=float(fin.mean()) if len(fin) else np.nan,
                                     baseline_std=float(fin.std(ddof=1)) if len(fin) > 1 else np.nan,
                                     p_value=p, p_value_gpd=p_tail, n_baseline=s.n_baseline,
                                     n_baseline_valid=len(fin), n_baseline_distinct=len(np.unique(fin)),
                                     n_items=n_items,
                                     note=note))
    return rows
