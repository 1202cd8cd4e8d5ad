"""The seed ceiling: the ceiling table and its join on hand-made rows, and same-model SAEs end to end (same
seed: every similarity is 1; another seed: below it)."""

import numpy as np
import pandas as pd
import pytest

from saegeom.compare import CompareSettings, Context, WorldLabels, compare_saes
from saegeom.compare.ceiling import add_ceilings, ceiling_table
from saegeom.io.tables import validate_metrics


def _row(model_a, model_b, subspace, metric, value, world="w", sae="s", baseline="random_partners",
         pairing="hungarian"):
    return dict(comparison=f"{world}:{model_a}/{sae}~{model_b}/{sae}", source="synthetic", world=world,
                model_a=model_a, sae_a=sae, model_b=model_b, sae_b=sae, subspace=subspace,
                representation="decoder", pairing=pairing, metric=metric, value=value, baseline=baseline,
                baseline_mean=0.1, baseline_std=0.01, p_value=0.01, p_value_gpd=0.01, q_value=0.02, trusted=None,
                n_baseline=99, n_baseline_valid=99, n_baseline_distinct=99, n_items=20, n_pairs=20,
                n_distinct_pairs=20, n_tokens=float("nan"), seed=0, config_hash="h", package_version="0", note="")


def test_ceiling_join_on_a_hand_made_table():
    rows = [
        _row("a", "a_s1", "all", "linear_cka", 0.8), _row("a", "a_s1", "all", "linear_cka", 0.8, baseline="x"),
        _row("b", "b_s1", "all", "linear_cka", 0.6),
        _row("a", "a_s1", "all", "orthogonal_procrustes", 0.2), _row("b", "b_s1", "all", "orthogonal_procrustes", 0.4),
        _row("a", "a_s1", "cluster:0", "linear_cka", 0.9),  # b has no cluster:0 ceiling
        _row("a", "b", "all", "linear_cka", 0.35), _row("a", "b", "all", "orthogonal_procrustes", 0.5),
        _row("a", "b", "cluster:0", "linear_cka", 0.3), _row("a", "b", "all", "linear_cka", 0.35, sae="t"),
        _row("a", "c", "all", "linear_cka", 0.2),  # c has no replicate
    ]
    rows[1]["baseline"] = "random_subset"
    df = pd.DataFrame(rows)
    ceiling = ceiling_table(df, {"w": {"a_s1": "a", "b_s1": "b"}})
    assert len(ceiling) == 5  # one value per key whatever the null
    assert set(ceiling.model) == {"a", "b"} and set(ceiling.replicate) == {"a_s1", "b_s1"}
    out = add_ceilings(df, ceiling).set_index(["model_a", "model_b", "sae_a", "subspace", "metric"])
    by_hand = out.loc[("a", "b", "s", "all", "linear_cka")]
    assert by_hand.ceiling == pytest.approx((0.8 + 0.6) / 2) and by_hand.value_vs_ceiling == pytest.approx(0.35 / 0.7)
    dist = out.loc[("a", "b", "s", "all", "orthogonal_procrustes")]  # a distance: ceiling given, no ratio
    assert dist.ceiling == pytest.approx(0.3) and np.isnan(dist.value_vs_ceiling)
    for key in [("a", "b", "s", "cluster:0", "linear_cka"), ("a", "b", "t", "all", "linear_cka"),
                ("a", "c", "s", "all", "linear_cka"), ("a", "a_s1", "s", "all", "linear_cka")]:
        assert out.loc[key, ["ceiling", "value_vs_ceiling"]].isna().all().all(), key
    validate_metrics(out.reset_index())  # the columns fit the metrics schema


