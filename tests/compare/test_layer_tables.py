"""Layer matrices and features-over-training tables (saegeom.compare.layers) on hand-made comparison rows:
oriented z, the best-matching layer by z (not by raw value), q-values, and which side is the checkpoint."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from saegeom.compare.layers import (
    LAYER_NULL,
    RECOVERY_REPRESENTATION,
    best_layers,
    layer_matrix,
    oriented_z,
    training_table,
)
from saegeom.compare.multiple_testing import bh_q_values
from saegeom.compare.rows import Context, make_row

UNITS = [{"unit": "a", "model": "a", "hook": "blocks.0.hook_resid_post", "layer": 0, "step": 10, "final_step": 10}] + [
    {"unit": f"b.L{i}", "model": "b", "hook": f"blocks.{i}.hook_resid_post", "layer": i, "step": 10, "final_step": 10}
    for i in range(3)]


def _row(b: str, metric: str, value: float, mean: float, std: float, p: float, baseline: str = LAYER_NULL,
         subspace: str = "all", model_a: str = "a", world: str = "w") -> dict:
    ctx = Context(world=world, model_a=model_a, model_b=b, sae_a="s", sae_b="s")
    return make_row(ctx, subspace=subspace, representation="decoder", pairing="hungarian", metric=metric,
                    value=value, baseline=baseline, baseline_mean=mean, baseline_std=std, p_value=p,
                    n_baseline=99, n_baseline_valid=99, n_baseline_distinct=99, n_pairs=20, n_items=20)


def test_oriented_z_flips_distances():
    df = pd.DataFrame([_row("b.L0", "linear_cka", 0.8, 0.5, 0.1, 0.01),
                       _row("b.L0", "orthogonal_procrustes", 0.2, 0.5, 0.1, 0.01),
                       _row("b.L0", "linear_cka", 0.8, 0.5, 0.0, 0.01)])
    np.testing.assert_allclose(oriented_z(df), [3.0, 3.0, np.nan])


def test_best_layer_is_the_highest_excess_over_chance_not_the_highest_value_or_z():
    # L1 has the highest raw CKA and the highest z (a tight null), L2 the largest excess over its null mean
    rows = pd.DataFrame([_row("b.L0", "linear_cka", 0.50, 0.45, 0.05, 0.2),     # excess 0.05, z 1
                         _row("b.L1", "linear_cka", 0.90, 0.80, 0.01, 0.03),    # excess 0.10, z 10
                         _row("b.L2", "linear_cka", 0.70, 0.40, 0.20, 0.01),    # excess 0.30, z 1.5
                         _row("b.L0", "orthogonal_procrustes", 0.9, 1.0, 0.1, 0.2),   # distance: excess 0.1
                         _row("b.L1", "orthogonal_procrustes", 0.5, 1.0, 0.1, 0.01),  # excess 0.5 (lowest distance)
                         _row("b.L2", "orthogonal_procrustes", float("nan"), float("nan"), float("nan"),
                              float("nan")),
                         _row("b.L2", "linear_cka", 0.7, 0.6, 0.1, 0.04, baseline="random_subset")])
    m = layer_matrix(rows, UNITS)
    assert len(m) == 6 and set(m["model_b"]) == {"b"} and list(m["layer_b"].unique()) == [0, 1, 2]
    np.testing.assert_allclose(m.set_index(["metric", "unit_b"]).loc[("linear_cka", "b.L1"), ["excess", "z"]],
                               [0.10, 10.0])
    best = best_layers(m).set_index("metric")
    assert best.loc["linear_cka", "unit_b"] == "b.L2" and best.loc["linear_cka", "hook_b"] == "blocks.2.hook_resid_post"
    assert best.loc["orthogonal_procrustes", "unit_b"] == "b.L1"
    by_value = m[m["best_by_value"]].set_index("metric")["unit_b"]
    assert by_value["linear_cka"] == "b.L1" and by_value["orthogonal_procrustes"] == "b.L1"
    # q: BH within comparison x representation x null, as in metrics.parquet (one comparison per layer pair)
    for unit in ("b.L0", "b.L1", "b.L2"):
        fam = rows[(rows["model_b"] == unit) & (rows["baseline"] == LAYER_NULL)]
        q = dict(zip(fam["metric"], bh_q_values(fam["p_value"].to_numpy(float)), strict=True))
        got = m[m["unit_b"] == unit].set_index("metric")["q_value"]
        for metric, value in got.items():
            assert value == pytest.approx(q[metric], nan_ok=True)


def test_ties_and_undefined_rows():
    rows = pd.DataFrame([_row("b.L0", "linear_cka", 0.6, 0.5, 0.05, 0.05),
                         _row("b.L1", "linear_cka", 0.6, 0.5, 0.05, 0.05),
                         _row("b.L0", "svcca", float("nan"), float("nan"), float("nan"), float("nan")),
                         _row("b.L1", "svcca", float("nan"), float("nan"), float("nan"), float("nan"))])
    m = layer_matrix(rows, UNITS)
    assert best_layers(m)[["metric", "unit_b"]].values.tolist() == [["linear_cka", "b.L0"]]  # tie: lower layer
    with pytest.raises(ValueError, match="not units of the study"):
        layer_matrix(pd.DataFrame([_row("zz", "linear_cka", 0.5, 0.4, 0.1, 0.1)]), UNITS)


def test_training_table_finds_the_checkpoint_side_and_adds_recovery():
    units = [{"unit": "m", "model": "m", "hook": "h", "layer": None, "step": 100, "final_step": 100},
             {"unit": "m.step20", "model": "m", "hook": "h", "layer": None, "step": 20, "final_step": 100},
             {"unit": "m.step60", "model": "m", "hook": "h", "layer": None, "step": 60, "final_step": 100}]
    rows = pd.DataFrame([_row("m.step20", "linear_cka", 0.3, 0.1, 0.1, 0.04, model_a="m"),
                         _row("m.step60", "linear_cka", 0.7, 0.1, 0.1, 0.01, model_a="m")])
    rec = []
    for u, f1 in (("m", 0.9), ("m.step20", 0.2), ("m.step60", 0.6)):
        ctx = Context(world="w", model_a=u, sae_a="s", model_b="categories", sae_b="categories")
        rec += [make_row(ctx, subspace="group:animals", representation="activations", pairing="none",
                         metric="category_f1", value=f1),
                make_row(ctx, subspace="group:animals", representation="activations", pairing="none",
                         metric="category_precision", value=1.0)]
    t = training_table(rows, pd.DataFrame(rec), units)
    sim = t[t["representation"] == "decoder"]
    assert sim[["unit", "step", "value"]].values.tolist() == [["m.step20", 20, 0.3], ["m.step60", 60, 0.7]]
    np.testing.assert_allclose(sim["z"], [2.0, 6.0])
    r = t[t["representation"] == RECOVERY_REPRESENTATION]
    assert r[["step", "value"]].values.tolist() == [[20, 0.2], [60, 0.6], [100, 0.9]]  # the final model at its step
    assert set(r["metric"]) == {"category_f1"} and (t["final_step"] == 100).all()


def test_hook_columns_are_filled_for_lm_rows_and_empty_for_synthetic_rows(tmp_path):
    from saegeom.io.tables import read_metrics, write_metrics

    lm = Context(source="lm", world="toys", model_a="toy1", model_b="toy2.L1", hook_a="blocks.0.hook_resid_post",
                 hook_b="blocks.1.hook_resid_post", layer_a=0, layer_b=1)
    rows = [make_row(lm, subspace="all", representation="decoder", pairing="hungarian", metric="linear_cka",
                     value=0.5),
            make_row(Context(source="synthetic", world="blobs", model_a="a", model_b="b"), subspace="all",
                     representation="decoder", pairing="hungarian", metric="linear_cka", value=0.5)]
    write_metrics(pd.DataFrame(rows), tmp_path / "m.parquet")
    df = read_metrics(tmp_path / "m.parquet").set_index("source")
    assert df.loc["lm", ["hook_a", "hook_b", "layer_a", "layer_b"]].tolist() == \
        ["blocks.0.hook_resid_post", "blocks.1.hook_resid_post", 0, 1]
    assert df.loc["synthetic", ["hook_a", "hook_b"]].tolist() == ["", ""]
    assert df.loc["synthetic", ["layer_a", "layer_b"]].isna().all()
    # a table written before the columns existed reads with the same empty defaults
    old = pd.DataFrame(rows[1:]).drop(columns=["hook_a", "hook_b", "layer_a", "layer_b"])
    write_metrics(old, tmp_path / "old.parquet")
    back = read_metrics(tmp_path / "old.parquet")
    assert back["hook_a"].tolist() == [""] and back["layer_b"].isna().all()
