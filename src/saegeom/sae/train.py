"""Train an SAE with SAELens' ``SAETrainer`` on a stream of shard rows.

An SAE spec is a config block like::

    architecture: topk          # any SAELens training architecture: standard, topk, batchtopk, jumprelu, ...
    d_sae: 256                  # or expansion_factor: 4
    k: 8                        # architecture options are SAELens config fields
    lr: 3.0e-4                  # trainer options: lr, training_samples, batch_size, lr_warm_up_steps,
    training_samples: 400000    #   lr_decay_steps, lr_scheduler, lr_end, dead_feature_window

Training keys go to ``SAETrainerConfig``; every other key must be a field of the
architecture's SAELens config class, otherwise the spec is rejected by name.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from saegeom.io.atomic import atomic_path
from saegeom.io.shards import ShardSet, shard_batches, split_shards
from saegeom.sae.load import METRICS_FILE
from saegeom.settings import SAE_TRAINER_DEFAULTS
from saegeom.utils import resolve_device

TRAINER_KEYS = {*SAE_TRAINER_DEFAULTS, "lr_end"}
SPEC_ONLY_KEYS = {"architecture", "expansion_factor"}


def _sae_registry():
    import sae_lens  # noqa: F401  (registers the architectures)
    from sae_lens.registry import SAE_TRAINING_CLASS_REGISTRY

    return SAE_TRAINING_CLASS_REGISTRY


def split_spec(spec: dict[str, Any], d_in: int) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """(architecture, SAE config kwargs, trainer kwargs) from a spec; validates names."""
    registry = _sae_registry()
    arch = spec.get("architecture", "standard")
    if arch not in registry:
        raise ValueError(f"unknown SAE architecture {arch!r}; SAELens has {sorted(registry)}")
    cfg_cls = registry[arch][1]
    fields = {f.name for f in dataclasses.fields(cfg_cls)}
    sae_kw: dict[str, Any] = {"d_in": d_in}
    trainer_kw: dict[str, Any] = {}
    for key, val in spec.items():
        if key in TRAINER_KEYS:
            trainer_kw[key] = val
        elif key in SPEC_ONLY_KEYS:
            continue
        elif key in fields and key not in ("d_in", "device", "metadata"):
            sae_kw[key] = val
        else:
            raise ValueError(f"SAE spec key {key!r} is neither a trainer option {sorted(TRAINER_KEYS)} "
                             f"nor a field of SAELens {cfg_cls.__name__}")
    if "d_sae" not in sae_kw:
        if "expansion_factor" not in spec:
            raise ValueError("SAE spec needs d_sae or expansion_factor")
        sae_kw["d_sae"] = int(round(spec["expansion_factor"] * d_in))
    return arch, sae_kw, trainer_kw


def build_training_sae(spec: dict[str, Any], d_in: int, device: str = "cpu", seed: int = 0):
    """A freshly initialised SAELens ``TrainingSAE`` for ``spec`` (seeded)."""
    arch, sae_kw, _ = split_spec(spec, d_in)
    sae_cls, cfg_cls = _sae_registry()[arch]
    with torch.random.fork_rng(devices=[]):  # seed the initialisation without touching the caller's RNG
        torch.manual_seed(seed)
        return sae_cls(cfg_cls(device=device, **sae_kw))


def train_sae(shard_dir: str | Path, spec: dict[str, Any], out_dir: str | Path, seed: int = 0,
              device: str = "auto", eval_rows: int = 65536, extra_meta: dict[str, Any] | None = None,
              extra_metrics: Callable[[Any], dict[str, Any]] | None = None) -> dict[str, Any]:
    """Train one SAE on a shard set; save it with SAELens plus ``metrics.json``.

    ``extra_metrics``: called with the trained SAE, its dict is added to the metrics (language
    models: CE-loss recovered, ``saegeom.lm.splice``). Writes ``out_dir`` atomically (a failed run
    leaves nothing). Returns the metrics.
    """
    from sae_lens.config import LoggingConfig, SAETrainerConfig
    from sae_lens.training.sae_trainer import SAETrainer

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
    t0 = time.perf_counter()
    SAETrainer(cfg=trainer_cfg, sae=sae, data_provider=data).fit()
    train_seconds = time.perf_counter() - t0

    from saegeom.sae.evaluate import evaluate_sae

    metrics = evaluate_sae(sae, shards.iter_batches(4096, max_rows=eval_rows, shards=eval_ids), device)
    metrics.update(architecture=arch, d_in=shards.d, d_sae=int(sae.cfg.d_sae), training_samples=total,
                   train_seconds=train_seconds, device=device, seed=seed,
                   eval_held_out=eval_ids != train_ids, spec=spec, **(extra_meta or {}))
    if extra_metrics is not None:
        metrics.update(extra_metrics(sae))
    with atomic_path(out_dir) as tmp:
        sae.save_inference_model(tmp)
        (tmp / METRICS_FILE).write_text(json.dumps(metrics, indent=1))
    return metrics
