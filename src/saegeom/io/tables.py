"""Parquet tables with one documented schema each, validated on write.

``METRICS_SCHEMA`` is the tidy table behind ``results/metrics.parquet``: one row
per (comparison, subspace, representation, pairing, metric). See README
"Reading results/metrics.parquet" for the meaning of every column.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from saegeom.io.atomic import atomic_path

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
    ("baseline", pa.string()),         # kind of null: shuffle | random_directions | random_subset | ...
    ("baseline_mean", pa.float64()),
    ("baseline_std", pa.float64()),
    ("p_value", pa.float64()),
    ("n_baseline", pa.int64()),
    ("n_features", pa.int64()),        # paired items compared
    ("n_samples", pa.int64()),         # activation rows behind the comparison (0 if none used)
    ("seed", pa.int64()),
    ("config_hash", pa.string()),
    ("package_version", pa.string()),
    ("note", pa.string()),
])

REPRESENTATIONS = {"decoder", "activations", "ground_truth"}
PAIRINGS = {"many_to_one", "one_to_one", "hungarian", "decoder_cosine", "ground_truth"}
SUBSPACE_RE = re.compile(r"^(all|shared|private_a|private_b|(cluster|circle|group|discovered):[^\s]+)$")
SOURCES = {"synthetic", "lm"}


class TableSchemaError(ValueError):
    """A table does not match its documented schema."""


def validate_metrics(df: pd.DataFrame) -> pd.DataFrame:
    """Check columns, types and vocabulary; return the frame in schema column order."""
    missing = [c for c in METRICS_SCHEMA.names if c not in df.columns]
    extra = [c for c in df.columns if c not in METRICS_SCHEMA.names]
    if missing or extra:
        raise TableSchemaError(f"metrics table columns: missing {missing}, unexpected {extra}")
    for col, allowed in (("representation", REPRESENTATIONS), ("pairing", PAIRINGS), ("source", SOURCES)):
        bad = sorted(set(df[col]) - allowed)
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
    df = df[METRICS_SCHEMA.names].reset_index(drop=True)
    try:
        pa.Table.from_pandas(df, schema=METRICS_SCHEMA, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
        raise TableSchemaError(f"metrics table types do not match the schema: {e}") from e
    return df


def write_table(df: pd.DataFrame, path: str | Path, schema: pa.Schema) -> None:
    """Write ``df`` with ``schema`` atomically (temp file, then rename)."""
    table = pa.Table.from_pandas(df, schema=schema, preserve_index=False)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


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
