"""Topology of SAE feature spaces: Mapper graphs, persistent homology and shape distances.

    from saegeom.topology import sae_cloud, cloud_diagrams, topology_rows
    cloud = sae_cloud("results/saes/circles/a/topk", world=World.load(...), model="a")   # rows = latents
    diagrams, n = cloud_diagrams(cloud.points, n_points=200)                             # {0: (k, 2), 1: ...}

Modules: ``cloud`` (point clouds + labels/subspaces), ``persistence`` (farthest-point subsample,
Rips/alpha, diagram tables, plots), ``mapper`` (kepler-mapper with a precomputed lens),
``report`` (offline HTML), ``diagram_distances``, ``msid``, ``geometry_score``, ``compare``
(rows of ``results/metrics.parquet``), ``pipeline`` (one function per rule).
"""

from saegeom.topology.cloud import FeatureCloud, ground_truth_cloud, read_latents, sae_cloud
from saegeom.topology.compare import topology_rows
from saegeom.topology.persistence import cloud_diagrams, lifetimes

__all__ = ["FeatureCloud", "cloud_diagrams", "ground_truth_cloud", "lifetimes", "read_latents", "sae_cloud",
           "topology_rows"]
