"""Train an SAE with SAELens' ``SAETrainer`` on a stream of shard rows (specs: ``saegeom.sae.spec``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import torch

from saegeom.io import strict_json
from saegeom.io.atomic import atomic_path
from saegeom.io.shards import ShardSet, shard_batches, split_shards
from saegeom.sae.checkpoint import CheckpointPolicy, TrainingDivergedError, make_trainer, remove_checkpoint
from saegeom.sae.load import METRICS_FILE
from saegeom.sae.spec import sae_registry, split_spec
from saegeom.settings import SAE_TRAINER_DEFAULTS
from saegeom.utils import config_hash, resolve_device


def build_training_sae(spec: dict[str, Any], d_in: int, device: str = "cpu", seed: int = 0):
    """A freshly initialised SAELens ``TrainingSAE`` for ``spec`` (seeded)."""
    arch, sae_kw, _ = split_spec(spec, d_in)
    sae_cls, cfg_cls = sae_registry()[arch]
    with torch.random.fork_rng(devices=[]):  # seed the initialisation without touching the caller's RNG
        torch.manual_seed(seed)
        return sae_cls(cfg_cls(device=device, **sae_kw))


def train_sae(shard_dir: str | Path, spec: dict[str, Any], out_dir: str | Path, seed: int = 0,
              device: str = "auto", eval_rows: int = 65536, extra_meta: dict[str, Any] | None = None,
              extra_metrics: Callable[[Any], dict[str, Any]] | None = None,
              checkpoint_dir: str | Path | None = None, checkpoint: CheckpointPolicy | None = None) -> dict[str, Any]:
    """Train one SAE on a shard set; save it with SAELens plus ``metrics.json``.

    ``extra_metrics``: called with the trained SAE, its dict is added to the metrics (language
    models: CE-loss recovered, ``saegeom.lm.splice``). Writes ``out_dir`` atomically (a failed run
    leaves nothing; a non-finite loss or non-finite weights raise ``TrainingDivergedError``: no SAE is
    written and the run's checkpoint is deleted). With ``checkpoint_dir``, training state is saved there
    periodically (``checkpoint``, see ``saegeom.sae.checkpoint``) and a re-run continues from it; the
    checkpoint is deleted once ``out_dir`` is written. Returns the metrics.
    """
    from sae_lens.config import LoggingConfig, SAETrainerConfig

    device = resolve_device(device)
    shards = ShardSet(shard_dir)
    arch, _, given = split_spec(spec, shards.d)  # validate before any work
    tkw = {**SAE_TRAINER_DEFAULTS, **given}
    tkw.setdefault("lr_end", tkw["lr"])  # constant schedule unless lr_end is given
    batch_size, total = tkw["batch_size"], tkw["training_samples"]
    if total < batch_size:
        raise ValueError(f"training_samples ({total}) must be at least batch_size ({batch_size})")
    train_ids, eval_ids = split_shards(shards)

    sae = build_training_sae(spec, shards.d, device, seed)
    trainer_cfg = SAETrainerConfig(
        total_training_samples=total, train_batch_size_samples=batch_size, lr=tkw["lr"], lr_end=tkw["lr_end"],
        lr_scheduler_name=tkw["lr_scheduler"], lr_warm_up_steps=tkw["lr_warm_up_steps"],
        lr_decay_steps=tkw["lr_decay_steps"], device=device, dead_feature_window=tkw["dead_feature_window"],
        logger=LoggingConfig(log_to_wandb=False), n_batches_for_norm_estimate=100,
    )
    data = shard_batches(shards, batch_size, train_ids, seed, device)
    fingerprint = config_hash([spec, seed, shards.index, version("sae-lens"), device])
    trainer = make_trainer(trainer_cfg, sae, data, checkpoint_dir=checkpoint_dir,
                           policy=checkpoint or CheckpointPolicy(), fingerprint=fingerprint)
    t0 = time.perf_counter()
    try:
        trainer.fit()
        trainer.check_weights()  # the last update may diverge after the last finite loss
    except TrainingDivergedError:
        remove_checkpoint(checkpoint_dir)  # a diverged run's checkpoint only leads to the same divergence
        raise
    train_seconds = time.perf_counter() - t0

    from saegeom.sae.evaluate import evaluate_sae

    metrics: dict[str, Any] = evaluate_sae(sae, shards.iter_batches(4096, max_rows=eval_rows, shards=eval_ids), device)
    metrics.update(architecture=arch, d_in=shards.d, d_sae=int(sae.cfg.d_sae), training_samples=total,
                   train_seconds=train_seconds, device=device, seed=seed,
                   eval_held_out=eval_ids != train_ids, spec=spec, resumed_from_step=trainer.resumed_from_step,
                   **(extra_meta or {}))
    if extra_metrics is not None:
        metrics.update(extra_metrics(sae))
    with atomic_path(out_dir) as tmp:
        sae.save_inference_model(tmp)
        (tmp / METRICS_FILE).write_text(strict_json.dumps(metrics, indent=1))
    remove_checkpoint(checkpoint_dir)
    return metrics
