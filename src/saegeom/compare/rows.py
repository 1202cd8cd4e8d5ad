"""Build rows of the tidy metrics table (schema: ``saegeom.io.tables.METRICS_SCHEMA``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from saegeom import __version__
from saegeom.metrics.baselines import permutation_test
from saegeom.metrics.registry import get_metric


@dataclass(frozen=True)
class Context:
    """What every row of one comparison shares."""

    source: str
    world: str
    model_a: str
    sae_a: str
    model_b: str
    sae_b: str
    seed: int
    config_hash: str
    n_samples: int = 0

    @property
    def comparison(self) -> str:
        return f"{self.world}:{self.model_a}/{self.sae_a}~{self.model_b}/{self.sae_b}"


def make_row(ctx: Context, *, subspace: str, representation: str, pairing: str, metric: str,
             value: float = float("nan"), baseline: str = "", baseline_mean: float = float("nan"),
             baseline_std: float = float("nan"), p_value: float = float("nan"), n_baseline: int = 0,
             n_features: int = 0, note: str = "") -> dict[str, Any]:
    return dict(comparison=ctx.comparison, source=ctx.source, world=ctx.world, model_a=ctx.model_a,
                sae_a=ctx.sae_a, model_b=ctx.model_b, sae_b=ctx.sae_b, subspace=subspace,
                representation=representation, pairing=pairing, metric=metric, value=float(value),
                baseline=baseline, baseline_mean=float(baseline_mean), baseline_std=float(baseline_std),
                p_value=float(p_value), n_baseline=int(n_baseline), n_features=int(n_features),
                n_samples=int(ctx.n_samples), seed=int(ctx.seed), config_hash=ctx.config_hash,
                package_version=__version__, note=note)


def tested_row(ctx: Context, x: np.ndarray, y: np.ndarray, *, metric: str, subspace: str, representation: str,
               pairing: str, n_baseline: int, baseline: str, seed: int, min_items: int = 2,
               n_features: int | None = None, pool: tuple[np.ndarray, np.ndarray] | None = None,
               others: list[np.ndarray] | None = None, axis: int = 0, **metric_kw) -> dict[str, Any]:
    """One row: ``metric(x, y)`` with its baseline and p-value, or a NaN row with a note
    when there are fewer than ``min_items`` paired items (``n_features``, default
    ``len(x)``) or the metric cannot apply (its ``ValueError`` becomes the note)."""
    n_features = len(x) if n_features is None else n_features
    common = dict(subspace=subspace, representation=representation, pairing=pairing, metric=metric,
                  n_features=n_features, baseline=baseline)
    if n_features < min_items:
        return make_row(ctx, **common, note=f"too few paired features ({n_features} < {min_items})")
    try:
        r = permutation_test(get_metric(metric), x, y, n_baseline=n_baseline, baseline=baseline, seed=seed,
                             pool=pool, others=others, axis=axis, **metric_kw)
    except ValueError as e:  # e.g. directions of different widths: the measure is undefined here
        return make_row(ctx, **common, note=str(e))
    if not np.isfinite(r.value):
        return make_row(ctx, **common, note=f"{metric} gave a non-finite value on these items")
    return make_row(ctx, **common, value=r.value, baseline_mean=r.baseline_mean,
                    baseline_std=r.baseline_std, p_value=r.p_value, n_baseline=r.n_baseline)
