"""Calibration of the topology nulls on independent, structureless point clouds.

A *case* is two clouds that share nothing by construction: each is ``n_points`` Gaussian
directions (unit rows) in its own random ``dim``-dimensional linear subspace of a ``width``-wide
space, with one subspace ``group:random`` of half its points chosen at random. Under both
topology nulls every row of a case is a true null: ``random_directions`` (B is a structureless
Gaussian cloud in its own span, which is what the null draws) and ``random_subset`` (the group is
a random subset, which is what the null draws). :func:`topology_null_rows` compares each case
with :func:`saegeom.topology.compare.topology_rows`, exactly as the pipeline does;
:func:`topology_calibration` turns those rows into false-positive rates with Clopper–Pearson
intervals, the uniformity check and the trust verdict, in the columns of
``saegeom.compare.calibration.CALIBRATION_SCHEMA`` (``pairing`` is ``none``), exactly as the pairing
nulls are summarised.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from saegeom.compare.rows import Context
from saegeom.settings import TopologySettings
from saegeom.topology.cloud import FeatureCloud
from saegeom.topology.persistence import unit_rows


def structureless_cloud(rng: np.random.Generator, n_points: int, width: int, dim: int) -> FeatureCloud:
    """``n_points`` unit Gaussian directions in a random ``dim``-dimensional subspace of R^``width``,
    with the subspace ``group:random`` = a random half of the points."""
    basis, _ = np.linalg.qr(rng.standard_normal((width, dim)))  # (width, dim) orthonormal columns
    points = unit_rows(rng.standard_normal((n_points, dim)) @ basis.T)
    group = np.zeros(n_points, bool)
    group[rng.choice(n_points, n_points // 2, replace=False)] = True
    labels = np.array(["random" if g else None for g in group], dtype=object)
    table = pd.DataFrame({"id": np.arange(n_points), "group": labels})
    return FeatureCloud(points, table, {"group:random": group})


def topology_null_rows(n_cases: int, settings: TopologySettings | dict, seed: int = 0, n_points: int = 24,
                       width: int = 16, dim: int = 8) -> pd.DataFrame:
    """Metrics-table rows of ``n_cases`` independent structureless cloud pairs (module doc); case i is
    the comparison ``topology_null:a{i}/cloud~b{i}/cloud`` (world ``topology_null``, source synthetic)."""
    from saegeom.topology.compare import topology_rows

    s = settings if isinstance(settings, TopologySettings) else TopologySettings(**settings)
    rows = []
    for i in range(n_cases):
        rng = np.random.default_rng([seed, i])
        a, b = (structureless_cloud(rng, n_points, width, dim) for _ in range(2))
        ctx = Context(source="synthetic", world="topology_null", model_a=f"a{i}", sae_a="cloud", model_b=f"b{i}",
                      sae_b="cloud", seed=seed * 1_000_003 + i)
        rows += topology_rows(a, b, ctx, s, representation="decoder")
    return pd.DataFrame(rows)


def topology_calibration(rows: pd.DataFrame) -> pd.DataFrame:
    """Calibration rows (``CALIBRATION_SCHEMA``) from :func:`topology_null_rows` output: every row is a
    null case, summarised like the pairing nulls' (``saegeom.compare.calibration.null_case_rows``:
    ``fpr`` over tested cases, KS, P–P grid and the ``trusted`` verdict), with ``pairing`` = ``none``."""
    from saegeom.compare.calibration import CALIBRATION_SCHEMA, null_case_rows

    return pd.DataFrame(null_case_rows(rows.assign(pairing="none")), columns=CALIBRATION_SCHEMA.names)
