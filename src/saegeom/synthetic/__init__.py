"""Synthetic worlds with known ground-truth features, and paired activation shards."""

from saegeom.synthetic.firing import CorrelatedFiring, FeatureGroupFiring, make_firing
from saegeom.synthetic.geometry import make_features
from saegeom.synthetic.world import World, build_world

__all__ = ["CorrelatedFiring", "FeatureGroupFiring", "World", "build_world", "make_features", "make_firing"]
