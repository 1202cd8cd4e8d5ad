import numpy as np
import pandas as pd
import pytest

from saegeom.compare.validation import VALIDATION_SCHEMA, plot_metric_validation, run_metric_validation, summarise


def _values(metric, shared, private, fractions):
    rows = [dict(statistic="value", representation="decoder", metric=metric, subspace="shared", shared_fraction=0.5,
                 seed=i, value=v, n=10) for i, v in enumerate(shared)]
    rows += [dict(statistic="value", representation="decoder", metric=metric, subspace="private_a",
                  shared_fraction=0.5, seed=i, value=v, n=10) for i, v in enumerate(private)]
    rows += [dict(statistic="value", representation="decoder", metric=metric, subspace="all", shared_fraction=f,
                  seed=0, value=v, n=10) for f, v in fractions]
    return pd.DataFrame(rows)


def test_summary_statistics_by_hand():
    shared, private = [0.9, 0.5, 0.7], [0.6, 0.2]
    df = summarise(_values("linear_cka", shared, private, [(0.0, 0.1), (0.5, 0.3), (1.0, 0.2)]))
    auc = df[df.statistic == "auroc_shared_vs_private"].value.item()
    assert auc == pytest.approx(np.mean([s > p for s in shared for p in private]))  # 5 of 6 pairs
    assert df[df.statistic == "spearman_vs_shared_fraction"].value.item() == pytest.approx(0.5)
    # distances are negated: a distance that falls with sharing scores like a similarity that rises
    dist = summarise(_values("orthogonal_procrustes", [0.1, 0.2], [0.5, 0.6], [(0.0, 1.0), (1.0, 0.2)]))
    assert dist[dist.statistic == "auroc_shared_vs_private"].value.item() == pytest.approx(1.0)
    assert dist[dist.statistic == "spearman_vs_shared_fraction"].value.item() == pytest.approx(1.0)


@pytest.mark.slow
def test_small_sweep_tracks_the_shared_fraction(tmp_path):
    cfg = dict(shared_fractions=[0.0, 1.0], seeds=[0], pairing="hungarian", gt_threshold=0.7, n_tokens=128,
               min_pairs=3, metrics={"decoder": ["linear_cka"], "activations": ["linear_cka"]},
               world=dict(d_world=12, n_features_per_model=24, n_samples=30_000, shard_rows=10_000,
                          firing={"kind": "correlated", "mean_active": 2, "decay": 0.995},
                          models={"a": {"basis": "identity"}, "b": {"basis": "rotation"}}),
               sae=dict(architecture="topk", d_sae=48, k=2, lr=3e-3, training_samples=200_000, batch_size=512))
    df = run_metric_validation(cfg)
    assert list(df.columns) == VALIDATION_SCHEMA.names
    all_rows = df[(df.statistic == "value") & (df.subspace == "all")].set_index(["representation", "shared_fraction"])
    for rep in ("decoder", "activations"):
        assert all_rows.loc[(rep, 1.0), "value"] > all_rows.loc[(rep, 0.0), "value"] + 0.3
    assert df[(df.statistic == "value") & (df.subspace == "shared") & (df.shared_fraction == 0.0)].value.isna().all()
    plot_metric_validation(df, tmp_path / "v.png")
    assert (tmp_path / "v.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_validation_config_fails_before_work():
    cfg = dict(shared_fractions=[0.0, 1.0], seeds=[0], metrics={"decoder": ["linear_cka"]},
               world=dict(d_world=4, n_features_per_model=4, models={"a": {}}))
    with pytest.raises(ValueError, match="two models"):
        run_metric_validation(cfg)
    cfg["world"]["models"] = {"a": {}, "b": {}}
    cfg["metrics"] = {"decoder": ["no_such_metric"]}
    with pytest.raises(KeyError, match="no_such_metric"):
        run_metric_validation(cfg)

