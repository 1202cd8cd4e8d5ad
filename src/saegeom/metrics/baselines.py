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
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from saegeom.metrics._arrays import as_f64, svd
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
    _, s, vt = svd(items, full_matrices=False)
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


@dataclass
class NullStream:
    """One null's draws, made once and evaluated by every metric (:func:`permutation_tests`).

    ``n_draws``: draws taken from the random stream; ``index_sets``: each draw's index set when recorded
    (``record=True``; index nulls only, else None per draw); ``setup_s``/``draws_s``: seconds (wall,
    and ``*_cpu_s`` process CPU) before the first draw (samplers, evaluators, observed values) and in the draws."""

    baseline: str
    seed: int
    n_draws: int = 0
    index_sets: list[np.ndarray | None] | None = None
    setup_s: float = 0.0
    draws_s: float = 0.0
    setup_cpu_s: float = 0.0
    draws_cpu_s: float = 0.0


#: above this many (items × width) elements, ``device="auto"`` takes the shared products on a CUDA GPU
#: when one is present (below it the copies cost more than they save)
DEVICE_MIN_ELEMENTS = 1 << 20


def _product_device(device: str | None, n_elements: int) -> str | None:
    """The torch device of the shared products: None (numpy) unless asked or ``auto`` with a GPU."""
    if device is None or device == "numpy":
        return None
    if device == "auto":
        if n_elements < DEVICE_MIN_ELEMENTS:
            return None
        try:
            import torch
        except ImportError:  # pragma: no cover - torch is a dependency
            return None
        return "cuda" if torch.cuda.is_available() else None
    return device


