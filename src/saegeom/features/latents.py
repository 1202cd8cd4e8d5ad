"""The feature cache's tables and their readers (no torch: viewers and reports import this).

Schemas and file names of a feature-cache directory ``results/features/{world}/{model}/{sae}/``
(see ``saegeom.features.cache`` for what each holds and how it is built).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from saegeom.io.tables import write_table

LATENTS_FILE, TOP_TOKENS_FILE, CODES_FILE = "latents.parquet", "top_tokens.parquet", "codes.safetensors"
LATENTS_SCHEMA = pa.schema([
    ("latent", pa.int32()), ("frequency", pa.float64()), ("mean_activation", pa.float64()),
    ("max_activation", pa.float64()), ("top_tokens", pa.list_(pa.string())), ("label", pa.string()),
    ("group", pa.string()), ("is_concept", pa.bool_()),
])
TOP_TOKENS_SCHEMA = pa.schema([
    ("latent", pa.int32()), ("rank", pa.int16()), ("activation", pa.float32()), ("doc", pa.int32()),
    ("pos", pa.int32()), ("token_id", pa.int32()), ("token", pa.string()), ("context_left", pa.string()),
    ("context_right", pa.string()),
])
N_LABEL_TOKENS = 10


def read_latents(path: str | Path) -> pd.DataFrame:
    """``latents.parquet`` of a feature-cache directory (or the file itself), one row per latent sorted by
    ``latent``; a missing column or latent ids other than 0..d_sae−1 (each once) raise ``ValueError``."""
    path = Path(path)
    path = path / LATENTS_FILE if path.is_dir() else path
    table = pq.read_table(path)
    missing = [n for n in LATENTS_SCHEMA.names if n not in table.column_names]
    if missing:
        raise ValueError(f"{path}: not a latents table, columns {missing} missing")
    df = table.select(LATENTS_SCHEMA.names).to_pandas()
    _check_ids(df, path)
    return df.sort_values("latent").reset_index(drop=True)


def write_latents(df: pd.DataFrame, path: str | Path) -> None:
    """Validate and write a latents table atomically."""
    _check_ids(df, path)
    write_table(df[LATENTS_SCHEMA.names], path, LATENTS_SCHEMA)


def _check_ids(df: pd.DataFrame, where) -> None:
    if not np.array_equal(np.sort(df.latent.to_numpy()), np.arange(len(df))):
        raise ValueError(f"{where}: latent ids must be 0..{len(df) - 1}, each once")


def read_top_tokens(path: str | Path) -> pd.DataFrame:
    """``top_tokens.parquet`` of a feature-cache directory, one row per (latent, rank)."""
    return pd.read_parquet(Path(path) / TOP_TOKENS_FILE)


def read_codes(path: str | Path) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """(indices (n, k) int32, values (n, k) float32, metadata) of ``codes.safetensors``."""
    from saegeom.io.tensors import load_tensors

    arrays, meta = load_tensors(Path(path) / CODES_FILE)
    return arrays["indices"], arrays["values"], meta
