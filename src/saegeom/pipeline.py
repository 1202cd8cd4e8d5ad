"""One function per workflow rule: read the rule's input files, call the library, write its outputs.

``workflow/scripts/<rule>.py`` calls exactly one of these, so a rule is reproducible from
a notebook with the same arguments. Every output is written atomically (temp, then rename).
Settings arrive as config blocks (dicts under their config names, see ``saegeom.settings``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from saegeom.compare.multiple_testing import add_q_values
from saegeom.io.atomic import atomic_path
from saegeom.io.tables import METRIC_ROW_KEY, concat_metrics, read_metrics, write_metrics, write_table
from saegeom.settings import CompareSettings, PairingSettings
from saegeom.utils import resolve_device

PathLike = str | Path


def build_world_file(name: str, cfg: dict[str, Any], seed: int, out: PathLike) -> None:
    """Rule ``world``: the ground truth of one synthetic world."""
    from saegeom.synthetic.world import build_world

    build_world(name, cfg, seed).save(out)


def world_shards(world: PathLike, out_dir: PathLike, n_samples: int, shard_rows: int, device: str = "cpu") -> None:
    """Rule ``shards``: paired activation shards of every simulated model of a world; firing drawn on
    ``device`` (``auto``: CUDA when present)."""
    from saegeom.synthetic.world import World, write_paired_shards

    with atomic_path(out_dir) as tmp:
        write_paired_shards(World.load(world), tmp, n_samples, shard_rows, device=resolve_device(device))


def train_world_sae(acts: PathLike, world: str, model: str, sae: str, spec: dict[str, Any], seed: int, device: str,
                    out: PathLike, checkpoint_dir: PathLike | None = None,
                    checkpoint: dict[str, Any] | None = None) -> dict[str, Any]:
    """One SAE on one simulated model's shards (``acts``: the world's acts directory); see :func:`train_sae_job`."""
    return train_sae_job(Path(acts) / model, world, model, sae, spec, seed, device, out,
                         checkpoint_dir=checkpoint_dir, checkpoint=checkpoint)


def train_sae_job(shards: PathLike, world: str, model: str, sae: str, spec: dict[str, Any], seed: int, device: str,
                  out: PathLike, lm: dict[str, Any] | None = None, checkpoint_dir: PathLike | None = None,
                  checkpoint: dict[str, Any] | None = None) -> dict[str, Any]:
    """Rule ``train_sae``: one SAE on one shard set — a simulated model's (``results/worlds/{world}/acts/{model}``)
    or a language model's hook (``results/lm/{lm}/acts/{hook}``) — seeded by (seed, world, model, sae).

    ``lm``: for language-model shards, ``{"spec": model spec, "model_dir": toy model dir or None, "hook": ...}``;
    then ``metrics.json`` also holds CE-loss recovered and KL of the SAE spliced into the model.
    ``checkpoint``: the config block ``checkpoint`` (``saegeom.sae.checkpoint.CheckpointPolicy``); training
    state goes to ``checkpoint_dir`` periodically and a re-run after a crash continues from it.
    """
    from saegeom.sae import train_sae
    from saegeom.sae.checkpoint import CheckpointPolicy
    from saegeom.utils import derive_seed

    extra = None
    if lm is not None:
        from saegeom.lm.pipeline import splice_metrics

        extra = splice_metrics(lm["spec"], lm.get("model_dir"), shards, lm["hook"], resolve_device(device))
    return train_sae(shards, spec, out, seed=derive_seed(seed, world, model, sae), device=device,
                     extra_meta={"world": world, "model": model, "sae": sae}, extra_metrics=extra,
                     checkpoint_dir=checkpoint_dir, checkpoint=CheckpointPolicy(**(checkpoint or {})))


def _world_saes(world: PathLike, model_a: str, model_b: str, sae_a: PathLike, sae_b: PathLike, device: str,
                gt_threshold: float):
    from saegeom.compare.worlds import WorldLabels
    from saegeom.sae.load import load_sae
    from saegeom.synthetic.world import World

    saes = load_sae(sae_a, device), load_sae(sae_b, device)
    return (*saes, WorldLabels(World.load(world), model_a, model_b, *saes, gt_threshold))


def pair_world_features(world: PathLike, acts: PathLike, model_a: str, model_b: str, sae_a: PathLike,
                        sae_b: PathLike, pairing: dict[str, Any], device: str, out: PathLike) -> None:
    """Rule ``pair_features``: every configured pairing of two simulated models' SAEs."""
    from saegeom.pairing import pair_saes, write_pairs

    device = resolve_device(device)
    settings = PairingSettings(**pairing)
    a, b, labels = _world_saes(world, model_a, model_b, sae_a, sae_b, device, settings.gt_threshold)
    write_pairs(pair_saes(Path(acts) / model_a, Path(acts) / model_b, a, b, settings, device=device,
                          extra=labels.extra_pairings()), out)


