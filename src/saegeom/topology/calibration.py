"""Calibration of the topology nulls on independent, structureless point clouds.

A *case* is two clouds that share nothing by construction: each is ``n_points`` Gaussian
directions (unit rows) in its own random ``dim``-dimensional linear subspace of a ``width``-wide
space, with one subspace ``group:random`` of half its points chosen at random. Under both
topology nulls every row of a case is a true null: ``random_directions`` (B is a structureless
Gaussian cloud in its own span, which is what the null draws) and ``random_subset`` (the group is
a random subset, which is what the null draws). :func:`topology_null_rows` compares each case
with :func:`saegeom.topology.compare.topology_rows`, exactly as the pipeline does;
:func:`topology_calibration` turns those rows into false-positive rates with Clopper–Pearson
intervals in the columns of ``saegeom.compare.calibration.CALIBRATION_SCHEMA`` (``pairing`` is
``none``; ``fpr`` counts untested rows as non-rejections, ``fpr_tested`` is over rows with a
p-value), plus ``ks_uniform`` rows: the Kolmogorov–Smirnov p-value (``value``) of the tested
p-values against the discrete uniform law of a permutation p-value with the row's draw count.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from saegeom.compare.rows import Context
from saegeom.settings import TopologySettings
from saegeom.topology.cloud import FeatureCloud
from saegeom.topology.persistence import unit_rows

ALPHAS = (0.01, 0.05)


def structureless_cloud(rng: np.random.Generator, n_points: int, width: int, dim: int) -> FeatureCloud:
    """``n_points`` unit Gaussian directions in a random ``dim``-dimensional subspace of R^``width``,
    with the subspace ``group:random`` = a random half of the points."""
    basis, _ = np.linalg.qr(rng.standard_normal((width, dim)))  # (width, dim) orthonormal columns
    points = unit_rows(rng.standard_normal((n_points, dim)) @ basis.T)
    group = np.zeros(n_points, bool)
    group[rng.choice(n_points, n_points // 2, replace=False)] = True
    table = pd.DataFrame({"id": np.arange(n_points), "group": np.where(group, "random", None)})
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


def _discrete_uniform_ks(p: np.ndarray, n_draws: int) -> float:
    """KS p-value of permutation p-values against their exact null law: uniform on {k / (1 + N)}."""
    grid = np.arange(1, n_draws + 2) / (n_draws + 1)

    def cdf(x):
        return np.searchsorted(grid, np.asarray(x) + 1e-12, side="right") / len(grid)

    return float(stats.kstest(p, cdf).pvalue) if len(p) else float("nan")


def topology_calibration(rows: pd.DataFrame, alphas=ALPHAS) -> pd.DataFrame:
    """Calibration rows (``CALIBRATION_SCHEMA`` columns) from :func:`topology_null_rows` output: per
    representation × metric × null, ``fpr`` / ``fpr_tested`` at each α (rejection: p ≤ α, a
    permutation p-value's exact convention) with Clopper–Pearson 95 % intervals, and ``ks_uniform``."""
    out = []
    for (rep, metric, null), g in rows.groupby(["representation", "metric", "baseline"], sort=True):
        tested = g.p_value.dropna().to_numpy()
        common = dict(representation=rep, pairing="none", metric=metric, baseline=null, n_tested=len(tested),
                      n_rows=len(g))
        for a in alphas:
            hits = int((tested <= a + 1e-12).sum())
            for name, n in (("fpr", len(g)), ("fpr_tested", len(tested))):
                ci = stats.binomtest(hits, n).proportion_ci(0.95, method="exact") if n else None
                out.append(dict(common, statistic=name, alpha=a, value=hits / n if n else np.nan,
                                ci_low=ci.low if ci else np.nan, ci_high=ci.high if ci else np.nan))
        n_draws = int(g.n_baseline_valid[g.p_value.notna()].median()) if len(tested) else 0
        out.append(dict(common, statistic="ks_uniform", alpha=np.nan, value=_discrete_uniform_ks(tested, n_draws),
                        ci_low=np.nan, ci_high=np.nan))
    cols = ["statistic", "representation", "pairing", "metric", "baseline", "alpha", "value", "ci_low", "ci_high",
            "n_tested", "n_rows"]
    return pd.DataFrame(out, columns=cols)
