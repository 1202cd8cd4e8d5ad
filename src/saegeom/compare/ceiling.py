"""The seed ceiling: how similar two SAEs of the *same* model, trained with different seeds, are — the most
agreement a cross-model comparison can be expected to reach with these SAE specs.

A **seed replicate** of model ``m`` is the derived model ``m_s1`` (``saegeom.workflow.plan``): its shards are
``m``'s, its SAEs are trained with the seed derived from its own name, and the comparison ``m`` vs ``m_s1``
goes through the same ``pair_features``/``compare_models`` rules as any model pair, so it yields the same rows.

``ceiling_table`` collects those rows: one value per (world, sae, model, subspace, representation, pairing,
metric) — ``results/ceiling.parquet``. ``add_ceilings`` joins it onto the metrics table: a comparison row of
models ``a`` and ``b`` under one SAE name gets ``ceiling`` = the mean of ``a``'s and ``b``'s self-replicate
values of the same subspace, representation, pairing and metric (NaN unless both are defined), and
``value_vs_ceiling`` = value / ceiling for metrics where higher is more similar and the ceiling is positive
(NaN otherwise: for distances, read ``ceiling`` directly). Replicate rows themselves, recovery and topology
rows get NaN. Subspaces are joined by name: in a self-comparison ``private_a`` is the model's own private
features, so a cross-model ``private_a`` row is read against the mean of both models' private ceilings.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import pyarrow as pa

CEILING_KEY = ("world", "sae", "subspace", "representation", "pairing", "metric")
CEILING_SCHEMA = pa.schema([
    ("world", pa.string()), ("sae", pa.string()), ("model", pa.string()), ("replicate", pa.string()),
    ("subspace", pa.string()), ("representation", pa.string()), ("pairing", pa.string()),
    ("metric", pa.string()), ("value", pa.float64()), ("n_pairs", pa.int64()), ("config_hash", pa.string()),
])


def ceiling_table(metrics: pd.DataFrame, replicates: Mapping[str, Mapping[str, str]]) -> pd.DataFrame:
    """Self-replicate values (``CEILING_SCHEMA``) from the rows of ``metrics`` whose ``model_b`` is a seed
    replicate of ``model_a`` (``replicates``: {world: {replicate name: model}}); one row per key, whatever the
    null (every null row of a metric carries the same value)."""
    is_rep = np.array([replicates.get(w, {}).get(b) == a
                       for w, a, b in zip(metrics["world"], metrics["model_a"], metrics["model_b"], strict=True)],
                      dtype=bool)
    rep = metrics[is_rep & (metrics["sae_a"] == metrics["sae_b"])] if len(metrics) else metrics
    cols = ["world", "sae_a", "model_a", "model_b", "subspace", "representation", "pairing", "metric"]
    rep = rep.drop_duplicates(cols).rename(columns={"sae_a": "sae", "model_a": "model", "model_b": "replicate"})
    out = rep[list(CEILING_SCHEMA.names)].astype({"n_pairs": np.int64, "value": np.float64})
    return out.sort_values(["world", "sae", "model", "subspace", "representation", "pairing", "metric"],
                           kind="stable", ignore_index=True)


def add_ceilings(metrics: pd.DataFrame, ceiling: pd.DataFrame) -> pd.DataFrame:
    """``metrics`` with ``ceiling`` and ``value_vs_ceiling`` set from a ceiling table (module doc)."""
    from saegeom.metrics.registry import METRICS, load_builtin_metrics

    load_builtin_metrics()
    out = metrics.copy()
    key = list(CEILING_KEY)
    values = ceiling.set_index([*key, "model"])["value"]
    if values.index.has_duplicates:
        raise ValueError("ceiling table: more than one value per world x sae x model x subspace x representation "
                         "x pairing x metric")
    lookup = values.to_dict()

    def get(w, s, m, sub, rep, pair, met):
        return lookup.get((w, s, sub, rep, pair, met, m), np.nan)

    rows = zip(out["world"], out["sae_a"], out["sae_b"], out["model_a"], out["model_b"], out["subspace"],
               out["representation"], out["pairing"], out["metric"], strict=True)
    ceil = np.array([0.5 * (get(w, sa, a, sub, rep, pair, met) + get(w, sa, b, sub, rep, pair, met))
                     if sa == sb and a != b else np.nan
                     for w, sa, sb, a, b, sub, rep, pair, met in rows], dtype=np.float64)
    higher = np.array([getattr(METRICS.get(m), "higher_is_similar", False) for m in out["metric"]], dtype=bool)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(higher & (ceil > 0), out["value"].to_numpy(np.float64) / ceil, np.nan)
    out["ceiling"], out["value_vs_ceiling"] = ceil, ratio
    return out
