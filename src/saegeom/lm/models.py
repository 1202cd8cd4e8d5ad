"""Language models as TransformerLens ``HookedTransformer``s: toy models trained here, pretrained
models by name, and local Hugging Face model directories.

A model spec is a config block (``lm.models.<name>``)::

    source: toy          # HookedTransformerConfig fields (n_layers, d_model, n_heads, d_mlp, n_ctx, act_fn)
                         # + training options (steps, batch_size, lr, seed) + hook
    source: pretrained   # name: a TransformerLens official name, e.g. roneneldan/TinyStories-1Layer-21M
    source: local        # path: a directory holding a Hugging Face causal LM and its tokenizer

A toy model's directory (``results/lm/{lm}/model``) holds ``config.json`` (HookedTransformerConfig
kwargs), ``model.safetensors`` (state dict), ``tokenizer.json`` and ``metrics.json``; with snapshot steps also
``steps/<N>/``, the same files for the weights after N optimiser steps (each loadable by :func:`load_toy_lm`).
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from saegeom.io import strict_json
from saegeom.io.atomic import atomic_path
from saegeom.io.state import save_state
from saegeom.lm.tokenizer import TOKENIZER_FILE, load_tokenizer, pad_batch, unigram_entropy
from saegeom.sae.checkpoint import CheckpointPolicy, remove_checkpoint, resumable_state
from saegeom.settings import LM_SOURCES, LM_TOY_DEFAULTS, TOY_ARCH_KEYS, TOY_TRAIN_KEYS
from saegeom.settings import LM_SPEC_KEYS as SPEC_KEYS
from saegeom.utils import ModelUnavailable, config_hash  # noqa: F401 - ModelUnavailable re-exported

log = logging.getLogger(__name__)

CONFIG_FILE, WEIGHTS_FILE, METRICS_FILE = "config.json", "model.safetensors", "metrics.json"


def toy_config(spec: dict[str, Any], d_vocab: int, seed: int):
    """``HookedTransformerConfig`` of a toy spec (unknown keys are rejected by name)."""
    from transformer_lens import HookedTransformerConfig

    bad = [k for k in spec if k not in (*TOY_ARCH_KEYS, *TOY_TRAIN_KEYS, *SPEC_KEYS)]
    if bad:
        raise ValueError(f"toy LM spec keys {bad} are neither HookedTransformerConfig fields {list(TOY_ARCH_KEYS)} "
                         f"nor training options {list(TOY_TRAIN_KEYS)}")
    full = {**LM_TOY_DEFAULTS, **spec}
    kw = {k: full[k] for k in TOY_ARCH_KEYS if k in full}
    if "d_head" not in kw:
        if kw["d_model"] % kw["n_heads"]:
            raise ValueError(f"d_model ({kw['d_model']}) must be divisible by n_heads ({kw['n_heads']})")
        kw["d_head"] = kw["d_model"] // kw["n_heads"]
    return HookedTransformerConfig(d_vocab=d_vocab, seed=seed, **kw)


def _masked_loss(model, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    from transformer_lens.utils import lm_cross_entropy_loss

    return lm_cross_entropy_loss(model(tokens, return_type="logits"), tokens, attention_mask=mask)


@torch.no_grad()
def heldout_loss(model, seqs: list[np.ndarray], pad_id: int, batch_size: int = 64) -> float:
    """Mean next-token cross-entropy (nats) over every real (non-padding) target token of ``seqs``."""
    model.eval()
    total = count = 0.0
    dev = model.cfg.device
    for start in range(0, len(seqs), batch_size):
        tokens, mask = pad_batch(seqs[start : start + batch_size], pad_id)
        t, m = torch.from_numpy(tokens).to(dev), torch.from_numpy(mask).to(dev)
        n = (m[:, :-1] & m[:, 1:]).sum().item()
        total += _masked_loss(model, t, m).item() * n
        count += n
    return total / count


def train_toy_lm(spec: dict[str, Any], tokenizer_path: str | Path, train_seqs: list[np.ndarray],
                 heldout_seqs: list[np.ndarray], out_dir: str | Path, seed: int, device: str = "cpu",
                 checkpoint_dir: str | Path | None = None, checkpoint=None, snapshot_steps=()) -> dict:
    """Train one toy ``HookedTransformer`` on tokenised stories; save it with ``metrics.json``.

    With ``checkpoint_dir``, the training state (weights, optimizer, schedule, batch sampler, torch RNG, loss
    curve) is saved there per ``checkpoint`` (``saegeom.sae.checkpoint.CheckpointPolicy``; safetensors +
    JSON) and a re-run continues from it, ending with the weights of an uninterrupted run (same machine).

    ``train_seqs``/``heldout_seqs``: lists of (len_i,) token-id arrays (BOS first). A plain AdamW loop
    rather than ``transformer_lens.train.train``: that one has no padding mask and keeps no loss
    curve. Metrics: ``loss_curve`` ([step, train loss] every ``eval_every`` steps), ``heldout_loss``
    (nats per token), ``unigram_entropy`` (nats, training tokens), ``train_seconds``.

    ``snapshot_steps``: steps (1 .. steps - 1) after which the weights are also saved, as ``steps/<N>/`` in the
    model directory (training is unchanged by them: same batches, same final weights). With ``checkpoint_dir``
    the snapshots taken so far are part of every checkpoint, so a resumed run still has the ones taken before it
    was stopped.
    """
    from transformer_lens import HookedTransformer

    tokenizer = load_tokenizer(tokenizer_path)
    cfg = toy_config(spec, len(tokenizer.get_vocab()), seed)
    opts = {**LM_TOY_DEFAULTS, **spec}
    steps, batch_size, lr = int(opts["steps"]), int(opts["batch_size"]), float(opts["lr"])
    eval_every, warmup = int(opts["eval_every"]), int(opts["warmup_steps"])
    model = HookedTransformer(cfg, move_to_device=False).to(device)  # tokenised here, not by TransformerLens
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=float(opts["weight_decay"]))
    # linear warm-up, then cosine decay to 10 % of lr
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / max(warmup, 1)) * (
        0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps))))
    rng = np.random.default_rng(seed)
    pad_id = int(tokenizer.pad_token_id)
    curve, running = [], []
    policy = checkpoint or CheckpointPolicy()
    fingerprint = config_hash([spec, seed, device, len(train_seqs), int(sum(len(s) for s in train_seqs)),
                               Path(tokenizer_path).read_text()])
    snapshot_steps = sorted({int(x) for x in snapshot_steps})
    bad = [x for x in snapshot_steps if not 0 < x < steps]
    if bad:
        raise ValueError(f"snapshot steps {bad} are not inside training (1 .. {steps - 1})")
    snapshots: dict[int, dict[str, torch.Tensor]] = {}
    start = 0
    state = resumable_state(checkpoint_dir, policy, fingerprint, device)
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        rng.bit_generator.state = json.loads(state["sampler"])
        torch.set_rng_state(state["torch_rng"])
        start, curve, running = state["step"], state["curve"], state["running"]
        log.info("resumed from checkpoint %s at step %d", checkpoint_dir, start)
        snapshots = _resumed_snapshots(state, [x for x in snapshot_steps if x <= start], checkpoint_dir)
    t0 = last_save = time.perf_counter()
    from tqdm.auto import tqdm

    model.train()
    for step in tqdm(range(start, steps), desc="train toy LM", mininterval=5, initial=start, total=steps):
        batch = [train_seqs[i][: cfg.n_ctx] for i in rng.integers(len(train_seqs), size=batch_size)]
        tokens, mask = pad_batch(batch, pad_id)
        loss = _masked_loss(model, torch.from_numpy(tokens).to(device), torch.from_numpy(mask).to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        running.append(loss.item())
        if (step + 1) % eval_every == 0 or step + 1 == steps:
            curve.append([step + 1, float(np.mean(running))])
            running = []
        if step + 1 in snapshot_steps:
            snapshots[step + 1] = {k: v.detach().cpu().clone().contiguous() for k, v in model.state_dict().items()}
        if checkpoint_dir is not None and step + 1 < steps and policy.due(step + 1, time.perf_counter() - last_save):
            save_state(checkpoint_dir, {
                "fingerprint": fingerprint, "step": step + 1, "model": model.state_dict(),
                "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                "sampler": json.dumps(rng.bit_generator.state),  # 128-bit ints: kept as JSON text
                "torch_rng": torch.get_rng_state(), "curve": curve, "running": running,
                # inside the state: save_state replaces the whole directory, so files beside it would be lost
                "snapshots": snapshots})
            last_save = time.perf_counter()
            log.info("checkpoint at step %d -> %s", step + 1, checkpoint_dir)
    train_seconds = time.perf_counter() - t0
    metrics = {"loss_curve": curve, "final_train_loss": curve[-1][1],
               "heldout_loss": heldout_loss(model, [s[: cfg.n_ctx] for s in heldout_seqs], pad_id),
               "unigram_entropy": unigram_entropy(train_seqs), "train_seconds": train_seconds, "steps": steps,
               "batch_size": batch_size, "lr": lr, "seed": seed, "device": device,
               "n_params": int(sum(p.numel() for p in model.parameters())), "spec": spec}
    arch = {k: getattr(cfg, k) for k in (*TOY_ARCH_KEYS, "d_vocab", "seed")}
    with atomic_path(out_dir) as tmp:
        _write_model_dir(tmp, {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, arch,
                         tokenizer_path, metrics)
        for n, weights in sorted(snapshots.items()):
            _write_model_dir(tmp / "steps" / str(n), weights, arch, tokenizer_path,
                             {"step": n, "steps": steps, "seed": seed})
    remove_checkpoint(checkpoint_dir)
    return metrics


def _write_model_dir(d: Path, weights: dict[str, torch.Tensor], arch: dict[str, Any], tokenizer_path: str | Path,
                     metrics: dict[str, Any]) -> None:
    """A directory :func:`load_toy_lm` reads: weights, config, tokenizer and metrics (inside the job's temp dir)."""
    from safetensors.torch import save_file

    d.mkdir(parents=True)
    save_file(weights, str(d / WEIGHTS_FILE))
    (d / CONFIG_FILE).write_text(strict_json.dumps(arch, indent=1))
    shutil.copy(tokenizer_path, d / TOKENIZER_FILE)
    (d / METRICS_FILE).write_text(strict_json.dumps(metrics, indent=1))


def _resumed_snapshots(state: dict[str, Any], wanted: list[int],
                       checkpoint_dir: str | Path | None) -> dict[int, dict[str, torch.Tensor]]:
    """The snapshots a stopped run kept in its checkpoint state (a ValueError naming one that is missing, e.g. a
    run resumed with snapshot steps it did not have)."""
    kept = state.get("snapshots") or {}
    missing = [n for n in wanted if n not in kept]
    if missing:
        raise ValueError(f"resuming toy LM training at step {state['step']}, but the checkpoint has no weight "
                         f"snapshot for step(s) {missing}; delete {checkpoint_dir} to train from the start")
    return {n: {k: v.cpu() for k, v in kept[n].items()} for n in wanted}  # the state loads on the run's device


def load_toy_lm(model_dir: str | Path, device: str = "cpu"):
    """(``HookedTransformer`` in eval mode, tokenizer) of a toy model saved by :func:`train_toy_lm`."""
    from safetensors.torch import load_file
    from transformer_lens import HookedTransformer, HookedTransformerConfig

    model_dir = Path(model_dir)
    cfg = HookedTransformerConfig(**json.loads((model_dir / CONFIG_FILE).read_text()))
    model = HookedTransformer(cfg, move_to_device=False)
    model.load_state_dict(load_file(str(model_dir / WEIGHTS_FILE)))
    return model.to(device).eval(), load_tokenizer(model_dir / TOKENIZER_FILE)


def load_local_lm(path: str | Path, device: str = "cpu"):
    """(``HookedTransformer``, tokenizer) of a Hugging Face causal LM + tokenizer directory, without the hub.

    ``HookedTransformer.from_pretrained`` only accepts official model names, so this uses the same
    TransformerLens functions it calls — ``get_pretrained_model_config`` and
    ``get_pretrained_state_dict``, which accept a local directory — and loads the weights without
    folding or centring, so activations equal the Hugging Face model's.
    """
    from transformer_lens import HookedTransformer
    from transformer_lens import loading_from_pretrained as loading
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = Path(path).resolve()
    if not (path / "config.json").exists():
        raise FileNotFoundError(f"local LM directory {path} has no config.json (save it with save_pretrained)")
    hf_model = AutoModelForCausalLM.from_pretrained(str(path), local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    cfg = loading.get_pretrained_model_config(str(path), device=device, local_files_only=True)
    state = loading.get_pretrained_state_dict(str(path), cfg, hf_model)
    model = HookedTransformer(cfg, tokenizer, move_to_device=False)
    model.load_and_process_state_dict(state, fold_ln=False, center_writing_weights=False, center_unembed=False)
    return model.to(device).eval(), tokenizer


def load_pretrained_lm(name: str, device: str = "cpu"):
    """(``HookedTransformer.from_pretrained_no_processing(name)``, its tokenizer); a clear error naming
    the model and how to point at a local copy when it cannot be fetched."""
    from transformer_lens import HookedTransformer

    try:
        model = HookedTransformer.from_pretrained_no_processing(name, device=device).eval()
    except (OSError, ConnectionError) as e:
        raise ModelUnavailable(
            f"could not load pretrained model {name!r} ({type(e).__name__}: {str(e).splitlines()[0]}). "
            f"Without access to the Hugging Face hub, download it elsewhere (e.g. `huggingface-cli download "
            f"{name} --local-dir DIR`), copy DIR here and use `source: local` with `path: DIR` in its "
            f"lm.models entry") from e
    return model, model.tokenizer


def load_lm(spec: dict[str, Any], model_dir: str | Path | None = None, device: str = "cpu"):
    """(``HookedTransformer``, Hugging Face tokenizer) of a model spec (toy: from ``model_dir``)."""
    source = spec["source"]
    if source == "toy":
        if model_dir is None:
            raise ValueError("a toy LM is loaded from its trained model directory; model_dir is missing")
        return load_toy_lm(model_dir, device)
    if source == "pretrained":
        return load_pretrained_lm(spec["name"], device)
    if source == "local":
        return load_local_lm(spec["path"], device)
    raise ValueError(f"unknown LM source {source!r}; expected one of {list(LM_SOURCES)}")
