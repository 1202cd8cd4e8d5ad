"""Calibration report: false-positive rate, power and value statistics computed by hand."""

import numpy as np
import pandas as pd
import pytest

from saegeom.compare import Context, make_row
from saegeom.compare.calibration import CALIBRATION_SCHEMA, summarise
from saegeom.settings import calibration_world_name
from saegeom.viz import plot_calibration


def _row(world, subspace, metric, value, p, baseline="random_partners"):
    ctx = Context(source="synthetic", world=world, model_a="a", sae_a="cal", model_b="b", sae_b="cal")
    return make_row(ctx, subspace=subspace, representation="decoder", pairing="hungarian", metric=metric,
                    value=value, baseline=baseline, baseline_mean=0.0, baseline_std=1.0, p_value=p,
                    n_baseline=100, n_baseline_valid=100)


def test_rates_and_value_statistics_by_hand(tmp_path):
    frac = {"w0": 0.0, "w5": 0.5, "w10": 1.0}
    rows = [
        _row("w0", "all", "linear_cka", 0.1, 0.2),         # null case (nothing shared in w0)
        _row("w0", "private_a", "linear_cka", 0.2, 0.004),  # null case, rejected at .01 and .05
        _row("w5", "private_b", "linear_cka", 0.3, 0.03),   # null case, rejected at .05 only
        _row("w5", "private_a", "linear_cka", np.nan, np.nan),  # untested null case
        _row("w5", "shared", "linear_cka", 0.9, 0.001),
        _row("w10", "shared", "linear_cka", 0.7, 0.02),
        _row("w5", "all", "linear_cka", 0.5, 0.001),
        _row("w10", "all", "linear_cka", 0.8, 0.001),
        _row("w0", "shared", "linear_cka", np.nan, np.nan),  # w0 has no shared features: not a power case
    ]
    t = summarise(pd.DataFrame(rows), frac).set_index(["statistic", "alpha"])
    # the untested null case claims nothing: it is left out of `fpr` (never a non-rejection)
    assert t.loc[("fpr", 0.01)].value == pytest.approx(1 / 3) and t.loc[("fpr", 0.05)].value == pytest.approx(2 / 3)
    assert t.loc[("fpr", 0.01)].n_tested == 3 and t.loc[("fpr", 0.01)].n_rows == 4
    assert t.loc[("power", 0.01)].value == pytest.approx(1 / 2) and t.loc[("power", 0.05)].value == 1.0
    # Clopper-Pearson 95% interval of 1 hit in 3 tested cases (scipy.stats.binomtest as the reference)
    from scipy.stats import binomtest

    ci = binomtest(1, 3).proportion_ci(0.95, method="exact")
    fpr = t.loc[("fpr", 0.01)]
    assert fpr.ci_low == pytest.approx(ci.low) and fpr.ci_high == pytest.approx(ci.high)
    values = summarise(pd.DataFrame(rows), frac).set_index("statistic")
    assert values.loc["spearman_vs_shared_fraction", "value"] == pytest.approx(1.0)  # 0.1 < 0.5 < 0.8
    # shared {0.9, 0.7} vs private {0.2, 0.3}: every pair ordered
    assert values.loc["auroc_shared_vs_private", "value"] == pytest.approx(1.0)
    assert list(summarise(pd.DataFrame(rows), frac).columns) == CALIBRATION_SCHEMA.names
    plot_calibration(summarise(pd.DataFrame(rows), frac), tmp_path / "c.png")
    assert (tmp_path / "c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_distances_are_negated_before_value_statistics():
    frac = {"w0": 0.0, "w10": 1.0}
    rows = [_row("w0", "all", "orthogonal_procrustes", 1.2, 0.5),
            _row("w10", "all", "orthogonal_procrustes", 0.3, 0.01),
            _row("w10", "shared", "orthogonal_procrustes", 0.2, 0.01),
            _row("w10", "private_a", "orthogonal_procrustes", 1.1, 0.6),
            _row("w0", "private_b", "orthogonal_procrustes", 1.3, 0.7)]
    v = summarise(pd.DataFrame(rows), frac).set_index("statistic")
    assert v.loc["auroc_shared_vs_private", "value"] == pytest.approx(1.0)


def test_world_names_are_wildcard_safe():
    assert calibration_world_name(0.25, 1) == "cal_f025_s1"
    assert calibration_world_name(1.0, 12) == "cal_f100_s12"
