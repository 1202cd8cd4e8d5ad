"""Build rows of the tidy metrics table (schema: ``saegeom.io.tables.METRICS_SCHEMA``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from saegeom import __version__
from saegeom.compare.multiple_testing import gpd_tail_p
from saegeom.metrics.baselines import NullPools, permutation_test
from saegeom.metrics.registry import MetricUndefined, get_metric

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

    @property
    def comparison(self) -> str:
        return f"{self.world}:{self.model_a}/{self.sae_a}~{self.model_b}/{self.sae_b}"


def make_row(ctx: Context, *, subspace: str, representation: str, pairing: str, metric: str,
             value: float = float("nan"), baseline: str = "", baseline_mean: float = float("nan"),
             baseline_std: float = float("nan"), p_value: float = float("nan"),
             p_value_gpd: float = float("nan"), q_value: float = float("nan"), n_baseline: int = 0,
             n_baseline_valid: int = 0, n_items: int = 0, n_pairs: int = 0, n_tokens: float = float("nan"),
             note: str = "") -> dict[str, Any]:
    """One row. ``n_items``: rows of X and Y the metric saw (pairs for decoder, tokens for
    activations); ``n_pairs``: pairs in the subspace; ``n_tokens``: tokens used (NaN if none).
    ``p_value_gpd``: tail estimate of the p-value (``saegeom.compare.multiple_testing``);
    ``q_value`` stays NaN here: it is filled when the whole table is collected (``add_q_values``)."""
    return dict(comparison=ctx.comparison, source=ctx.source, world=ctx.world, model_a=ctx.model_a,
                sae_a=ctx.sae_a, model_b=ctx.model_b, sae_b=ctx.sae_b, subspace=subspace,
                representation=representation, pairing=pairing, metric=metric, value=float(value),
                baseline=baseline, baseline_mean=float(baseline_mean), baseline_std=float(baseline_std),
                p_value=float(p_value), p_value_gpd=float(p_value_gpd), q_value=float(q_value),
                n_baseline=int(n_baseline), n_baseline_valid=int(n_baseline_valid),
                n_items=int(n_items), n_pairs=int(n_pairs), n_tokens=float(n_tokens), seed=int(ctx.seed),
                config_hash=ctx.config_hash, package_version=__version__, note=note)


def row_with_null(ctx: Context, x: np.ndarray, y: np.ndarray, *, metric: str, subspace: str, representation: str,
                  pairing: str, n_baseline: int, baseline: str, seed: int, n_pairs: int, min_pairs: int = 2,
                  n_tokens: float = float("nan"), pools: NullPools | None = None, min_valid_fraction: float = 0.5,
                  **metric_kw) -> dict[str, Any]:
    """One row: ``metric(x, y)`` against the null ``baseline``, or a NaN row with a note when the
    subspace has fewer than ``min_pairs`` pairs or the metric is undefined (``MetricUndefined``)."""
    common = dict(subspace=subspace, representation=representation, pairing=pairing, metric=metric,
                  baseline=baseline, n_items=len(x), n_pairs=n_pairs, n_tokens=n_tokens)
    if n_pairs < min_pairs:
        return make_row(ctx, **common, note=f"too few pairs ({n_pairs} < {min_pairs})")
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
                    note=r.note)