def compare_world_models(world: PathLike, acts: PathLike, model_a: str, model_b: str, sae_a: PathLike,
                         sae_b: PathLike, pairs: PathLike, compare: dict[str, Any], pairing: dict[str, Any],
                         context: dict[str, Any], device: str, out: PathLike) -> None:
    """Rule ``compare_models``: every pairing × subspace × representation × metric × null."""
    from saegeom.compare import Context, compare_saes
    from saegeom.pairing import read_pairs

    device = resolve_device(device)
    pairing_settings = PairingSettings(**pairing)
    a, b, labels = _world_saes(world, model_a, model_b, sae_a, sae_b, device, pairing_settings.gt_threshold)
    df = compare_saes(Path(acts) / model_a, Path(acts) / model_b, a, b, pairs=read_pairs(pairs), subspaces=labels,
                      settings=CompareSettings(**compare), pairing=pairing_settings, context=Context(**context),
                      device=device)
    write_metrics(df, out)


def world_recovery(world: PathLike, model: str, sae: PathLike, context: dict[str, Any], n_baseline: int,
                   threshold: float, out: PathLike) -> None:
    """Rule ``ground_truth_recovery``: how well one SAE recovers its model's true features."""
    from saegeom.compare import Context
    from saegeom.compare.worlds import ground_truth_recovery_rows
    from saegeom.sae.load import decoder_directions
    from saegeom.synthetic.world import World

    rows = ground_truth_recovery_rows(World.load(world), model, decoder_directions(sae),
                                      Context(**context), n_baseline, threshold)
    write_metrics(pd.DataFrame(rows), out)


def collect_metrics(tables: list[PathLike], out: PathLike) -> None:
    """Rule ``metrics``: every comparison table in one ``results/metrics.parquet``, rows in a stable order."""
    df = concat_metrics(list(tables))
    df = df.sort_values(list(METRIC_ROW_KEY), kind="stable", ignore_index=True)
    write_metrics(add_q_values(df), out)


def comparison_figure(metrics: PathLike, out: PathLike) -> None:
    """Rule ``comparison_figure``: the overview heatmaps of ``results/metrics.parquet``."""
    from saegeom.viz.summary import plot_comparison_summary

    plot_comparison_summary(read_metrics(metrics), out)


def calibration_report(tables: list[PathLike], shared_fraction: dict[str, float], table_out: PathLike,
                       figure_out: PathLike) -> pd.DataFrame:
    """Rule ``calibration``: false-positive rates and power of every metric × pairing × null."""
    from saegeom.compare.calibration import CALIBRATION_SCHEMA, summarise
    from saegeom.viz.calibration import plot_calibration

    summary = summarise(concat_metrics(list(tables)), shared_fraction)
    write_table(summary, table_out, CALIBRATION_SCHEMA)
    plot_calibration(summary, figure_out)
    return summary
