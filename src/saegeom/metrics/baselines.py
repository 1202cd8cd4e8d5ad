"""Nulls and permutation p-values for any registered metric.

A null is a *sampler* ``rng -> (X_null, Y_null)``: one matrix pair drawn from a
distribution that destroys exactly one thing (``saegeom.settings.NULLS`` says what).
Pairs lie along ``axis`` of the matrices: 0 when rows are pairs (decoder directions),
1 when columns are pairs (activations: rows are tokens). Built-in kinds
(:func:`make_sampler`):

  ``random_partners``     B's partners replaced by as many distinct live B latents from
                          ``pools.b_pool`` (same tokens), drawn uniformly among *every* live B latent,
                          the subspace's own partners included (so the observed set is a possible
                          draw), stratified by firing-frequency bin when bins are given: a draw has
                          exactly as many latents in each bin as the partners have, and is uniform over
                          all such sets (exchangeable with the observed partners under the null). A
                          partner repeated in the subspace is replaced by one latent repeated alike —
                          "are these partners more alike than unrelated latents of B?" (the headline null);
  ``repairing``           B's partners permuted among the subspace's own pairs;
  ``random_subset``       (X, Y) replaced by a same-size random subset of all pairs;
  ``mismatched_subspace`` X against B's partners of another subspace of the same family;
  ``random_directions``   Y's rows replaced by Gaussian rows with Y's second moment YᵀY/n (pairing-free
                          measures): random directions spread like Y's, not isotropic in the full width;
  ``token_shuffle``       activations only: B's tokens (rows) permuted — an alignment check;
  ``unit_shuffle``        activations on aligned unit rows (cross-tokenizer comparisons): B's rows permuted
                          within length classes (``pools.row_classes``: tokens of the unit on A and on
                          B, capped), uniformly among such permutations (the identity included): destroys
                          which unit of B goes with which unit of A, keeps each side's rows and the
                          length profile of the pairing.

p-values (:func:`p_value`) count only *defined* null draws: a draw on which the
metric is undefined (``MetricUndefined``) leaves the denominator, and with fewer
than ``min_valid_fraction`` of the draws defined the p-value is NaN with a note.
Draws tied with the observed value up to float noise count as at least as extreme. A null
over few configurations (``mismatched_subspace``: K sibling subspaces) gives the permutation
p over the K + 1 configurations, never below 1 / (1 + K); any p whose smallest attainable value
exceeds ``saegeom.settings.REACHABLE_ALPHA`` (too few draws or configurations to reach a 0.05
claim) is NaN with a note. The number of distinct null values is reported alongside
(``BaselineResult.n_distinct``; a null that only permutes the partners has one).
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
from saegeom.vocabulary import NULLS, REACHABLE_ALPHA

log = logging.getLogger(__name__)
Sampler = Callable[[np.random.Generator], tuple[np.ndarray, np.ndarray]]


@dataclass
class NullPools:
    """What the nulls of one subspace draw from (pairs along ``axis``; see module doc).

    ``pairs_x``/``pairs_y``: every pair of the pairing (for ``random_subset``);
    ``b_pool``: every live B latent (decoder rows or code columns, along ``axis``);
    ``b_pool_bins``: (n_pool,) frequency bin of each pool latent; ``y_pool_idx``: (n,) pool
    position of each of this subspace's partners (−1 for a partner outside the pool, e.g. dead on
    the frequency sample) and ``y_bins`` their bins (a partner outside the pool counts in the
    lowest bin); ``others``: B partners of other subspaces of the same family.
    """

    axis: int = 0
    pairs_x: np.ndarray | None = None
    pairs_y: np.ndarray | None = None
    b_pool: np.ndarray | None = None
    b_pool_bins: np.ndarray | None = None
    y_pool_idx: np.ndarray | None = None
    y_bins: np.ndarray | None = None
    others: Sequence[np.ndarray] = field(default_factory=list)
    row_classes: np.ndarray | None = None  # (n_rows,) length class of each aligned unit row (unit_shuffle)


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
    n_distinct: int = 0  # distinct defined null values (to float noise)


def distinct_values(null: np.ndarray, rel_tol: float = 1e-9) -> int:
    """Number of distinct finite values of ``null``, values within ``rel_tol`` × their scale
    counted as one (float noise of the same configuration is not a new value)."""
    finite = np.sort(np.asarray(null, np.float64)[np.isfinite(null)])
    if not len(finite):
        return 0
    scale = max(float(np.abs(finite).max()), 1e-300)
    return int(1 + (np.diff(finite) > rel_tol * scale).sum())


def p_value(value: float, null: np.ndarray, higher_is_similar: bool, min_valid_fraction: float = 0.0,
            reachable_alpha: float | None = REACHABLE_ALPHA, n_configurations: int | None = None,
            rel_tol: float = 1e-9) -> tuple[float, str]:
    """(p, note) of ``value`` against null draws.

    p = (1 + #defined draws at least as extreme) / (1 + #defined draws); a draw within ``rel_tol``
    × the values' scale of ``value`` counts as at least as extreme (float noise of the same
    configuration is a tie, not a smaller value). Undefined (non-finite) draws leave the denominator.
    When fewer than ``min_valid_fraction`` × len(null) draws (and always when none) are defined, p is NaN
    and the note says how many were.

    ``n_configurations``: the null draws (with replacement) among this many configurations only
    (``mismatched_subspace``: the sibling subspaces); the observed one is one more, so with f the
    share of draws at least as extreme, p = (1 + K f) / (1 + K) — the exact permutation p over the
    K + 1 configurations when the draws cover them — never below 1 / (1 + K).

    When the smallest attainable p (1 / (1 + #defined draws), or 1 / (1 + K)) exceeds
    ``reachable_alpha`` (None: no such check), p is NaN with a note: the draws cannot support a
    claim at that level.
    """
    null = np.asarray(null, dtype=np.float64)
    finite = null[np.isfinite(null)]
    need = max(1, math.ceil(min_valid_fraction * len(null)))
    if len(finite) < need or not np.isfinite(value):
        return float("nan"), f"only {len(finite)} of {len(null)} null draws defined (need {need})"
    support = len(finite) if n_configurations is None else n_configurations
    floor = 1.0 / (1 + support)
    if reachable_alpha is not None and floor > reachable_alpha:
        what = (f"{len(finite)} defined null draws" if n_configurations is None
                else f"a null over {n_configurations} other configurations")
        return float("nan"), f"{what}: the smallest attainable p, {floor:.3g}, exceeds {reachable_alpha}"
    tol = rel_tol * max(abs(float(value)), float(np.abs(finite).max()), 1e-300)
    extreme = finite >= value - tol if higher_is_similar else finite <= value + tol
    if n_configurations is None:
        return float((1 + extreme.sum()) / (1 + len(finite))), ""
    return float((1 + n_configurations * extreme.mean()) / (1 + n_configurations)), ""


def _take(a: np.ndarray, idx: np.ndarray, axis: int) -> np.ndarray:
    return a[idx] if axis == 0 else a[:, idx]


def _random_partners(pools: NullPools, n: int) -> Callable[[np.random.Generator], np.ndarray]:
    """Index sampler into ``pools.b_pool`` for the ``random_partners`` null (module doc).

    The k distinct partners of the subspace are replaced by k distinct pool latents drawn uniformly,
    the partners themselves included; with bins, uniformly within each bin, as many as the partners
    have there (a stratified draw without replacement: every set with the partners' bin counts is
    equally likely, the observed one included, so no bin is ever short of candidates). Repeated
    partners map to one drawn latent repeated alike."""
    if pools.b_pool is None:
        raise ValueError("null 'random_partners' needs pools.b_pool (every live B latent)")
    n_pool = pools.b_pool.shape[pools.axis]
    idx = np.arange(n, dtype=np.int64) if pools.y_pool_idx is None else np.asarray(pools.y_pool_idx, np.int64)
    if len(idx) != n:
        raise ValueError(f"pools.y_pool_idx has {len(idx)} entries for {n} pairs")
    # distinct partners (a partner outside the pool is its own item) and where each pair's partner sits
    keys = np.where(idx >= 0, idx, -1 - np.arange(n))
    uniq, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    k = len(uniq)
    if pools.b_pool_bins is None or pools.y_bins is None:
        bins, y_bins = np.zeros(n_pool, np.int64), np.zeros(k, np.int64)
    else:
        bins = np.asarray(pools.b_pool_bins, np.int64)
        y_bins = np.asarray(pools.y_bins, np.int64)[first]
        y_bins = np.where(uniq >= 0, y_bins, bins.min() if len(bins) else 0)
    plan = []  # (positions among the distinct partners, candidates of that bin)
    for b in np.unique(y_bins):
        where = np.flatnonzero(y_bins == b)
        cand = np.flatnonzero(bins == b)
        if len(cand) < len(where):  # only partners outside the pool can make a bin short
            raise MetricUndefined(f"random_partners needs {len(where)} live B latents in frequency bin {b}, "
                                  f"B has {len(cand)}")
        plan.append((where, cand))

    def draw(rng: np.random.Generator) -> np.ndarray:
        out = np.empty(k, np.int64)
        for where, cand in plan:
            out[where] = rng.choice(cand, len(where), replace=False)
        return out[inverse]

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
        draw_partners = _random_partners(pools, n)
        assert pools.b_pool is not None  # _random_partners refuses a missing pool
        return IndexSampler(pools.b_pool, axis, draw_partners)
    if kind == "repairing":
        return IndexSampler(y, axis, lambda rng: rng.permutation(n))
    if kind == "token_shuffle":
        return IndexSampler(y, 0, lambda rng: rng.permutation(len(y)))
    if kind == "unit_shuffle":
        return IndexSampler(y, 0, within_class_permutation(pools.row_classes, len(y)))
    return None


def length_classes(n_tokens_a: np.ndarray, n_tokens_b: np.ndarray, cap: int) -> np.ndarray:
    """(n,) ``unit_shuffle`` class of each aligned unit row: (tokens on A, tokens on B), each capped at ``cap``
    (so ``cap`` means "``cap`` or more"), coded as ``min(a, cap) * (cap + 1) + min(b, cap)``."""
    if cap < 1:
        raise ValueError(f"length cap must be >= 1, got {cap}")
    a = np.minimum(np.asarray(n_tokens_a, np.int64), cap)
    b = np.minimum(np.asarray(n_tokens_b, np.int64), cap)
    return a * (cap + 1) + b


def within_class_permutation(classes: np.ndarray | None, n: int) -> Callable[[np.random.Generator], np.ndarray]:
    """Sampler of (n,) row indices: a uniform permutation of the rows within each class of ``classes``
    (rows of a class are re-paired only among themselves, the identity is one possible draw); raises
    ``MetricUndefined`` without classes (rows that are not aligned units)."""
    if classes is None:
        raise MetricUndefined("unit_shuffle needs aligned unit rows with length classes (a cross-tokenizer "
                              "comparison with lm.comparisons.<name>.alignment)")
    classes = np.asarray(classes)
    if len(classes) != n:
        raise ValueError(f"row_classes has {len(classes)} entries for {n} rows")
    groups = [np.flatnonzero(classes == c) for c in np.unique(classes)]
    groups = [g for g in groups if len(g) > 1]

    def draw(rng: np.random.Generator) -> np.ndarray:
        idx = np.arange(n)
        for g in groups:
            idx[g] = g[rng.permutation(len(g))]
        return idx

    return draw


def _second_moment_root(y: np.ndarray, axis: int) -> np.ndarray:
    """R with RᵀR = YᵀY / n over Y's items along ``axis`` (so Gaussian rows G R have Y's second moment)."""
    items = y if axis == 0 else y.T
    _, s, vt = np.linalg.svd(items, full_matrices=False)
    return (s[:, None] * vt) / np.sqrt(max(len(items), 1))


def _directions_like(rng: np.random.Generator, shape: tuple[int, ...], root: np.ndarray, axis: int) -> np.ndarray:
    n_items = shape[axis]
    g = rng.standard_normal((n_items, root.shape[0])) @ root
    return g if axis == 0 else g.T


def make_sampler(kind: str, x: np.ndarray, y: np.ndarray, pools: NullPools | None = None) -> Sampler:
    """The null sampler of one built-in kind for the observed pair (x, y); see module doc."""
    pools = pools or NullPools()
    axis = pools.axis
    n = x.shape[axis]
    s = index_sampler(kind, x, y, pools)
    if s is not None:
        return lambda rng: (x, _take(s.source, s.draw(rng), s.axis))
    if kind == "random_directions":
        root = _second_moment_root(y, pools.axis)
        return lambda rng: (x, _directions_like(rng, y.shape, root, pools.axis))
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
                assert isampler is not None  # the evaluator is built from it
                null[i] = evaluator(isampler.draw(rng))
            else:
                xb, yb = draw(rng)
                null[i] = spec(xb, yb, **metric_kw)
        except MetricUndefined:
            pass
    n_valid = int(np.isfinite(null).sum())
    if n_valid < n_baseline:
        log.info("%s / %s: %d of %d null draws undefined", spec.name, baseline, n_baseline - n_valid, n_baseline)
    configs = len(pools.others) if baseline == "mismatched_subspace" and sampler is None and pools else None
    p, note = p_value(value, null, spec.higher_is_similar, min_valid_fraction, n_configurations=configs)
    if evaluator is not None and evaluator.note:
        note = "; ".join(filter(None, [evaluator.note, note]))
    finite = null[np.isfinite(null)]
    return BaselineResult(value, float(finite.mean()) if len(finite) else float("nan"),
                          float(finite.std(ddof=1)) if len(finite) > 1 else float("nan"),
                          p, n_baseline, n_valid, baseline, null, note, distinct_values(null))
