"""Random baselines and permutation p-values for any registered metric."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from saegeom.metrics._arrays import as_f64
from saegeom.metrics.registry import MetricSpec, get_metric

BASELINE_KINDS = ("shuffle", "random_directions", "random_subset")


@dataclass
class BaselineResult:
    value: float
    baseline_mean: float
    baseline_std: float
    p_value: float
    n_baseline: int
    baseline: str
    samples: np.ndarray  # (n_baseline,) the null values


def p_value(value: float, null: np.ndarray, higher_is_similar: bool) -> float:
    """(1 + #null at least as extreme) / (1 + n): never 0, valid for a finite null."""
    null = np.asarray(null, dtype=np.float64)
    null = null[np.isfinite(null)]
    extreme = null >= value if higher_is_similar else null <= value
    return float((1 + extreme.sum()) / (1 + len(null)))


def permutation_test(metric: str | MetricSpec, x, y, n_baseline: int = 1000, baseline: str = "shuffle",
                     seed: int = 0, pool: tuple[np.ndarray, np.ndarray] | None = None,
                     progress: bool = False, **metric_kw) -> BaselineResult:
    """Value of ``metric(x, y)`` against a null of ``n_baseline`` random draws.

    Baselines (rows = items):
      ``shuffle``: rows of Y permuted (random re-pairing);
      ``random_directions``: Y replaced by i.i.d. Gaussian rows of the same shape;
      ``random_subset``: (X, Y) replaced by a random subset of the same size drawn
      from the paired ``pool`` = (X_all, Y_all).
    """
    spec = get_metric(metric) if isinstance(metric, str) else metric
    x, y = as_f64(x), as_f64(y)
    if baseline not in BASELINE_KINDS:
        raise ValueError(f"unknown baseline {baseline!r}; expected one of {BASELINE_KINDS}")
    if baseline == "random_subset":
        if pool is None:
            raise ValueError("baseline 'random_subset' needs pool=(X_all, Y_all)")
        px, py = as_f64(pool[0]), as_f64(pool[1])
        if len(px) < len(x):
            raise ValueError(f"pool of {len(px)} rows is smaller than the subset ({len(x)})")
    value = spec(x, y, **metric_kw)
    rng = np.random.default_rng(seed)
    null = np.empty(n_baseline)
    for i in tqdm(range(n_baseline), desc=f"baseline {spec.name}/{baseline}", disable=not progress):
        if baseline == "shuffle":
            xb, yb = x, y[rng.permutation(len(y))]
        elif baseline == "random_directions":
            xb, yb = x, rng.standard_normal(y.shape)
        else:
            idx = rng.choice(len(px), size=len(x), replace=False)
            xb, yb = px[idx], py[idx]
        null[i] = spec(xb, yb, **metric_kw)
    finite = null[np.isfinite(null)]
    return BaselineResult(value, float(finite.mean()) if len(finite) else float("nan"),
                          float(finite.std(ddof=1)) if len(finite) > 1 else float("nan"),
                          p_value(value, null, spec.higher_is_similar), n_baseline, baseline, null)
