"""Rules of the topology stage: one report per feature cloud, one comparison per model pair, the summary.
The work is in :mod:`saegeom.topology.analysis`; these give it the rules' keyword contract."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

PathLike = str | Path


def topology(*, out: PathLike, model: str, settings: dict[str, Any], names: dict[str, str], seed: int,
             pairs: list[list[str]], sae: PathLike | None = None, world: PathLike | None = None,
             latents: PathLike | None = None) -> pd.DataFrame:
    """Rule ``topology``: Mapper report and persistence diagrams of one feature cloud in ``out`` (a directory).
    ``sae``: the SAE folder (None: ``model``'s true features in ``world``); ``latents``: an LM feature cache;
    ``pairs``: [pairs table, side] of the comparisons this SAE takes part in; ``names``: world/model/sae of
    the summary row."""
    from saegeom.topology.analysis import topology_report

    return topology_report(sae, out, world=world, model=model, latents=latents, settings=settings, names=names,
                           seed=seed, pairs=[(path, side) for path, side in pairs])


def topology_compare(*, out: PathLike, model_a: str, model_b: str, settings: dict[str, Any],
                     context: dict[str, Any], sae_a: PathLike | None = None, sae_b: PathLike | None = None,
                     world: PathLike | None = None, latents_a: PathLike | None = None,
                     latents_b: PathLike | None = None) -> pd.DataFrame:
    """Rule ``topology_compare``: the pairing-free shape distances of two clouds (rows of metrics.parquet)."""
    from saegeom.topology.analysis import topology_comparison

    return topology_comparison(sae_a, sae_b, out, model_a=model_a, model_b=model_b, world=world,
                               latents_a=latents_a, latents_b=latents_b, settings=settings, context=context)


def topology_summary(*, reports: list[PathLike], out: PathLike) -> None:
    """Rule ``topology_summary``: every cloud's Mapper summary in one table."""
    from saegeom.topology.analysis import collect_mapper_summaries

    collect_mapper_summaries(list(reports), out)


def topology_calibration(*, settings: dict[str, Any], n_cases: int, seed: int, out: PathLike) -> None:
    """Rule ``topology_calibration``: metrics-table rows of ``n_cases`` independent structureless cloud pairs
    compared with the configured topology settings (``saegeom.topology.calibration``) — the null cases of
    the topology rows' calibration."""
    from saegeom.io.tables import write_metrics
    from saegeom.topology.calibration import topology_null_rows

    write_metrics(topology_null_rows(n_cases, settings, seed=seed), out)
