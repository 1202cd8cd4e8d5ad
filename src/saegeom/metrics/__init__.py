"""Similarity measures between paired feature matrices, a registry, and baselines.

API (ARCHITECTURE.md): ``f(X: (n, d1), Y: (n, d2)) -> float``; rows are paired
items, columns may differ in width; numpy or torch in, float64 inside.
Registered names (``METRICS``): mmcs, mcc, fraction_recovered, svcca, pwcca,
linear_cka, linear_cka_debiased, rsa, mutual_knn, jaccard_knn, orthogonal_procrustes,
permutation_procrustes, soft_matching.

    from saegeom.metrics import linear_cka, permutation_test
    value = linear_cka(X, Y)                                   # X: (n, d1), Y: (n, d2), rows paired
    r = permutation_test("linear_cka", X, Y, n_baseline=1000, baseline="repairing")
    r.value, r.p_value, r.n_valid                              # p counts only defined null draws

A measure with no value on degenerate inputs raises ``MetricUndefined`` (a
``ValueError``) whose message says why; nothing else is caught as "undefined".
"""

from saegeom.metrics.baselines import BaselineResult, permutation_test
from saegeom.metrics.registry import METRICS, MetricSpec, MetricUndefined, get_metric, register_metric
from saegeom.metrics.representational import (
    jaccard_knn,
    linear_cka,
    linear_cka_debiased,
    mutual_knn,
    pwcca,
    rsa,
    svcca,
)
from saegeom.metrics.shape import orthogonal_procrustes, permutation_procrustes, soft_matching
from saegeom.metrics.similarity import fraction_recovered, mcc, mmcs

__all__ = ["METRICS", "BaselineResult", "MetricSpec", "MetricUndefined", "fraction_recovered", "get_metric",
           "jaccard_knn", "linear_cka", "linear_cka_debiased", "mcc", "mmcs", "mutual_knn", "orthogonal_procrustes",
           "permutation_procrustes", "permutation_test", "pwcca", "register_metric", "rsa", "soft_matching", "svcca"]
