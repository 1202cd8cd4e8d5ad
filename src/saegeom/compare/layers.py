"""Layer matrices and features over training: the comparison rows of LM *units* (a model at one hook, and at
one training checkpoint) rearranged by layer and by step.

Both tables are built from the rows of ``results/compare/{study}/{sae}/{a}~{b}.parquet`` against the
``random_partners`` null (the headline null: B's partners replaced by random live B latents, so the rows ask
"are these pairs more alike than chance?"). ``z`` is **oriented**: ``s · (value − null_mean) / null_std``
with ``s = −1`` for distances (Procrustes, soft matching), so a larger z always means "more similar than chance".

**Best-matching layer.** For each layer (unit) of A, subspace, representation, pairing and metric, the best
layer of B is the one with the highest **excess over chance**, ``excess = s · (value − null_mean)``, not the
highest raw value: raw values of different layer pairs are not on one scale (a layer with more live latents or
a lower-rank residual stream gets a higher CKA from random partners alone), and the excess subtracts what random
partners of *that* layer pair give. Not the highest z either, although z is the same excess divided by the
null's spread: that spread differs between layers of B, so z rewards a tight null rather than a close match —
measured on a 3-layer toy model against itself (another SAE seed), decoder z put layer 1's best match at layer 0
(z 27.2 against 26.0 on the diagonal) although its value there was 0.57 against 0.75 and its excess 0.39
against 0.55. z stays in the table as the significance scale. Rows without a defined null mean never win; ties
go to the lower layer of B. ``best_by_value`` marks the highest oriented value (the reference study's choice,
Lan et al. 2024), for reading the two side by side.

Read the activation rows' z with care: every activation metric (CKA, SVCCA, RSA, k-NN overlap) is invariant to
which B latent is paired with which A latent, so random partners change only *which* B latents enter, and when
the pairs hold most of B's live latents the null mean sits within a few thousandths of the value (measured on a
3-layer toy model against itself: value − null mean 0.0003–0.016 on `all`, while the values themselves put every
layer's own layer first). There ``best`` follows noise and ``best_by_value`` is the one to read; decoder rows
(pairing-sensitive: the null re-pairs the rows) pick the diagonal by z (``tests/lm/test_layers.py``).

``q_value`` is Benjamini–Hochberg within comparison × representation × null, as in ``results/metrics.parquet``
(one comparison = one layer pair, so a layer pair's metrics and subspaces form one family).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from saegeom.compare.multiple_testing import add_q_values

#: the null every layer-matrix and training row is measured against
LAYER_NULL = "random_partners"
BEST_RULE = (f"highest excess over the {LAYER_NULL} null mean (oriented: s * (value - null_mean), s = -1 for "
             f"distances) per layer of A x subspace x representation x pairing x metric (undefined null never best; "
             f"ties: lower layer of B)")
#: category-recovery rows of the training table: their ``representation`` (no null: descriptive)
RECOVERY_REPRESENTATION = "categories"
RECOVERY_METRICS = ("category_f1", "categories_recovered")


_STR, _F, _I = pa.string(), pa.float64(), pa.int64()
#: ``results/layers/{study}/{sae}.parquet`` (:func:`layer_matrix`)
LAYER_SCHEMA = pa.schema([
    ("study", _STR), ("sae", _STR), ("model_a", _STR), ("model_b", _STR), ("unit_a", _STR), ("unit_b", _STR),
    ("hook_a", _STR), ("hook_b", _STR), ("layer_a", _I), ("layer_b", _I), ("subspace", _STR),
    ("representation", _STR), ("pairing", _STR), ("metric", _STR), ("value", _F), ("null_mean", _F),
    ("null_std", _F), ("excess", _F), ("z", _F), ("p_value", _F), ("q_value", _F), ("n_pairs", _I),
    ("n_baseline_valid", _I), ("best", pa.bool_()), ("best_by_value", pa.bool_()), ("best_rule", _STR),
    ("note", _STR)])
#: ``results/training/{study}/{sae}.parquet`` (:func:`training_table`)
TRAINING_SCHEMA = pa.schema([
    ("study", _STR), ("sae", _STR), ("model", _STR), ("unit", _STR), ("hook", _STR), ("layer", _I), ("step", _I),
    ("final_step", _I), ("subspace", _STR), ("representation", _STR), ("pairing", _STR), ("metric", _STR),
    ("value", _F), ("null_mean", _F), ("null_std", _F), ("z", _F), ("p_value", _F), ("q_value", _F),
    ("n_pairs", _I)])


def _sign(metrics: pd.Series) -> np.ndarray:
    """+1 for similarities, −1 for distances, per row (``saegeom.metrics.registry.orientation``)."""
    from saegeom.metrics.registry import orientation

    return metrics.map(orientation).to_numpy(float)


def excess(df: pd.DataFrame) -> np.ndarray:
    """``s · (value − baseline_mean)`` per row, ``s = −1`` for metrics where lower is more similar: the excess over
    the null's mean (NaN where a term is missing). ``df``: metrics rows."""
    return _sign(df["metric"]) * (df["value"].to_numpy(float) - df["baseline_mean"].to_numpy(float))


