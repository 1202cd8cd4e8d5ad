"""The seed ceiling and feature families through Snakemake on a tiny config: replicate SAEs, the ceiling
table, its join, and a nested world's families with their validation."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
TINY = yaml.safe_load((REPO / "tests" / "data" / "tiny_config.yaml").read_text())


@pytest.mark.slow
def test_ceiling_and_families_end_to_end(tmp_path):
    cfg = {**TINY, "saes": {"topk": TINY["saes"]["topk"]}, "seed_ceiling": {"saes": ["topk"], "n_baseline": 5},
           "families": {"worlds": {"nested": {
               "d_world": 8, "n_features_per_model": 12, "sharing": {"all": 0.25, "pairs": 0.25}, "n_samples": 6000,
               "shard_rows": 2000, "firing": {"kind": "correlated", "mean_active": 2, "decay": 0.99},
               "models": {"a": {}, "b": {"basis": "rotation"}, "c": {}}}},
               "saes": {"small": TINY["saes"]["topk"]}}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    targets = ["results/ceiling.parquet", "results/compare/tiny/topk/a~b.parquet",
               "results/families/nested/small.parquet", "results/families/nested/small_validation.parquet"]
    # targets go before --resources, which takes every following word
    cmd = [SNAKEMAKE, *targets, "-s", str(REPO / "workflow" / "Snakefile"), "--directory", str(tmp_path),
           "--configfile", str(tmp_path / "config.yaml"), "--cores", "2", "--resources", "gpu=2"]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    results = tmp_path / "results"
    # the replicate reads the model's shards and trains with another seed: another dictionary
    w = {m: (results / "saes" / "tiny" / m / "topk" / "sae_weights.safetensors").read_bytes() for m in ("a", "a_s1")}
    assert w["a"] != w["a_s1"]
    replicate = pd.read_parquet(results / "compare" / "tiny" / "topk" / "a~a_s1.parquet")
    assert set(replicate.model_b) == {"a_s1"} and (replicate.n_baseline[replicate.value.notna()] == 5).all()
    ceiling = pd.read_parquet(results / "ceiling.parquet")
    assert set(ceiling.model) == {"a", "b"} and set(ceiling.replicate) == {"a_s1", "b_s1"}
    from saegeom.compare.ceiling import add_ceilings

    cross = add_ceilings(pd.read_parquet(results / "compare" / "tiny" / "topk" / "a~b.parquet"), ceiling)
    row = cross[(cross.subspace == "all") & (cross.representation == "decoder") & (cross.pairing == "hungarian")
                & (cross.metric == "linear_cka")].iloc[0]
    own = ceiling[(ceiling.subspace == "all") & (ceiling.representation == "decoder")
                  & (ceiling.pairing == "hungarian") & (ceiling.metric == "linear_cka")].value
    assert row.ceiling == pytest.approx(own.mean()) and row.value_vs_ceiling == pytest.approx(row.value / own.mean())
    fam = pd.read_parquet(results / "families" / "nested" / "small.parquet")
    assert len(fam) == 3 * 16 and fam.groupby("family").model.apply(lambda s: s.is_unique).all()
    v = pd.read_parquet(results / "families" / "nested" / "small_validation.parquet")
    assert set(v.level) == {"all", "pairs", "private", "any"}
    assert v[(v.level == "all") & (v.statistic == "n_true")].value.item() == 3  # round(0.25 x 12)
    assert np.isfinite(v[v.statistic == "recall"].value).all()
