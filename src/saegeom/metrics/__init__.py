"""Similarity measures between paired feature matrices, a registry, and baselines.

API (ARCHITECTURE.md): ``f(X: (n, d1), Y: (n, d2)) -> float``; rows are paired
items, columns may differ in width; numpy or torch in, float64 inside.
"""

from saegeom.metrics.baselines import BaselineResult, permutation_test
from saegeom.metrics.registry import METRICS, MetricSpec, get_metric, register_metric
from saegeom.metrics.similarity import mcc, mmcs

__all__ = ["METRICS", "BaselineResult", "MetricSpec", "get_metric", "mcc", "mmcs", "permutation_test",
           "register_metric"]
