"""Feature clouds: the point sets whose shape the topology stage studies.

A cloud is the (n, d) matrix of unit-norm directions of one SAE's latents (decoder rows)
or of one simulated model's true features, rows = items, plus one row of attributes per
item (``table``: ``id``, ``label`` for tooltips, ``frequency``, ``group``, ``cluster``,
``circle``) and named subspaces (boolean masks over the rows): ``cluster:<c>`` /
``circle:<c>`` (synthetic: a latent's true feature carries the label, matched at decoder
cosine ≥ ``gt_threshold`` as in ``saegeom.compare.worlds``) and ``group:<name>`` (the
feature cache's ``group`` column).

Feature cache (``results/features/{world}/{model}/{sae}/latents.parquet``, columns
``latent``, ``frequency``, ``label``, ``group``, ``is_concept``, …): when given, latents
firing at most ``min_frequency`` (dead) and non-concept latents are dropped, and its labels
and groups are used (read it with ``saegeom.features.read_latents``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from saegeom.features.latents import read_latents
from saegeom.topology.persistence import unit_rows

__all__ = ["FeatureCloud", "ground_truth_cloud", "read_latents", "sae_cloud", "subspace_name"]



@dataclass
class FeatureCloud:
    """``points`` (n, d) unit rows; ``table`` one row per point; ``subspaces`` name → (n,) bool."""

    points: np.ndarray
    table: pd.DataFrame
    subspaces: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.points) != len(self.table):
            raise ValueError(f"cloud has {len(self.points)} points but {len(self.table)} table rows")

    def __len__(self) -> int:
        return len(self.points)

    def label_codes(self, column: str) -> np.ndarray:
        """(n,) integer codes of a label column (−1 where missing)."""
        col = self.table[column] if column in self.table else pd.Series([None] * len(self))
        if pd.api.types.is_numeric_dtype(col):  # cluster / circle ids, -1 = none
            return col.fillna(-1).to_numpy(dtype=np.int64)
        codes, _ = pd.factorize(col, use_na_sentinel=True)
        return codes.astype(np.int64)


def subspace_name(family: str, value) -> str:
    """``family:value`` with whitespace replaced (metrics subspaces contain no whitespace)."""
    value = re.sub(r"\s+", "_", str(value).strip())
    return f"{family}:{value}"


def _label_subspaces(table: pd.DataFrame) -> dict[str, np.ndarray]:
    subs = {}
    for family in ("cluster", "circle", "group"):
        if family not in table:
            continue
        col = table[family]
        for v in sorted(col.dropna().unique(), key=str):
            if family != "group" and int(v) < 0:
                continue
            subs[subspace_name(family, v)] = (col == v).to_numpy()
    return subs


def _world_columns(world, model: str, features: np.ndarray) -> dict[str, np.ndarray]:
    """cluster / circle label per item from its world feature index (−1 = none)."""
    out = {}
    for family in ("cluster", "circle"):
        if family in world.labels:
            vals = world.labels[family]
            out[family] = np.where(features >= 0, vals[np.maximum(features, 0)], -1)
    return out


def ground_truth_cloud(world, model: str) -> FeatureCloud:
    """The true features of ``model`` of a synthetic ``World`` in the model's basis."""
    owned = world.models[model].owned
    shared = np.isin(owned, world.shared)
    table = pd.DataFrame({"id": owned.astype(np.int64), "frequency": np.nan})
    for family, vals in _world_columns(world, model, owned).items():
        table[family] = vals
    table["label"] = [_gt_label(f, s, table.iloc[i]) for i, (f, s) in enumerate(zip(owned, shared, strict=True))]
    return FeatureCloud(world.gt_features(model), table, _label_subspaces(table))


def _gt_label(feature: int, shared: bool, row: pd.Series) -> str:
    parts = [f"gt {int(feature)}", "shared" if shared else "private"]
    for family in ("cluster", "circle"):
        if family in row and row[family] >= 0:
            parts.append(f"{family} {int(row[family])}")
    return " · ".join(parts)


def sae_cloud(sae: str | Path, *, latents: pd.DataFrame | None = None, world=None, model: str | None = None,
              gt_threshold: float = 0.7, min_frequency: float = 0.0) -> FeatureCloud:
    """The unit decoder rows of a saved SAE (d_sae, d_model), labelled by the feature cache
    ``latents`` and/or by a synthetic ``world`` (each latent's true feature, module doc)."""
    from saegeom.sae.load import decoder_directions

    dec = decoder_directions(Path(sae))
    table = pd.DataFrame({"id": np.arange(len(dec), dtype=np.int64), "frequency": np.nan})
    keep = np.ones(len(dec), bool)
    if latents is not None:
        lat = latents.set_index("latent").reindex(np.arange(len(dec)))
        table["frequency"] = lat["frequency"].to_numpy(dtype=np.float64)
        table["label"] = lat["label"].fillna("").astype(str).to_numpy()
        table["group"] = lat["group"].to_numpy(dtype=object)
        live = table["frequency"].fillna(0).to_numpy() > min_frequency
        keep &= live & lat["is_concept"].fillna(False).to_numpy(bool)
    if world is not None:
        if model is None:
            raise ValueError("labelling an SAE's cloud by a synthetic world needs the world's model")
        from saegeom.compare.worlds import latent_ground_truth

        feats, best = latent_ground_truth(world, model, dec, gt_threshold)
        for family, vals in _world_columns(world, model, feats).items():
            table[family] = vals
        if "label" not in table:
            shared = np.isin(feats, world.shared)
            table["label"] = [
                (_gt_label(f, s, table.iloc[i]) + f" · cos {b:.2f}") if f >= 0 else f"latent {i} · no true feature"
                for i, (f, s, b) in enumerate(zip(feats, shared, best, strict=True))]
    if "label" not in table:
        table["label"] = [f"latent {i}" for i in range(len(dec))]
    table = table[keep].reset_index(drop=True)
    if len(table) < 2:
        raise ValueError(f"{sae}: fewer than 2 latents left after dropping dead/non-concept latents "
                         f"(min_frequency={min_frequency})")
    return FeatureCloud(unit_rows(dec[keep]), table, _label_subspaces(table))
