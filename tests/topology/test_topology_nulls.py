"""Topology nulls: draws that keep what they claim to keep, calibrated on independent structureless clouds."""

import numpy as np
import pytest
from scipy.stats import binom

from saegeom.compare.calibration import CALIBRATION_SCHEMA
from saegeom.compare.rows import Context
from saegeom.settings import TopologySettings
from saegeom.topology.calibration import structureless_cloud, topology_calibration, topology_null_rows
from saegeom.topology.compare import directions_in_span, topology_rows

FAST = dict(n_points=24, metrics=["bottleneck_h0", "bottleneck_h1", "wasserstein_h0", "wasserstein_h1", "msid"],
            msid={"n_vectors": 20})


def test_random_directions_stay_in_the_span_of_the_cloud():
    rng = np.random.default_rng(0)
    cloud = structureless_cloud(rng, 30, width=16, dim=8).points
    draw = directions_in_span(cloud)(rng)
    assert draw.shape == cloud.shape
    np.testing.assert_allclose(np.linalg.norm(draw, axis=1), 1.0, rtol=1e-12)
    assert np.linalg.matrix_rank(draw, tol=1e-8) == 8
    _, _, vt = np.linalg.svd(cloud)  # the cloud's span: its first 8 right singular vectors
    outside = draw - draw @ vt[:8].T @ vt[:8]
    assert np.abs(outside).max() < 1e-10


def test_topology_p_values_only_where_the_draws_reach_0_05():
    rng = np.random.default_rng(1)
    a, b = structureless_cloud(rng, 24, 16, 8), structureless_cloud(rng, 24, 16, 8)
    for n_baseline, reachable in ((18, False), (19, True)):
        rows = topology_rows(a, b, Context(), TopologySettings(n_baseline=n_baseline, **FAST))
        p = np.array([r["p_value"] for r in rows])
        assert np.isfinite(p).all() == reachable and (np.isnan(p).all() != reachable)
        if not reachable:
            assert all("18 defined null draws: the smallest attainable p" in r["note"] for r in rows)
            assert all(np.isnan(r["p_value_gpd"]) for r in rows)


def test_topology_calibration_rows_count_rejections():
    rows = topology_null_rows(2, dict(n_baseline=19, **FAST), seed=3)
    cal = topology_calibration(rows)
    assert list(cal.columns) == CALIBRATION_SCHEMA.names
    assert {"fpr", "ks_statistic", "ks_p", "p_ecdf", "trusted"} <= set(cal.statistic)
    assert (cal.pairing == "none").all()
    for _, r in cal[cal.statistic == "fpr"].iterrows():
        g = rows[(rows.metric == r.metric) & (rows.baseline == r.baseline)]
        assert r.n_tested == g.p_value.notna().sum() and r.n_rows == len(g)
        assert r.value == pytest.approx((g.p_value < r.alpha).sum() / r.n_tested)  # by hand, over tested rows
        assert r.ci_low <= r.value <= r.ci_high
    # 2 cases per combination are far below the 100 tested cases a verdict needs
    assert (cal[cal.statistic == "trusted"].value == 0.0).all()


@pytest.mark.slow
def test_structureless_clouds_in_different_subspaces_are_called_alike_at_the_nominal_rate():
    # 100 independent cases: two clouds of 24 Gaussian directions, each in its own random 8-dim subspace of
    # R^16, with a random half of each as subspace `group:random`. 19 draws: a permutation p-value is then
    # uniform on {1/20, ..., 1}, so P(p <= 0.05) = 1/20 exactly for an exchangeable null (ties only lower it).
    # One row per case and null: `random_directions` on `all`, `random_subset` on the group.
    n_cases = 100
    rows = topology_null_rows(n_cases, dict(n_baseline=19, geometry_score={"n_repeats": 2, "n_landmarks": 8},
                                            **{**FAST, "metrics": FAST["metrics"] + ["geometry_score"]}), seed=0)
    low, high = binom.interval(0.99, n_cases, 0.05)  # (0, 11)
    for null, sub in (("random_directions", "all"), ("random_subset", "group:random")):
        for metric, g in rows[(rows.baseline == null) & (rows.subspace == sub)].groupby("metric"):
            assert g.p_value.notna().sum() == n_cases, (null, metric)
            hits = int((g.p_value <= 0.05 + 1e-12).sum())
            assert low <= hits <= high, (null, metric, hits)
