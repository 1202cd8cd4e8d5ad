"""Rules that produce an SAE folder: ``train_sae`` (SAELens training) and ``pretrained_sae`` (SAELens load)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from saegeom.io.shards import ShardSet, split_shards

PathLike = str | Path


def train_sae(*, shards: PathLike, study: str, model: str, sae: str, spec: dict[str, Any], seed: int, device: str,
              out: PathLike, lm: dict[str, Any] | None = None, checkpoint_dir: PathLike | None = None,
              checkpoint: dict[str, Any] | None = None) -> dict[str, Any]:
    """Rule ``train_sae``: one SAE on one shard set — a simulated model's (``results/worlds/{study}/acts/{model}``)
    or a language model's hook (``results/lm/{lm}/acts/{hook}``) — seeded by (seed, study, model, sae).

    ``lm``: for language-model shards, ``{"spec": model spec, "model_dir": toy model dir or None, "hook": ...}``;
    then ``metrics.json`` also holds CE-loss recovered and KL of the SAE spliced into the model.
    ``checkpoint``: the config block ``checkpoint`` (``saegeom.sae.checkpoint.CheckpointPolicy``); training
    state goes to ``checkpoint_dir`` periodically and a re-run after a crash continues from it.
    """
    from saegeom.sae import train_sae as train
    from saegeom.sae.checkpoint import CheckpointPolicy
    from saegeom.utils import derive_seed

    extra = None
    if lm is not None:
        from saegeom.lm.runtime import splice_metrics

        extra = splice_metrics(lm["spec"], lm.get("model_dir"), shards, lm["hook"], device)
    return train(shards, spec, out, seed=derive_seed(seed, study, model, sae), device=device,
                 extra_meta={"world": study, "model": model, "sae": sae}, extra_metrics=extra,
                 checkpoint_dir=checkpoint_dir, checkpoint=CheckpointPolicy(**(checkpoint or {})))


def pretrained_sae(*, source: dict[str, Any], acts: PathLike, lm: dict[str, Any], device: str,
                   out: PathLike) -> dict[str, Any]:
    """Rule ``pretrained_sae``: a SAELens SAE (``release``/``sae_id`` or a local ``path``) saved like a
    trained one, with ``metrics.json`` measured on the held-out shard of ``acts`` (and CE-loss recovered).
    ``lm``: ``{"spec", "model_dir", "hook"}`` of the model the SAE reads."""
    from saegeom.io import strict_json
    from saegeom.io.atomic import atomic_path
    from saegeom.lm.runtime import splice_metrics
    from saegeom.sae.evaluate import evaluate_sae
    from saegeom.sae.load import METRICS_FILE, load_sae_source

    spec = lm["spec"]
    # verified folder, finite weights, recorded model/hook against the configured ones
    sae = load_sae_source(source, device, model_name=spec.get("name") if spec["source"] == "pretrained" else None,
                          hook=lm["hook"])
    s = ShardSet(acts)
    hook = lm["hook"]
    if int(sae.cfg.d_in) != s.d:
        raise ValueError(f"pretrained SAE {source} reads d_in={sae.cfg.d_in} but hook {hook} has width {s.d}")
    metrics: dict[str, Any] = evaluate_sae(sae, s.iter_batches(4096, max_rows=65536, shards=split_shards(s)[1]), device)
    metrics.update(splice_metrics(lm["spec"], lm["model_dir"], acts, hook, device)(sae))
    metrics.update(d_in=s.d, d_sae=int(sae.cfg.d_sae), pretrained=source, device=device)
    with atomic_path(out) as tmp:
        sae.save_inference_model(tmp) if hasattr(sae, "save_inference_model") else sae.save_model(tmp)
        (Path(tmp) / METRICS_FILE).write_text(strict_json.dumps(metrics, indent=1))
    return metrics
