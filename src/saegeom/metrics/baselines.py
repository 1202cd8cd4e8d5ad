"""Nulls and permutation p-values for any registered metric.

A null is a *sampler* ``rng -> (X_null, Y_null)``: one matrix pair drawn from a
distribution that destroys exactly one thing (``saegeom.settings.NULLS`` says what).
Pairs lie along ``axis`` of the matrices: 0 when rows are pairs (decoder directions),
1 when columns are pairs (activations: rows are tokens). Built-in kinds
(:func:`make_sampler`):

  ``random_partners``     each B partner replaced by a random *other* live B latent from
                          ``pools.b_pool`` (same count, same tokens), drawn within the partner's
                          firing-frequency bin when bins are given — "are these partners more alike
                          than unrelated latents of B?" (the headline null);
  ``repairing``           B's partners permuted among the subspace's own pairs;
  ``random_subset``       (X, Y) replaced by a same-size random subset of all pairs;
  ``mismatched_subspace`` X against B's partners of another subspace of the same family;
  ``random_directions``   Y's rows replaced by Gaussian directions (pairing-free measures);
  ``token_shuffle``       activations only: B's tokens (rows) permuted — an alignment check.

p-values (:func:`p_value`) count only *defined* null draws: a draw on which the
metric is undefined (``MetricUndefined``) leaves the denominator, and with fewer
than ``min_valid_fraction`` of the draws defined the p-value is NaN with a note.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from saegeom.metrics._arrays import as_f64
from saegeom.metrics.registry import MetricSpec, MetricUndefined, get_metric
from saegeom.vocabulary import NULLS

log = logging.getLogger(__name__)
Sampler = Callable[[np.random.Generator], tuple[np.ndarray, np.ndarray]]


@dataclass
class NullPools:
    """What the nulls of one subspace draw from (pairs along ``axis``; see module doc).

    ``pairs_x``/``pairs_y``: every pair of the pairing (for ``random_subset``);
    ``b_pool``: every live B latent (decoder rows or code columns, along ``axis``);
    ``b_pool_bins``: (n_pool,) frequency bin of each pool latent; ``y_pool_idx``: (n,) pool
    position of each of this subspace's partners (excluded from its draws) and ``y_bins`` their
    bins; ``others``: B partners of other subspaces of the same family.
    """

    axis: int = 0
    pairs_x: np.ndarray | None = None
    pairs_y: np.ndarray | None = None
    b_pool: np.ndarray | None = None
    b_pool_bins: np.ndarray | None = None
    y_pool_idx: np.ndarray | None = None
    y_bins: np.ndarray | None = None
    others: Sequence[np.ndarray] = field(default_factory=list)


@dataclass
class BaselineResult:
    value: float
    baseline_mean: float
    baseline_std: float
    p_value: float
    n_baseline: int
    n_valid: int
    baseline: str
    samples: np.ndarray  # (n_baseline,) null values, NaN where undefined
    note: str = ""


def p_value(value: float, null: np.ndarray, higher_is_similar: bool,
            min_valid_fraction: float = 0.0) -> tuple[float, str]:
    """(p, note): p = (1 + #defined draws at least as extreme) / (1 + #defined draws).

    Undefined (non-finite) draws leave the denominator. When fewer than
    ``min_valid_fraction`` × len(null) draws (and always when none) are defined, p is NaN
    and the note says how many were.
    """
    null = np.asarray(null, dtype=np.float64)
    finite = null[np.isfinite(null)]
    need = max(1, math.ceil(min_valid_fraction * len(null)))
    if len(finite) < need or not np.isfinite(value):
        return float("nan"), f"only {len(finite)} of {len(null)} null draws defined (need {need})"
    extreme = finite >= value if higher_is_similar else finite <= value
    return float((1 + extreme.sum()) / (1 + len(finite))), ""


def _take(a: np.ndarray, idx: np.ndarray, axis: int) -> np.ndarray:
    return a[idx] if axis == 0 else a[:, idx]


def _random_partners(pools: NullPools, n: int) -> Callable[[np.random.Generator], np.ndarray]:
    """Index sampler into ``pools.b_pool``: n distinct latents, none of this subspace's partners.

    When the pool has fewer than n other latents (subspace ``all`` of a one-to-one pairing, whose
    partners are most live latents): with rows as pairs (``axis`` 0, decoder, ground truth) the draw
    comes from the whole pool, which still breaks the pairing; with columns as pairs (``axis`` 1, activations)
    such a draw would be a column permutation of nearly the same latents, which moves none of the
    measures, so the null is undefined there (``MetricUndefined``)."""
    if pools.b_pool is None:
        raise ValueError("null 'random_partners' needs pools.b_pool (every live B latent)")
    n_pool = pools.b_pool.shape[pools.axis]
    allowed = np.ones(n_pool, bool)
    if pools.y_pool_idx is not None:
        allowed[np.asarray(pools.y_pool_idx, np.int64)] = False
    if allowed.sum() >= n:
        candidates = np.flatnonzero(allowed)
    elif pools.axis == 0:
        # rows are pairs: independent draws from the whole pool (with replacement when it is smaller
        # than the subspace, e.g. several latents sharing one true feature) still break the pairing
        candidates = np.arange(n_pool)
        if n_pool < n:
            return lambda rng: rng.choice(candidates, n, replace=True)
    else:
        raise MetricUndefined(f"random_partners needs {n} live B latents that are not partners in this subspace, "
                              f"B has {int(allowed.sum())}: the subspace holds (nearly) all of B's live latents")
    if pools.b_pool_bins is None or pools.y_bins is None:
        return lambda rng: rng.choice(candidates, n, replace=False)
    bins = np.asarray(pools.b_pool_bins)
    y_bins = np.asarray(pools.y_bins)
    plan = []  # (positions in the subspace, candidates of that bin)
    for b in np.unique(y_bins):
        where = np.flatnonzero(y_bins == b)
        cand = candidates[bins[candidates] == b]
        plan.append((where, cand if len(cand) >= len(where) else candidates))

    def draw(rng: np.random.Generator) -> np.ndarray:
        out = np.empty(n, np.int64)
        for where, cand in plan:
            out[where] = rng.choice(cand, len(where), replace=False)
        return out

    return draw


@dataclass
class IndexSampler:
    """A null that keeps X and draws ``Y_null = take(source, draw(rng), axis)``."""

    source: np.ndarray
    axis: int
    draw: Callable[[np.random.Generator], np.ndarray]


def index_sampler(kind: str, x: np.ndarray, y: np.ndarray, pools: NullPools | None = None) -> IndexSampler | None:
    """The built-in nulls that only re-index Y (``random_partners``, ``repairing``, ``token_shuffle``);
    None for the others. The plain sampler and the fast evaluators (``saegeom.metrics.fast_nulls``)
    both draw through it, so they consume the random stream identically."""
    pools = pools or NullPools()
    axis = pools.axis
    n = x.shape[axis]
    if kind == "random_partners":
        return IndexSampler(pools.b_pool, axis, _random_partners(pools, n))
    if kind == "repairing":
        return IndexSampler(y, axis, lambda rng: rng.permutation(n))
    if kind == "token_shuffle":
        return IndexSampler(y, 0, lambda rng: rng.permutation(len(y)))
    return None


def make_sampler(kind: str, x: np.ndarray, y: np.ndarray, pools: NullPools | None = None) -> Sampler:
    """The null sampler of one built-in kind for the observed pair (x, y); see module doc."""
    pools = pools or NullPools()
    axis = pools.axis
    n = x.shape[axis]
    s = index_sampler(kind, x, y, pools)
    if s is not None:
        return lambda rng: (x, _take(s.source, s.draw(rng), s.axis))
    if kind == "random_directions":
        return lambda rng: (x, rng.standard_normal(y.shape))
    if kind == "random_subset":
        if pools.pairs_x is None or pools.pairs_y is None:
            raise ValueError("null 'random_subset' needs pools.pairs_x / pairs_y (every pair)")
        total = pools.pairs_x.shape[axis]
        if total < n:
            raise ValueError(f"pool of {total} pairs is smaller than the subset ({n})")

        def subset(rng):
            i = rng.choice(total, size=n, replace=False)
            return _take(pools.pairs_x, i, axis), _take(pools.pairs_y, i, axis)

        return subset
    if kind == "mismatched_subspace":
        if not pools.others:
            raise ValueError("null 'mismatched_subspace' needs other subspaces' partner matrices")

        def mismatched(rng):
            other = as_f64(pools.others[rng.integers(len(pools.others))])
            m = min(n, other.shape[axis])
            return _take(x, rng.choice(n, m, replace=False), axis), _take(other, rng.choice(other.shape[axis], m,
                                                                                             replace=False), axis)

        return mismatched
    raise ValueError(f"unknown null {kind!r}; expected one of {sorted(NULLS)}")


def permutation_test(metric: str | MetricSpec, x, y, n_baseline: int = 1000, baseline: str = "random_partners",
                     seed: int = 0, pools: NullPools | None = None, sampler: Sampler | None = None,
                     min_valid_fraction: float = 0.5, progress: bool = False, fast: bool = True,
                     **metric_kw) -> BaselineResult:
    """Value of ``metric(x, y)`` against ``n_baseline`` draws from a null.

    The null is ``sampler`` when given (``baseline`` is then only its label), else the
    built-in kind ``baseline`` (see :func:`make_sampler`). Raises ``MetricUndefined`` when
    the observed value itself is undefined; when the null cannot be drawn at all, the value is
    returned with a NaN p-value and a note; undefined null draws are counted, logged and left
    out of the p-value (:func:`p_value`).

    ``fast``: for nulls that keep X and re-index Y, evaluate draws with
    ``saegeom.metrics.fast_nulls`` (X's factorisation, Gram, RDM ranks, k-NN graph computed once);
    same draws, same values to float tolerance, same p-values. ``fast=False`` is the plain loop.
    """
    from saegeom.metrics.fast_nulls import fast_null

    spec = get_metric(metric) if isinstance(metric, str) else metric
    x, y = as_f64(x), as_f64(y)
    null = np.full(n_baseline, np.nan)
    try:
        draw = sampler or make_sampler(baseline, x, y, pools)
        isampler = None if sampler is not None or not fast else index_sampler(baseline, x, y, pools)
    except MetricUndefined as e:  # the value stands; only this null cannot be drawn here
        return BaselineResult(spec(x, y, **metric_kw), float("nan"), float("nan"), float("nan"), n_baseline, 0,
                              baseline, null, f"null {baseline} undefined: {e}")
    evaluator = None if isampler is None else fast_null(spec, x, isampler.source, isampler.axis, **metric_kw)
    observed = None if evaluator is None else evaluator.observed(y)
    value = spec(x, y, **metric_kw) if observed is None else observed
    rng = np.random.default_rng(seed)
    for i in tqdm(range(n_baseline), desc=f"null {spec.name}/{baseline}", disable=not progress):
        try:
            if evaluator is not None:
                null[i] = evaluator(isampler.draw(rng))
            else:
                xb, yb = draw(rng)
                null[i] = spec(xb, yb, **metric_kw)
        except MetricUndefined:
            pass
    n_valid = int(np.isfinite(null).sum())
    if n_valid < n_baseline:
        log.info("%s / %s: %d of %d null draws undefined", spec.name, baseline, n_baseline - n_valid, n_baseline)
    p, note = p_value(value, null, spec.higher_is_similar, min_valid_fraction)
    if evaluator is not None and evaluator.note:
        note = "; ".join(filter(None, [evaluator.note, note]))
    finite = null[np.isfinite(null)]
    return BaselineResult(value, float(finite.mean()) if len(finite) else float("nan"),
                          float(finite.std(ddof=1)) if len(finite) > 1 else float("nan"),
                          p, n_baseline, n_valid, baseline, null, note)
