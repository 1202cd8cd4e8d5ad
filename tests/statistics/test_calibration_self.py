"""A calibration report that can see a miscalibrated null: rates over tested cases only, a uniformity
check, a trust verdict, and the verdict joined onto a metrics table."""


import numpy as np
import pandas as pd
import pytest
from sae_stubs import ReluSAE
from scipy.stats import binom

from saegeom.compare import CompareSettings, Context, compare_saes, make_row
from saegeom.compare.calibration import ECDF_GRID, MIN_TESTED_CASES, join_trust, summarise
from saegeom.io.shards import ShardWriter
from saegeom.io.tables import validate_metrics
from saegeom.settings import PairingSettings


def _rows(world, metric, ps, subspace=lambda i: f"random:{i}", baseline="random_partners", model_b="b"):
    ctx = Context(source="synthetic", world=world, model_a="a", sae_a="cal", model_b=model_b, sae_b="cal")
    return [make_row(ctx, subspace=subspace(i), representation="decoder", pairing="hungarian", metric=metric,
                     value=0.5, baseline=baseline, baseline_mean=0.0 if np.isfinite(p) else np.nan, baseline_std=1.0,
                     p_value=p, n_baseline=99, n_baseline_valid=99 if np.isfinite(p) else 0)
            for i, p in enumerate(ps)]


def _grid_uniform(rng, n):
    return (rng.integers(100, size=n) + 1) / 100.0  # permutation p-values of 99 draws under a true null


def test_the_report_sees_a_miscalibrated_null_and_ignores_untested_rows():
    rng = np.random.default_rng(0)
    good = _grid_uniform(rng, 300)
    bad = np.where(rng.random(300) < 0.15, 0.01, _grid_uniform(rng, 300))  # 15% extra false positives
    few = np.r_[_grid_uniform(rng, 60), np.full(240, np.nan)]  # 60 tested, 240 without a p-value
    rows = _rows("cal0", "linear_cka", good) + _rows("cal0", "rsa", bad) + _rows("cal0", "svcca", few)
    rows += _rows("cal5", "linear_cka", np.full(50, 0.001))  # random subsets of a world sharing half: no null case
    t = summarise(pd.DataFrame(rows), {"cal0": 0.0, "cal5": 0.5}).set_index(["statistic", "metric"])
    fpr = t[t.alpha == 0.05]
    assert fpr.loc[("fpr", "linear_cka"), "n_tested"] == 300  # cal5's rows are not null cases
    assert fpr.loc[("fpr", "linear_cka"), "value"] == pytest.approx((good < 0.05).mean())
    # untested rows are left out: the rate is over the 60 tested cases, not diluted by 240 NaN rows
    assert fpr.loc[("fpr", "svcca"), "value"] == pytest.approx((few[:60] < 0.05).mean())
    assert fpr.loc[("fpr", "svcca"), "n_rows"] == 300 and fpr.loc[("fpr", "svcca"), "n_tested"] == 60
    trusted = t.xs("trusted", level="statistic").value
    assert trusted["linear_cka"] == 1.0 and trusted["rsa"] == 0.0
    assert trusted["svcca"] == 0.0  # fewer than MIN_TESTED_CASES tested cases: no verdict of trust
    assert 60 < MIN_TESTED_CASES
    # KS distance by hand: the largest gap between the empirical CDF and the uniform one
    for metric, ps in (("linear_cka", good), ("rsa", bad)):
        s = np.sort(ps)
        n = len(s)
        d = max((np.arange(1, n + 1) / n - s).max(), (s - np.arange(n) / n).max())
        assert t.loc[("ks_statistic", metric), "value"] == pytest.approx(d)
    assert t.loc[("ks_p", "rsa"), "value"] < 0.01 < t.loc[("ks_p", "linear_cka"), "value"]
    ecdf = t.xs("p_ecdf", level="statistic").reset_index().query("metric == 'rsa'").sort_values("alpha")
    np.testing.assert_allclose(ecdf.value, [(bad <= g).mean() for g in ECDF_GRID])


def test_join_trust_marks_rows_by_their_calibrated_combination():
    rng = np.random.default_rng(1)
    cal = summarise(pd.DataFrame(_rows("cal0", "linear_cka", _grid_uniform(rng, 200))
                                 + _rows("cal0", "rsa", np.full(200, 0.01))), {"cal0": 0.0})
    metrics = pd.DataFrame(_rows("blobs", "linear_cka", [0.02, np.nan], subspace=["all", "shared"].__getitem__)
                           + _rows("blobs", "rsa", [0.3], subspace=["all"].__getitem__)
                           + _rows("blobs", "svcca", [0.3], subspace=["all"].__getitem__))
    out = validate_metrics(join_trust(metrics, cal))  # the verdict fits the metrics schema
    assert out.trusted.tolist() == [True, None, False, None]  # NaN p and uncalibrated svcca: no verdict
    assert out.drop(columns="trusted").equals(validate_metrics(metrics).drop(columns="trusted"))


def test_random_subspaces_of_a_world_sharing_nothing_give_100_tested_calibrated_cases(tmp_path):
    """Two stand-in SAEs with independent codes, every latent paired (min_corr 0), 120 random 8-pair
    subspaces: each is a tested null case; the FPR of activation CKA lies in its binomial 99% interval."""
    rng = np.random.default_rng(3)
    n, d = 1600, 40
    for name in "ab":
        rate = np.exp(rng.uniform(np.log(0.05), np.log(0.4), d))
        z = (rng.random((n, d)) < rate) * rng.standard_exponential((n, d))
        ShardWriter(tmp_path / name, d, 800).add(z).close()
    settings = CompareSettings(metrics={"activations": ["linear_cka"]}, baselines={"activations": ["random_partners"]},
                               n_baseline=99, n_tokens=200, random_subspaces={"activations": 120},
                               random_subspace_size=8)
    ctx = Context(source="synthetic", world="cal_f000_s0", model_a="a", model_b="b")
    df = compare_saes(tmp_path / "a", tmp_path / "b", ReluSAE(d, 0), ReluSAE(d, 1), settings=settings,
                      pairing=PairingSettings(pairings=["hungarian"], min_corr=0), context=ctx)
    assert df.subspace.str.startswith("random:").sum() == 120
    t = summarise(df, {"cal_f000_s0": 0.0}).set_index(["statistic", "alpha"])
    fpr = t.loc[("fpr", 0.05)]
    assert fpr.n_tested >= 120
    lo, hi = binom.interval(0.99, int(fpr.n_tested), 0.05)
    assert lo <= fpr.value * fpr.n_tested <= hi
