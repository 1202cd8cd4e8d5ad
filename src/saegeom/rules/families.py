"""Rule ``families``: feature families across every model of a study, from its pairs tables, and (synthetic
worlds) their validation against the planted sharing pattern (``saegeom.families``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from saegeom.io.tables import write_table

PathLike = str | Path

#: provenance columns of both tables (those of results/metrics.parquet that apply)
PROVENANCE = (("world", pa.string()), ("sae", pa.string()), ("pairing", pa.string()), ("seed", pa.int64()),
              ("config_hash", pa.string()), ("package_version", pa.string()))
FAMILIES_SCHEMA = pa.schema([
    ("family", pa.int64()), ("model", pa.string()), ("latent", pa.int64()), ("n_models", pa.int64()),
    ("models", pa.string()), ("mean_score", pa.float64()), *PROVENANCE])
FAMILY_VALIDATION_SCHEMA = pa.schema([
    ("level", pa.string()), ("statistic", pa.string()), ("value", pa.float64()), ("n", pa.int64()), *PROVENANCE])


def families(*, pairs: list[PathLike], saes: list[PathLike], models: list[str], pair_models: list[list[str]],
             pairing: str, min_score: float, context: dict[str, Any], out_families: PathLike,
             out_validation: PathLike, world: PathLike | None = None, world_models: list[str] | None = None,
             gt_threshold: float = 0.7) -> pd.DataFrame:
    """Rule ``families``: ``pairs`` (one table per entry of ``pair_models``, [model_a, model_b]) → the families
    of the SAEs ``saes`` of ``models`` (same order) → ``out_families``; with ``world`` (``world_models``: the
    world's name of each model), the validation rows → ``out_validation`` (empty for studies without ground
    truth). ``context``: ``{world, sae, seed, config_hash}`` (provenance columns)."""
    from saegeom import __version__
    from saegeom.families import families_from_pairs, latent_features, validate_families
    from saegeom.pairing import read_pairs
    from saegeom.sae.load import decoder_directions

    if not (len(pairs) == len(pair_models) and len(saes) == len(models)):
        raise ValueError(f"families: {len(pairs)} pairs tables for {len(pair_models)} model pairs, {len(saes)} SAEs "
                         f"for {len(models)} models")
    decoders = {m: decoder_directions(s) for m, s in zip(models, saes, strict=True)}
    tables = {(a, b): read_pairs(p) for (a, b), p in zip(pair_models, pairs, strict=True)}
    fam = families_from_pairs(tables, {m: len(d) for m, d in decoders.items()}, pairing, min_score)
    prov = {"world": context["world"], "sae": context["sae"], "pairing": pairing, "seed": int(context["seed"]),
            "config_hash": context["config_hash"], "package_version": __version__}
    write_table(fam.assign(**prov), out_families, FAMILIES_SCHEMA)
    if world is None:
        rows = pd.DataFrame({c: pd.Series(dtype="float64" if c == "value" else "int64" if c == "n" else "object")
                             for c in ("level", "statistic", "value", "n")})
    else:
        from saegeom.synthetic.world import World

        w = World.load(world)
        names = dict(zip(models, world_models or models, strict=True))  # study model -> world model
        truth = latent_features(w, {names[m]: d for m, d in decoders.items()}, gt_threshold)
        rows = validate_families(fam.assign(model=fam["model"].map(names)), w, truth)
    write_table(rows.assign(**prov), out_validation, FAMILY_VALIDATION_SCHEMA)
    return rows