@pytest.mark.slow
def test_same_seed_gives_ceiling_one_and_another_seed_less(tmp_path):
    from saegeom.sae import load_sae, train_sae
    from saegeom.settings import PairingSettings
    from saegeom.synthetic.world import build_world, write_paired_shards

    cfg = dict(d_world=12, n_features_per_model=24, shared_fraction=0.5, geometry={"kind": "sphere"},
               firing={"kind": "correlated", "mean_active": 2, "decay": 0.995, "correlation": None},
               models={"a": {"basis": "identity"}, "b": {"basis": "rotation"}})
    world = build_world("ceil", cfg, seed=1)
    write_paired_shards(world, tmp_path / "acts", n_samples=20_000, shard_rows=10_000)
    acts = tmp_path / "acts" / "a"
    spec = dict(architecture="topk", d_sae=32, k=3, lr=3e-3, training_samples=30_000, batch_size=512)
    for name, seed in (("s1", 1), ("s1_again", 1), ("s2", 2)):
        train_sae(acts, spec, tmp_path / name, seed=seed)
    sae = {n: load_sae(tmp_path / n) for n in ("s1", "s1_again", "s2")}
    settings = CompareSettings(metrics={"decoder": ["linear_cka", "svcca"], "activations": ["linear_cka"]},
                               baselines={"decoder": ["random_partners"], "activations": ["random_partners"]},
                               n_baseline=9, n_tokens=128)
    values = {}
    for other in ("s1_again", "s2"):
        ctx = Context(source="synthetic", world="ceil", model_a="a", sae_a="s", model_b=f"a_{other}", sae_b="s")
        df = compare_saes(acts, acts, sae["s1"], sae[other], subspaces=WorldLabels(world, "a", "a", sae["s1"],
                                                                                     sae[other]),
                          settings=settings, pairing=PairingSettings(pairings=["hungarian"]), context=ctx)
        values[other] = df[df.subspace == "all"].drop_duplicates(["representation", "metric"]).set_index(
            ["representation", "metric"])["value"]
    # the same seed trains the same SAE: a ceiling of exactly 1 (up to float rounding)
    np.testing.assert_allclose(values["s1_again"].to_numpy(), 1.0, atol=1e-6)
    # another seed: a different dictionary; over world seeds 1-3 every value measured 0.65-0.77 (decoder linear
    # CKA 0.65-0.70): margin > 0.2 below 1 and > 0.3 above the lower bound
    assert (values["s2"] < 1 - 1e-3).all() and values["s2"][("decoder", "linear_cka")] > 0.3


def test_ceiling_rule_writes_the_table_and_an_empty_one(tmp_path):
    from saegeom.compare.ceiling import CEILING_SCHEMA
    from saegeom.io.tables import write_metrics
    from saegeom.rules import ceiling, metrics

    write_metrics(pd.DataFrame([_row("a", "a_s1", "all", "linear_cka", 0.8),
                                _row("b", "b_s1", "all", "linear_cka", 0.6)]), tmp_path / "rep.parquet")
    write_metrics(pd.DataFrame([_row("a", "b", "all", "linear_cka", 0.35)]), tmp_path / "ab.parquet")
    table = ceiling(tables=[tmp_path / "rep.parquet"], replicates={"w": {"a_s1": "a", "b_s1": "b"}},
                    out=tmp_path / "ceiling.parquet")
    assert list(pd.read_parquet(tmp_path / "ceiling.parquet").value) == list(table.value) == [0.8, 0.6]
    metrics(tables=[tmp_path / "ab.parquet", tmp_path / "rep.parquet"], ceiling=tmp_path / "ceiling.parquet",
            out=tmp_path / "metrics.parquet")
    m = pd.read_parquet(tmp_path / "metrics.parquet").set_index("model_b")
    assert m.loc["b", "ceiling"] == pytest.approx(0.7) and np.isnan(m.loc["a_s1", "ceiling"])
    empty = ceiling(tables=[], replicates={}, out=tmp_path / "empty.parquet")
    assert empty.empty and list(pd.read_parquet(tmp_path / "empty.parquet").columns) == CEILING_SCHEMA.names
