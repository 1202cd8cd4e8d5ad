"""Upstream table schemas the figures read, and small helpers shared by the figure modules.

The layer-matrix tables (``results/layers/{study}/{sae}.parquet``) and the features-over-training tables
(``results/training/{study}/{sae}.parquet``) are read by column name only; the columns below are what the
figures need (extra columns are kept and ignored). ``z`` there is oriented: ``s · (value − null_mean) /
null_std`` against the ``random_partners`` null with ``s = −1`` for distances, so a larger z always means
"more similar than chance" (``saegeom.compare.layers``); the figures use it as it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from saegeom.settings import PAIRING_PREFERENCE

LAYER_COLUMNS = ("study", "sae", "model_a", "model_b", "hook_a", "hook_b", "layer_a", "layer_b", "subspace",
                 "representation", "pairing", "metric", "value", "null_mean", "null_std", "excess", "z", "p_value",
                 "q_value", "n_pairs", "best")
TRAINING_COLUMNS = ("study", "sae", "model", "hook", "layer", "step", "final_step", "subspace", "representation",
                    "pairing", "metric", "value", "null_mean", "null_std", "z", "p_value", "n_pairs")


def read_tables(paths: Iterable[str | Path], columns: Sequence[str], what: str) -> pd.DataFrame:
    """Concatenate parquet tables, checking that each has ``columns`` (ValueError naming the file and the
    missing columns); no paths → an empty frame with ``columns``."""
    frames = []
    for p in paths:
        df = pd.read_parquet(p)
        missing = [c for c in columns if c not in df.columns]
        if missing:
            raise ValueError(f"{what} table {p} lacks columns {missing}")
        frames.append(df)
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    return pd.concat(frames, ignore_index=True)


def check_columns(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what} table lacks columns {missing}")


def higher_is_similar(metric: str) -> bool:
    """The metric's direction from the registry (True for names it does not know: similarities by default)."""
    from saegeom.metrics.registry import orientation

    return orientation(metric) > 0


def choose_pairing(pairings: Iterable[str]) -> str:
    """The first of ``PAIRING_PREFERENCE`` present, else the alphabetically first."""
    present = sorted(set(pairings))
    return next((p for p in PAIRING_PREFERENCE if p in present), present[0] if present else "")


def keep_preferred_pairing(df: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Per group of ``by``, only the rows of the preferred pairing (:func:`choose_pairing`)."""
    if df.empty:
        return df
    keep = df.groupby(list(by), sort=False)["pairing"].transform(lambda s: choose_pairing(s))
    return df[df["pairing"] == keep]


def natural_key(subspace: str) -> tuple[int, str, int, str]:
    """Order ``all``, the role subspaces (shared, private_a, private_b, mixed), then labelled subspaces by
    family with ``x:10`` after ``x:9``."""
    from saegeom.settings import ROLE_SUBSPACES

    fixed = ("all", *ROLE_SUBSPACES)
    if subspace in fixed:
        return (fixed.index(subspace), "", -1, "")
    family, _, rest = subspace.partition(":")
    return (len(fixed), family, int(rest) if rest.isdigit() else -1, rest)


def significant(q: pd.Series | np.ndarray, alpha: float) -> np.ndarray:
    """q < alpha, NaN (no p-value) never significant."""
    q = np.asarray(q, dtype=float)
    return np.isfinite(q) & (q < alpha)


def unit_key(layer: object, hook: str) -> tuple[int, float, str]:
    """Sort key of a unit (a model's hook): by layer number, hooks without one (NaN layer) after them."""
    missing = layer is None or pd.isna(layer)
    return (1 if missing else 0, 0.0 if missing else float(layer), str(hook))  # type: ignore[arg-type]


def unit_label(layer: object, hook: str) -> str:
    """A unit's axis label: its layer number, or the hook name where it has none."""
    return str(hook) if layer is None or pd.isna(layer) else str(int(layer))  # type: ignore[call-overload]


def units(layers: pd.Series, hooks: pd.Series) -> list[tuple[object, str]]:
    """The distinct (layer, hook) units, in :func:`unit_key` order."""
    return sorted({(a, b) for a, b in zip(layers, hooks, strict=True)}, key=lambda u: unit_key(*u))
