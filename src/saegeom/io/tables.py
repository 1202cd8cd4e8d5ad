"""Parquet tables with one documented schema each, validated on write.

``METRICS_SCHEMA`` is the tidy table behind ``results/metrics.parquet``: one row
per (comparison, subspace, representation, pairing, metric, baseline). Its
vocabulary (representations, pairings, nulls, subspace families) comes from
``saegeom.settings``. See README
"Reading results/metrics.parquet" for the meaning of every column.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from saegeom.io.atomic import atomic_path
from saegeom.settings import LABELLED_FAMILIES, NULLS, PAIRINGS, REPRESENTATIONS, ROLE_SUBSPACES, SOURCES

METRICS_SCHEMA = pa.schema([
    ("comparison", pa.string()),       # "<world>:<model_a>/<sae_a>~<model_b>/<sae_b>"
    ("source", pa.string()),           # synthetic | lm
    ("world", pa.string()),            # world or LM-run name
    ("model_a", pa.string()),
    ("sae_a", pa.string()),
    ("model_b", pa.string()),          # a model, or "ground_truth"
    ("sae_b", pa.string()),
    ("subspace", pa.string()),
    ("representation", pa.string()),
    ("pairing", pa.string()),
    ("metric", pa.string()),
    ("value", pa.float64()),
    ("baseline", pa.string()),         # the null (saegeom.settings.NULLS): random_partners | random_subset | ...
    ("baseline_mean", pa.float64()),   # over the defined null draws
    ("baseline_std", pa.float64()),
    ("p_value", pa.float64()),         # NaN when too few null draws were defined (note says how many)
    ("p_value_gpd", pa.float64()),     # generalised-Pareto tail estimate of p_value (= p_value when not fitted)
    ("q_value", pa.float64()),         # Benjamini-Hochberg q within comparison x representation x baseline
    ("trusted", pa.bool_()),           # the calibration report's verdict on this row's null (metric x representation
                                       # x pairing x null): null when not calibrated or no p-value
    ("n_baseline", pa.int64()),        # null draws made
    ("n_baseline_valid", pa.int64()),  # null draws on which the metric was defined (the p-value's denominator)
    ("n_baseline_distinct", pa.int64()),  # distinct values among them; p >= 1/(1 + this), NaN if that is > 0.05
    ("n_items", pa.int64()),           # rows of X and Y the metric saw: pairs (decoder), tokens (activations)
    ("n_pairs", pa.int64()),           # pairs in the subspace
    ("n_distinct_pairs", pa.int64()),  # distinct (A latent, B latent) pairs among them (a pairing may repeat one)
    ("n_tokens", pa.float64()),        # tokens behind the values; NaN where no tokens were used
    ("aggregation", pa.string()),      # cross-tokenizer comparisons: how a unit's token activations became one
                                       # row (mean | max | last, saegeom.lm.alignment); "" for token-aligned rows
    ("seed", pa.int64()),
    ("config_hash", pa.string()),
    ("package_version", pa.string()),
    ("note", pa.string()),
    ("ceiling", pa.float64()),         # the same-model, other-seed value of this row's SAEs (saegeom.compare.ceiling)
    ("value_vs_ceiling", pa.float64()),  # value / ceiling (higher-is-similar metrics with a positive ceiling)
    ("hook_a", pa.string()),           # LM rows: model_a's hook point (TransformerLens name); "" for synthetic rows
    ("hook_b", pa.string()),           # LM rows: model_b's hook point; "" for synthetic rows and recovery rows
    ("layer_a", pa.int64()),           # LM rows: the block index of hook_a (blocks.<i>.…); null without one
    ("layer_b", pa.int64()),           # LM rows: the block index of hook_b; null without one
])

#: columns a comparison table may leave out, with the value it reads as: no ceiling (NaN until
#: ``results/metrics.parquet`` is collected, or ``seed_ceiling`` off), token-aligned rows (no cross-tokenizer
#: aggregation; tables written before the column existed) and rows without hooks (synthetic rows, topology)
OPTIONAL_COLUMNS: dict[str, object] = {"ceiling": float("nan"), "value_vs_ceiling": float("nan"), "aggregation": "",
                                       "hook_a": "", "hook_b": "", "layer_a": None, "layer_b": None}

#: columns that identify a row (one row per combination); ``collect_metrics`` sorts by them
METRIC_ROW_KEY = ("comparison", "subspace", "representation", "pairing", "metric", "baseline")

SUBSPACE_RE = re.compile(rf"^(all|{'|'.join(ROLE_SUBSPACES)}|({'|'.join(LABELLED_FAMILIES)}):[^\s]+)$")


class TableSchemaError(ValueError):
    """A table does not match its documented schema."""


def validate_metrics(df: pd.DataFrame) -> pd.DataFrame:
    """Check columns, types and vocabulary; return the frame in schema column order (``OPTIONAL_COLUMNS``
    missing from ``df`` are added with their default)."""
    absent = {c: v for c, v in OPTIONAL_COLUMNS.items() if c not in df.columns}
    if absent:
        df = df.assign(**absent)
    missing = [c for c in METRICS_SCHEMA.names if c not in df.columns]
    extra = [c for c in df.columns if c not in METRICS_SCHEMA.names]
    if missing or extra:
        raise TableSchemaError(f"metrics table columns: missing {missing}, unexpected {extra}")
    for col, allowed in (("representation", REPRESENTATIONS), ("pairing", PAIRINGS), ("source", SOURCES),
                         ("baseline", (*NULLS, ""))):
        bad = sorted(set(df[col]) - set(allowed))
        if bad:
            raise TableSchemaError(f"metrics column {col!r} has values {bad}; allowed {sorted(allowed)}")
    bad = sorted({s for s in df["subspace"] if not SUBSPACE_RE.match(str(s))})
    if bad:
        raise TableSchemaError(f"metrics column 'subspace' has malformed values {bad}")
    key = ["comparison", "subspace", "representation", "pairing", "metric", "baseline"]
    dup = df.duplicated(key, keep=False)
    if dup.any():
        raise TableSchemaError(f"metrics rows must be unique per {key}; duplicated: "
                               f"{df.loc[dup, key].drop_duplicates().head(3).to_dict('records')}")
    p = df["p_value"].dropna()
    if ((p <= 0) | (p > 1)).any():
        raise TableSchemaError("metrics column 'p_value' must lie in (0, 1]")
    for col in ("p_value_gpd", "q_value"):
        v = df[col].dropna()
        if ((v <= 0) | (v > 1)).any():
            raise TableSchemaError(f"metrics column {col!r} must lie in (0, 1]")
        if (df[col].notna() & df["p_value"].isna()).any():
            raise TableSchemaError(f"metrics column {col!r} is set on rows without a p_value")
    unsupported = df["p_value"].notna() & ((df["n_baseline_valid"] < 1) | df["baseline_mean"].isna())
    if unsupported.any():
        raise TableSchemaError(f"{int(unsupported.sum())} rows have a p-value without defined null draws")
    df = df[METRICS_SCHEMA.names].reset_index(drop=True)
    try:
        pa.Table.from_pandas(df, schema=METRICS_SCHEMA, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
        raise TableSchemaError(f"metrics table types do not match the schema: {e}") from e
    return df


PROVENANCE_KEY = b"saegeom"


def provenance() -> dict[str, str]:
    """Versions that produced a table, stored in the parquet file's metadata (not in its rows). Deterministic:
    no timestamps or host names, so the same config on the same machine writes the same bytes."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("saegeom", "sae-lens", "torch", "numpy", "scipy", "pyarrow"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "absent"
    return out