def oriented_z(df: pd.DataFrame) -> np.ndarray:
    """:func:`excess` over ``baseline_std`` per row; NaN where the null's std is not positive or a term is
    missing. ``df``: metrics rows."""
    std = df["baseline_std"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = excess(df) / std
    z[~(std > 0)] = np.nan
    return z


def _units_frame(units: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """The plan's unit records (``unit``, ``model``, ``hook``, ``layer``, ``step``, ``final_step``) as a frame
    indexed by unit name; a ValueError when there are none."""
    if not units:
        raise ValueError("no units given: the layer and training tables need the plan's unit records")
    return pd.DataFrame(list(units)).set_index("unit")


def _headline_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """The ``random_partners`` rows of comparison rows, with q-values (module doc) and oriented z."""
    rows = add_q_values(rows)
    out = rows[rows["baseline"] == LAYER_NULL].copy()
    out["z"], out["excess"] = oriented_z(out), excess(out)
    return out.rename(columns={"baseline_mean": "null_mean", "baseline_std": "null_std"})


def layer_matrix(rows: pd.DataFrame, units: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """The layer matrix of one LM study and SAE.

    ``rows``: the metrics rows of every unit-pair comparison of the study (``saegeom.io.tables.METRICS_SCHEMA``);
    ``units``: the plan's unit records (:meth:`saegeom.workflow.plan.Plan.unit_table`). One row per layer pair ×
    subspace × representation × pairing × metric: ``study``, ``sae``, ``model_a``/``model_b`` (the LMs),
    ``unit_a``/``unit_b``, ``hook_*``, ``layer_*``, the value, ``null_mean``/``null_std``, ``excess`` and ``z``
    (oriented), ``p_value``, ``q_value``, ``n_pairs``, ``n_baseline_valid``, ``best`` (B's best-matching layer for
    this layer of A, module doc), ``best_by_value`` and ``best_rule``."""
    u = _units_frame(units)
    unknown = sorted((set(rows["model_a"]) | set(rows["model_b"])) - set(u.index))
    if unknown:
        raise ValueError(f"comparison rows name units {unknown} that are not units of the study ({list(u.index)})")
    df = _headline_rows(rows)
    df["unit_a"], df["unit_b"] = df["model_a"], df["model_b"]
    for side in ("a", "b"):
        info = u.loc[df[f"unit_{side}"]]
        df[f"model_{side}"] = info["model"].to_numpy()
        df[f"hook_{side}"] = info["hook"].to_numpy()
        df[f"layer_{side}"] = pd.array(info["layer"].to_numpy(), dtype="Int64")
    df["study"], df["sae"] = df["world"], df["sae_a"]
    df = df.sort_values(["study", "sae", "model_a", "model_b", "subspace", "representation", "pairing", "metric",
                         "layer_a", "hook_a", "layer_b", "hook_b"], kind="stable").reset_index(drop=True)
    key = ["study", "sae", "model_a", "model_b", "unit_a", "subspace", "representation", "pairing", "metric"]
    df["best"] = _best(df, key, df["excess"].to_numpy(float))
    df["best_by_value"] = _best(df, key, _sign(df["metric"]) * df["value"].to_numpy(float))
    df["best_rule"] = BEST_RULE
    return df[LAYER_SCHEMA.names]


def _best(df: pd.DataFrame, by: list[str], z: np.ndarray) -> np.ndarray:
    """Per group of ``by`` (rows already in layer-of-B order), True on the first row with the highest finite
    score ``z`` (one per row)."""
    best = np.zeros(len(df), bool)
    for idx in df.groupby(by, sort=False, dropna=False).indices.values():
        finite = idx[np.isfinite(z[idx])]
        if len(finite):
            best[finite[np.argmax(z[finite])]] = True  # argmax: the first of equal maxima
    return best


def best_layers(matrix: pd.DataFrame) -> pd.DataFrame:
    """The best-matching layer of B for each layer of A: the ``best`` rows of a layer matrix."""
    return matrix[matrix["best"]].reset_index(drop=True)


def training_table(rows: pd.DataFrame, recovery: pd.DataFrame, units: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Features over training for one training study and SAE.

    ``rows``: the metrics rows of every (final unit, checkpoint unit) comparison; ``recovery``: the category
    recovery rows of every unit (``model_b = categories``); ``units``: the plan's unit records. One row per
    checkpoint step × subspace × representation × pairing × metric with the checkpoint SAE's similarity to the
    final model's SAE (``value``, null, oriented ``z``, ``p_value``, ``q_value``), and the category recovery of
    every unit (checkpoints and the final model, ``representation = categories``, metrics
    ``RECOVERY_METRICS``, no null). Columns: ``study``, ``sae``, ``model``, ``unit``, ``hook``, ``layer``,
    ``step``, ``final_step``, ``subspace``, ``representation``, ``pairing``, ``metric``, ``value``,
    ``null_mean``, ``null_std``, ``z``, ``p_value``, ``q_value``, ``n_pairs``."""
    u = _units_frame(units)
    df = _headline_rows(rows)
    checkpoint = np.where(u.loc[df["model_b"], "step"].to_numpy() != u.loc[df["model_b"], "final_step"].to_numpy(),
                          df["model_b"], df["model_a"])
    df["unit"] = checkpoint
    rec = recovery[recovery["metric"].isin(RECOVERY_METRICS)].copy()
    rec = rec.rename(columns={"baseline_mean": "null_mean", "baseline_std": "null_std"})
    rec["unit"], rec["representation"], rec["z"] = rec["model_a"], RECOVERY_REPRESENTATION, np.nan
    rec["q_value"] = np.nan
    out = pd.concat([df, rec], ignore_index=True)
    info = u.loc[out["unit"]]
    out["model"], out["hook"] = info["model"].to_numpy(), info["hook"].to_numpy()
    out["layer"] = pd.array(info["layer"].to_numpy(), dtype="Int64")
    out["step"] = info["step"].to_numpy(int)
    out["final_step"] = info["final_step"].to_numpy(int)
    out["study"], out["sae"] = out["world"], out["sae_a"]
    return out[TRAINING_SCHEMA.names].sort_values(["representation", "pairing", "metric", "subspace", "step"],
                                 kind="stable").reset_index(drop=True)


def read_rows(paths: Iterable[str]) -> pd.DataFrame:
    """The metrics rows of comparison tables (schema-checked)."""
    from saegeom.io.tables import concat_metrics

    return concat_metrics(list(paths))
