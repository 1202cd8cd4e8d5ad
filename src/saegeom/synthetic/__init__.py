"""Synthetic worlds with known ground-truth features, and paired activation shards.

    from saegeom.synthetic import build_world, write_paired_shards
    world = build_world("demo", world_cfg, seed=0)        # a `worlds:` block of config.yaml
    write_paired_shards(world, "acts", n_samples=100_000, shard_rows=20_000)   # acts/<model>/ row-aligned
"""

from saegeom.synthetic.firing import CorrelatedFiring, FeatureGroupFiring, make_firing
from saegeom.synthetic.geometry import make_features
from saegeom.synthetic.world import World, build_world, write_paired_shards

__all__ = ["CorrelatedFiring", "FeatureGroupFiring", "World", "build_world", "make_features", "make_firing",
           "write_paired_shards"]