def write_table(df: pd.DataFrame, path: str | Path, schema: pa.Schema) -> None:
    """Write ``df`` with ``schema`` atomically (temp file, then rename), provenance in the file metadata
    (``read_provenance``)."""
    table = pa.Table.from_pandas(df, schema=schema, preserve_index=False)
    stamp = json.dumps(provenance(), sort_keys=True, allow_nan=False).encode()
    meta = {**(table.schema.metadata or {}), PROVENANCE_KEY: stamp}
    with atomic_path(path) as tmp:
        pq.write_table(table.replace_schema_metadata(meta), tmp)


def read_provenance(path: str | Path) -> dict[str, str]:
    """The versions :func:`write_table` stored in a table's metadata."""
    return json.loads(pq.read_schema(path).metadata[PROVENANCE_KEY])


def write_metrics(df: pd.DataFrame, path: str | Path) -> None:
    write_table(validate_metrics(df), path, METRICS_SCHEMA)


def read_metrics(path: str | Path) -> pd.DataFrame:
    return validate_metrics(pq.read_table(path).to_pandas())


def concat_metrics(paths: list[str | Path]) -> pd.DataFrame:
    frames = [read_metrics(p) for p in paths]
    if not frames:
        return pd.DataFrame({n: pd.Series(dtype=METRICS_SCHEMA.field(n).type.to_pandas_dtype())
                             for n in METRICS_SCHEMA.names})
    return pd.concat(frames, ignore_index=True)
