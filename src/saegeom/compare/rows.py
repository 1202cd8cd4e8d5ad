"""Build rows of the tidy metrics table (schema: ``saegeom.io.tables.METRICS_SCHEMA``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, TypedDict

import numpy as np

from saegeom import __version__
from saegeom.compare.multiple_testing import gpd_tail_p
from saegeom.metrics.baselines import NullPools, permutation_test
from saegeom.metrics.registry import MetricUndefined, get_metric
from saegeom.settings import MIN_DISTINCT_ITEMS, RANK_RTOL

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class Context:
    """What every row of one comparison shares: where the two SAEs come from and provenance.

    ``world`` names the synthetic world or the language-model run; ``model_b`` is
    ``ground_truth`` for recovery rows.
    """

    source: str = "lm"
    world: str = "run"
    model_a: str = "A"
    sae_a: str = "sae"
    model_b: str = "B"
    sae_b: str = "sae"
    seed: int = 0
    config_hash: str = ""
    #: how a unit's token activations were aggregated (cross-tokenizer comparisons; "" for token-aligned rows)
    aggregation: str = ""
    #: LM rows: the hook points of model_a and model_b and their block indices (None: no block index)
    hook_a: str = ""
    hook_b: str = ""
    layer_a: int | None = None
    layer_b: int | None = None

    @property
    def comparison(self) -> str:
        return f"{self.world}:{self.model_a}/{self.sae_a}~{self.model_b}/{self.sae_b}"


class _SubspaceFields(TypedDict):
    """The :func:`make_row` keyword arguments every row of one :func:`row_with_null` call shares."""

    subspace: str
    representation: str
    pairing: str
    metric: str
    baseline: str
    n_items: int
    n_pairs: int
    n_distinct_pairs: int
    n_tokens: float


def make_row(ctx: Context, *, subspace: str, representation: str, pairing: str, metric: str,
             value: float = float("nan"), baseline: str = "", baseline_mean: float = float("nan"),
             baseline_std: float = float("nan"), p_value: float = float("nan"),
             p_value_gpd: float = float("nan"), q_value: float = float("nan"), n_baseline: int = 0,
             n_baseline_valid: int = 0, n_baseline_distinct: int = 0, n_items: int = 0, n_pairs: int = 0,
             n_distinct_pairs: int | None = None, n_tokens: float = float("nan"), note: str = "") -> dict[str, Any]:
    """One row. ``n_items``: rows of X and Y the metric saw (pairs for decoder, tokens for
    activations); ``n_pairs``: pairs in the subspace, ``n_distinct_pairs`` the distinct ones among them
    (default ``n_pairs``); ``n_baseline_distinct``: distinct defined null values (0: no null);
    ``n_tokens``: tokens used (NaN if none). ``p_value_gpd``: tail estimate of the p-value
    (``saegeom.compare.multiple_testing``). ``q_value`` and ``trusted`` start empty: they are filled when the
    whole table is collected (``add_q_values``, ``calibration.join_trust``)."""
    return dict(comparison=ctx.comparison, source=ctx.source, world=ctx.world, model_a=ctx.model_a,
                sae_a=ctx.sae_a, model_b=ctx.model_b, sae_b=ctx.sae_b, subspace=subspace,
                representation=representation, pairing=pairing, metric=metric, value=float(value),
                baseline=baseline, baseline_mean=float(baseline_mean), baseline_std=float(baseline_std),
                p_value=float(p_value), p_value_gpd=float(p_value_gpd), q_value=float(q_value), trusted=None,
                n_baseline=int(n_baseline), n_baseline_valid=int(n_baseline_valid),
                n_baseline_distinct=int(n_baseline_distinct), n_items=int(n_items), n_pairs=int(n_pairs),
                n_distinct_pairs=int(n_pairs if n_distinct_pairs is None else n_distinct_pairs),
                n_tokens=float(n_tokens), aggregation=ctx.aggregation, hook_a=ctx.hook_a, hook_b=ctx.hook_b,
                layer_a=ctx.layer_a, layer_b=ctx.layer_b, seed=int(ctx.seed),
                config_hash=ctx.config_hash, package_version=__version__, note=note)


def degenerate_items(x: np.ndarray, y: np.ndarray, min_distinct: int = MIN_DISTINCT_ITEMS,
                     rtol: float = RANK_RTOL) -> str:
    """Why the items (rows) of X or Y cannot support a similarity measure, or "" when they can.

    A side is degenerate when it has fewer than ``min_distinct`` distinct rows (rows equal to
    within ``rtol`` × the side's scale count as one), or when centring leaves nothing above
    rounding: the centred side's norm is below ``rtol`` × the uncentred side's (Frobenius norms; a
    tolerance relative to the data's scale, not exact zero: centring k identical rows leaves ~1e-17).
    Measured on such items, CKA or PWCCA report 1 and Procrustes 0 out of rounding noise.
    """
    for side, m in (("X", x), ("Y", y)):
        m = np.asarray(m, np.float64)
        if m.ndim != 2 or not m.size:
            continue
        scale = float(np.linalg.norm(m))  # Frobenius: cheap, and within sqrt(rank) of the spectral norm
        if scale == 0.0:
            return f"{side} is all zeros"
        q = np.round(m / (rtol * scale))  # rows equal to within rtol * scale share a key (up to bin edges)
        distinct = len(np.unique(q, axis=0))
        if distinct < min_distinct:
            return f"{side} has {distinct} distinct items (rows), fewer than {min_distinct}"
        centred = m - m.mean(axis=0)
        if float(np.linalg.norm(centred)) <= rtol * scale:
            return f"{side}'s items are constant up to rounding (centred rank 0 at relative tolerance {rtol:g})"
    return ""


def row_with_null(ctx: Context, x: np.ndarray, y: np.ndarray, *, metric: str, subspace: str, representation: str,
                  pairing: str, n_baseline: int, baseline: str, seed: int, n_pairs: int, min_pairs: int = 2,
                  n_tokens: float = float("nan"), pools: NullPools | None = None, min_valid_fraction: float = 0.5,
                  n_distinct_pairs: int | None = None, **metric_kw) -> dict[str, Any]:
    """One row: ``metric(x, y)`` against the null ``baseline``, or a NaN row with a note when the
    subspace has fewer than ``min_pairs`` distinct pairs (``n_distinct_pairs``, default ``n_pairs``), its
    items are degenerate (:func:`degenerate_items`) or the metric is undefined (``MetricUndefined``)."""
    n_distinct_pairs = n_pairs if n_distinct_pairs is None else n_distinct_pairs
    common = _SubspaceFields(subspace=subspace, representation=representation, pairing=pairing, metric=metric,
                             baseline=baseline, n_items=len(x), n_pairs=n_pairs,
                             n_distinct_pairs=n_distinct_pairs, n_tokens=n_tokens)
    if n_pairs < min_pairs:
        return make_row(ctx, **common, note=f"too few pairs ({n_pairs} < {min_pairs})")
    if n_distinct_pairs < min_pairs:
        return make_row(ctx, **common, note=f"too few distinct pairs ({n_distinct_pairs} of {n_pairs} pairs are "
                                            f"distinct, < {min_pairs}): the pairing repeats a latent pair")
    why = degenerate_items(x, y)
    if why:
        log.info("%s %s %s %s: degenerate items (%s)", pairing, representation, subspace, metric, why)
        return make_row(ctx, **common, note=f"{metric} undefined: {why}")
    try:
        r = permutation_test(get_metric(metric), x, y, n_baseline=n_baseline, baseline=baseline, seed=seed,
                             pools=pools, min_valid_fraction=min_valid_fraction, **metric_kw)
    except MetricUndefined as e:
        log.info("%s %s %s %s: undefined (%s)", pairing, representation, subspace, metric, e)
        return make_row(ctx, **common, note=str(e))
    if not np.isfinite(r.value):
        return make_row(ctx, **common, note=f"{metric} gave a non-finite value on these items")
    p_tail = (gpd_tail_p(r.value, r.samples, get_metric(metric).higher_is_similar)[0]
              if np.isfinite(r.p_value) else float("nan"))
    return make_row(ctx, **common, value=r.value, baseline_mean=r.baseline_mean, baseline_std=r.baseline_std,
                    p_value=r.p_value, p_value_gpd=p_tail, n_baseline=r.n_baseline, n_baseline_valid=r.n_valid,
                    n_baseline_distinct=r.n_distinct, note=r.note)