def permutation_tests(metrics: Mapping[str | MetricSpec, Mapping[str, Any]] | Sequence[str | MetricSpec], x, y,
                      n_baseline: int = 1000,
                      baseline: str = "random_partners", seed: int = 0, pools: NullPools | None = None,
                      sampler: Sampler | None = None, min_valid_fraction: float = 0.5, progress: bool = False,
                      fast: bool = True, precision: str = "float32", device: str | None = "auto",
                      stream: NullStream | None = None, record: bool = False,
                      ) -> dict[str, BaselineResult | MetricUndefined]:
    """Every metric of ``metrics`` (names or specs, or those → keyword arguments) against ONE stream of null draws.

    The null's draws (index sets, or matrix pairs for nulls that redraw X too) come from
    ``np.random.default_rng(seed)`` once, in the order :func:`make_sampler` draws them, and every
    metric is evaluated on each draw — so all rows of one (subspace, null) share their null
    configurations, and the work that depends only on a draw is done once per draw: the gather of
    Y, its centred Gram and eigendecomposition, and one product ``U_xᵀ Y`` that serves linear and
    debiased CKA, SVCCA, PWCCA, both Procrustes and soft matching (``fast_nulls.SharedRows``).
    The draws themselves are those of the single-metric path (same samplers: the observed set is a
    possible draw, frequency-decile strata, repeated partners), so every exchangeability
    property of :func:`make_sampler` holds unchanged; ties, the reachable-p rule and ``n_distinct``
    are those of :func:`p_value` / :func:`distinct_values`.

    ``precision``: ``float32`` takes that shared product in float32 from ``fast_nulls.FLOAT32_MIN_ITEMS``
    items (values within ``fast_nulls.FLOAT32_ATOL`` of float64; module doc of ``fast_nulls``); a draw
    within 10 × that tolerance of the observed value is re-taken in float64, so float32 rounding never
    decides a tie or "at least as extreme", and ``n_distinct`` counts values within 2 × the tolerance
    as one; ``device``: ``auto`` (a CUDA GPU
    when present and the problem is large), None (numpy) or a torch device. ``stream``: filled with
    the number of draws (and, with ``record``, the index sets). Returns, per metric, its
    :class:`BaselineResult`, or the ``MetricUndefined`` its observed value raised.
    """
    from saegeom.metrics.fast_nulls import FLOAT32_ATOL, PairDraw, SharedRows, fast_null, pair_value, uses_shared_rows

    items = metrics.items() if isinstance(metrics, Mapping) else ((m, {}) for m in metrics)
    specs: dict[str, MetricSpec] = {}
    kws: dict[str, dict[str, Any]] = {}
    for m, kw in items:
        spec = get_metric(m) if isinstance(m, str) else m
        specs[spec.name], kws[spec.name] = spec, dict(kw)
    t0, c0 = time.perf_counter(), time.process_time()
    x, y = as_f64(x), as_f64(y)
    stream = stream if stream is not None else NullStream(baseline, seed)
    if record:
        stream.index_sets = []
    out: dict[str, BaselineResult | MetricUndefined] = {}
    try:
        draw = sampler or make_sampler(baseline, x, y, pools)
        isampler = None if sampler is not None or not fast else index_sampler(baseline, x, y, pools)
    except MetricUndefined as e:  # the values stand; only this null cannot be drawn here
        for m, spec in specs.items():
            try:
                out[m] = BaselineResult(spec(x, y, **kws[m]), float("nan"), float("nan"), float("nan"), n_baseline,
                                        0, baseline, np.full(n_baseline, np.nan), f"null {baseline} undefined: {e}")
            except MetricUndefined as err:
                out[m] = err
        return out
    evaluators: dict[str, Any] = {}
    shared = None
    near = 10 * FLOAT32_ATOL
    if isampler is not None:
        if isampler.axis == 0 and x.shape[0] >= 4 and any(uses_shared_rows(m) or "knn" in m for m in specs):
            src = as_f64(isampler.source)
            shared = SharedRows(x, src, precision, _product_device(device, src.size))
        for m, spec in specs.items():
            evaluators[m] = fast_null(spec, x, isampler.source, isampler.axis, shared=shared, **kws[m])
    values: dict[str, float] = {}
    for m, spec in specs.items():
        ev = evaluators.get(m)
        try:
            observed = None if ev is None else ev.observed(y)
            values[m] = spec(x, y, **kws[m]) if observed is None else observed
        except MetricUndefined as e:
            out[m] = e
    live = [m for m in specs if m in values]
    x_side = PairDraw(x, x)  # X's centring and SVD, reused by every draw that keeps X
    null = {m: np.full(n_baseline, np.nan) for m in live}
    rng = np.random.default_rng(seed)
    t1, c1 = time.perf_counter(), time.process_time()
    stream.setup_s, stream.setup_cpu_s = t1 - t0, c1 - c0
    for i in tqdm(range(n_baseline), desc=f"null {baseline} ({len(live)} metrics)", disable=not progress):
        if not live:
            break
        if isampler is not None:
            idx = isampler.draw(rng)
            xb, yb = x, None
            if stream.index_sets is not None:
                stream.index_sets.append(idx)
        else:
            xb, yb = draw(rng)
            if stream.index_sets is not None:
                stream.index_sets.append(None)
        stream.n_draws += 1
        pair = None
        for m in live:
            try:
                ev = evaluators.get(m)
                if ev is not None:
                    null[m][i] = ev(idx)
                    if shared is not None and shared.precision == "float32" and uses_shared_rows(m) and abs(
                            null[m][i] - values[m]) <= near * max(1.0, abs(values[m])):
                        # near the observed value float32 rounding could decide "at least as extreme", or
                        # break a tie: this draw is re-taken in float64 (the ties rule of p_value holds)
                        shared.force_exact = True
                        try:
                            null[m][i] = ev(idx)
                        finally:
                            shared.force_exact = False
                    continue
                if pair is None:
                    if yb is None:
                        assert isampler is not None  # index draws come only from an index sampler
                        yb = _take(isampler.source, idx, isampler.axis)
                    pair = PairDraw(as_f64(xb), as_f64(yb), x_side if isampler is not None else None)
                v = pair_value(m, pair, **kws[m]) if fast else None
                null[m][i] = specs[m](xb, yb, **kws[m]) if v is None else v
            except MetricUndefined:
                pass
    stream.draws_s, stream.draws_cpu_s = time.perf_counter() - t1, time.process_time() - c1
    configs = len(pools.others) if baseline == "mismatched_subspace" and sampler is None and pools else None
    for m in live:
        spec, samples = specs[m], null[m]
        n_valid = int(np.isfinite(samples).sum())
        if n_valid < n_baseline:
            log.info("%s / %s: %d of %d null draws undefined", m, baseline, n_baseline - n_valid, n_baseline)
        p, note = p_value(values[m], samples, spec.higher_is_similar, min_valid_fraction, n_configurations=configs)
        ev = evaluators.get(m)
        if ev is not None and ev.note:
            note = "; ".join(filter(None, [ev.note, note]))
        finite = samples[np.isfinite(samples)]
        rel = 1e-9
        if shared is not None and shared.precision == "float32" and uses_shared_rows(m) and len(finite):
            # float32 rounding is not a new configuration: values within twice its tolerance count as one
            rel = max(rel, 2 * FLOAT32_ATOL / max(float(np.abs(finite).max()), 1e-300))
        out[m] = BaselineResult(values[m], float(finite.mean()) if len(finite) else float("nan"),
                                float(finite.std(ddof=1)) if len(finite) > 1 else float("nan"),
                                p, n_baseline, n_valid, baseline, samples, note, distinct_values(samples, rel))
    return {m: out[m] for m in specs}


def permutation_test(metric: str | MetricSpec, x, y, n_baseline: int = 1000, baseline: str = "random_partners",
                     seed: int = 0, pools: NullPools | None = None, sampler: Sampler | None = None,
                     min_valid_fraction: float = 0.5, progress: bool = False, fast: bool = True,
                     precision: str = "float64", stream: NullStream | None = None, **metric_kw) -> BaselineResult:
    """Value of ``metric(x, y)`` against ``n_baseline`` draws from a null.

    The null is ``sampler`` when given (``baseline`` is then only its label), else the
    built-in kind ``baseline`` (see :func:`make_sampler`). Raises ``MetricUndefined`` when
    the observed value itself is undefined; when the null cannot be drawn at all, the value is
    returned with a NaN p-value and a note; undefined null draws are counted, logged and left
    out of the p-value (:func:`p_value`).

    ``fast``: for nulls that keep X and re-index Y, evaluate draws with
    ``saegeom.metrics.fast_nulls`` (X's factorisation, Gram, RDM ranks, k-NN graph computed once);
    same draws, same values to float tolerance, same p-values. ``fast=False`` is the plain loop.
    One metric of :func:`permutation_tests` (float64 products on the host unless ``precision``).
    """
    spec = get_metric(metric) if isinstance(metric, str) else metric
    r = permutation_tests({spec: metric_kw}, x, y, n_baseline, baseline, seed, pools, sampler,
                          min_valid_fraction, progress, fast, precision, device=None, stream=stream)[spec.name]
    if isinstance(r, MetricUndefined):
        raise r
    return r
