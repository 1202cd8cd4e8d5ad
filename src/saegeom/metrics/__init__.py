"""Similarity measures between paired feature matrices, a registry, and baselines.

API (ARCHITECTURE.md): ``f(X: (n, d1), Y: (n, d2)) -> float``; rows are paired
items, columns may differ in width; numpy or torch in, float64 inside.
Registered names (``METRICS``): mmcs, mcc, fraction_recovered, svcca, pwcca,
linear_cka, rsa, mutual_knn, jaccard_knn, orthogonal_procrustes,
permutation_procrustes, soft_matching.
"""

from saegeom.metrics.baselines import BaselineResult, permutation_test
from saegeom.metrics.registry import METRICS, MetricSpec, get_metric, register_metric
from saegeom.metrics.representational import jaccard_knn, linear_cka, mutual_knn, pwcca, rsa, svcca
from saegeom.metrics.shape import orthogonal_procrustes, permutation_procrustes, soft_matching
from saegeom.metrics.similarity import fraction_recovered, mcc, mmcs

__all__ = ["METRICS", "BaselineResult", "MetricSpec", "fraction_recovered", "get_metric", "jaccard_knn",
           "linear_cka", "mcc", "mmcs", "mutual_knn", "orthogonal_procrustes", "permutation_procrustes",
           "permutation_test", "pwcca", "register_metric", "rsa", "soft_matching", "svcca"]
