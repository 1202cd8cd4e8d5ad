"""Trained SAEs on the planted hierarchy: parent → child links are recovered where the children first appear."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow

# the demo's hierarchy world (config/config.yaml width_worlds.hierarchy): 8 non-child features, 18 children
WORLD = dict(geometry={"kind": "sphere"}, d_world=32, n_features_per_model=26, shared_fraction=1.0,
             firing={"kind": "correlated", "mean_active": 2, "decay": 1.0,
                     "hierarchy": {"n_parents": 6, "children_per_parent": 3, "child_rate": 0.3,
                                   "mutually_exclusive": True}},
             models={"a": {"basis": "identity"}})
SPEC = {"architecture": "topk", "k": 4, "lr": 0.003, "training_samples": 2_000_000, "batch_size": 1024}


def test_parent_child_recall_where_children_first_appear(tmp_path):
    from saegeom.sae import train_sae
    from saegeom.synthetic.world import build_world, write_paired_shards
    from saegeom.widths import ladder_families

    seed = 0
    world = build_world("h", WORLD, seed)
    world.save(tmp_path / "world.safetensors")
    write_paired_shards(world, tmp_path / "acts", 100_000, 50_000)
    saes = {}
    for width in (8, 32):  # 8 = the non-child features; 32 ≥ all 26 features: the children appear
        saes[width] = tmp_path / f"sae{width}"
        train_sae(tmp_path / "acts" / "a", {**SPEC, "d_sae": width}, saes[width], seed=seed * 1000 + width)
    families, summary = ladder_families(tmp_path / "acts" / "a", saes, world=tmp_path / "world.safetensors")
    row = summary.iloc[0]
    assert row["width"] == 32 and row["n_new_children"] >= 12  # most of the 18 children first appear here
    # measured at these settings over world/SAE seeds 0-3: 0.83, 0.94, 0.89, 0.88 (precision 1.0, 0.94, 0.94, 0.88); the
    # default run's ladder (other seeds) gave 0.72. The bound is the 0.7: 0.13 below the lowest of the
    # seeds measured here, only 0.02 below the lowest seen at all (SAE training on few rows varies)
    assert row["recall_new"] >= 0.7
    assert row["precision"] >= 0.5
    # every 32-latent is linked to some 8-latent or labelled novel/dead; the tree covers every latent once
    assert len(families) == 8 + 32 and set(families["label"]) <= {"root", "same", "split", "merged", "novel", "dead"}
