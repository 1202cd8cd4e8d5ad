"""Random baselines and permutation p-values for any registered metric.

A baseline is a *sampler*: a function ``rng -> (X_null, Y_null)`` drawing one
matrix pair from the null. Built-in kinds (``make_sampler``), rows = items:

  ``shuffle``            rows of Y permuted (random re-pairing; for activation
                         matrices, whose rows are tokens, this is "tokens shuffled in B");
  ``random_directions``  Y replaced by i.i.d. Gaussian rows (for pairing-free
                         measures such as MMCS, where re-pairing changes nothing);
  ``random_subset``      (X, Y) replaced by a same-size random subset of the paired
                         pool, taken along ``axis`` (0: rows; 1: columns, i.e. paired
                         latents of an activation matrix);
  ``random_sparse``      Y replaced by a random matrix of Y's shape and density whose
                         non-zeros are drawn from Y's non-zero values;
  ``mismatched``         X from this subspace against B's partners of *another*
                         subspace (drawn from ``others``), both cut to the smaller size.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from saegeom.metrics._arrays import as_f64
from saegeom.metrics.registry import MetricSpec, get_metric

Sampler = Callable[[np.random.Generator], tuple[np.ndarray, np.ndarray]]
BASELINE_KINDS = ("shuffle", "random_directions", "random_subset", "random_sparse", "mismatched")


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
    """(1 + #null at least as extreme) / (1 + n): never 0, valid for a finite null.

    Non-finite null draws count as not extreme (and ``n`` still counts them).
    """
    null = np.asarray(null, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        extreme = null >= value if higher_is_similar else null <= value
    return float((1 + np.sum(extreme & np.isfinite(null))) / (1 + len(null)))


def _take(a: np.ndarray, idx: np.ndarray, axis: int) -> np.ndarray:
    return a[idx] if axis == 0 else a[:, idx]


def make_sampler(kind: str, x: np.ndarray, y: np.ndarray, *, pool: tuple[np.ndarray, np.ndarray] | None = None,
                 others: Sequence[np.ndarray] | None = None, axis: int = 0) -> Sampler:
    """The null sampler of one built-in kind for the observed pair (x, y); see module doc."""
    if kind == "shuffle":
        return lambda rng: (x, y[rng.permutation(len(y))])
    if kind == "random_directions":
        return lambda rng: (x, rng.standard_normal(y.shape))
    if kind == "random_subset":
        if pool is None:
            raise ValueError("baseline 'random_subset' needs pool=(X_all, Y_all)")
        px, py = as_f64(pool[0]), as_f64(pool[1])
        size, total = x.shape[axis], px.shape[axis]
        if total < size:
            raise ValueError(f"pool of {total} items is smaller than the subset ({size})")

        def subset(rng):
            idx = rng.choice(total, size=size, replace=False)
            return _take(px, idx, axis), _take(py, idx, axis)

        return subset
    if kind == "random_sparse":
        nz = y[y != 0]
        density = nz.size / max(y.size, 1)

        def sparse(rng):
            mask = rng.random(y.shape) < density
            return x, np.where(mask, rng.choice(nz, size=y.shape) if nz.size else 0.0, 0.0)

        return sparse
    if kind == "mismatched":
        if not others:
            raise ValueError("baseline 'mismatched' needs other subspaces' partner matrices")

        def mismatched(rng):
            other = as_f64(others[rng.integers(len(others))])
            n = min(x.shape[axis], other.shape[axis])
            ix = rng.choice(x.shape[axis], n, replace=False)
            io = rng.choice(other.shape[axis], n, replace=False)
            return _take(x, ix, axis), _take(other, io, axis)

        return mismatched
    raise ValueError(f"unknown baseline {kind!r}; expected one of {BASELINE_KINDS}")


def permutation_test(metric: str | MetricSpec, x, y, n_baseline: int = 1000, baseline: str = "shuffle",
                     seed: int = 0, pool: tuple[np.ndarray, np.ndarray] | None = None,
                     sampler: Sampler | None = None, others: Sequence[np.ndarray] | None = None, axis: int = 0,
                     progress: bool = False, **metric_kw) -> BaselineResult:
    """Value of ``metric(x, y)`` against ``n_baseline`` draws from a null.

    The null is ``sampler`` when given (``baseline`` is then only its label),
    else the built-in kind ``baseline`` (see :func:`make_sampler`).
    """
    spec = get_metric(metric) if isinstance(metric, str) else metric
    x, y = as_f64(x), as_f64(y)
    draw = sampler or make_sampler(baseline, x, y, pool=pool, others=others, axis=axis)
    value = spec(x, y, **metric_kw)
    rng = np.random.default_rng(seed)
    null = np.empty(n_baseline)
    for i in tqdm(range(n_baseline), desc=f"baseline {spec.name}/{baseline}", disable=not progress):
        xb, yb = draw(rng)
        try:
            null[i] = spec(xb, yb, **metric_kw)
        except ValueError:  # a degenerate draw (e.g. constant matrix): no value
            null[i] = np.nan
    finite = null[np.isfinite(null)]
    return BaselineResult(value, float(finite.mean()) if len(finite) else float("nan"),
                          float(finite.std(ddof=1)) if len(finite) > 1 else float("nan"),
                          p_value(value, null, spec.higher_is_similar), n_baseline, baseline, null)
