"""Periodic checkpoints of training (SAEs here; toy LMs reuse the policy) and exact resumption after a crash.

SAELens' ``SAETrainer`` can save checkpoints, but stores its trainer state with ``torch.save`` (pickle) and
has no resume entry point; :class:`CheckpointingTrainer` saves the same state (the fields of SAELens'
``save_trainer_state``) plus the SAE's weights, the torch RNG and the number of batches drawn from the data
stream, through ``saegeom.io.state`` (safetensors + JSON, no pickle). Resuming restores all of it and skips
the batches already consumed (by re-drawing them from the seeded stream, which re-reads those shards but
trains nothing), so on the same machine a resumed run ends with the same weights as an uninterrupted one.

A checkpoint carries a fingerprint (spec, seed, data, SAELens version); a checkpoint of another run is
ignored (logged) and training starts fresh.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from saegeom.io.state import load_state, save_state
from saegeom.settings import CHECKPOINT_DEFAULTS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckpointPolicy:
    """When to checkpoint: every ``every_minutes`` of wall time and/or every ``every_steps`` steps
    (0 = not by steps); ``enabled: False`` turns checkpoints (and resuming) off."""

    enabled: bool = CHECKPOINT_DEFAULTS["enabled"]
    every_minutes: float = CHECKPOINT_DEFAULTS["every_minutes"]
    every_steps: int = CHECKPOINT_DEFAULTS["every_steps"]

    def due(self, steps_done: int, seconds_since_last: float) -> bool:
        """Whether to checkpoint after ``steps_done`` steps, ``seconds_since_last`` after the last one."""
        by_steps = self.every_steps > 0 and steps_done % self.every_steps == 0
        return self.enabled and (by_steps or seconds_since_last >= 60 * self.every_minutes)


def resumable_state(checkpoint_dir: str | Path | None, policy: CheckpointPolicy, fingerprint: str,
                    device: str = "cpu") -> dict[str, Any] | None:
    """The state saved in ``checkpoint_dir`` by the same run (same ``fingerprint``), or None; a checkpoint
    of another run is deleted with a warning."""
    if checkpoint_dir is None or not policy.enabled or not Path(checkpoint_dir).exists():
        return None
    state = load_state(checkpoint_dir, device=device)
    if state.get("fingerprint") != fingerprint:
        log.warning("ignoring checkpoint %s: it belongs to another run (spec, seed or data changed)", checkpoint_dir)
        shutil.rmtree(checkpoint_dir)
        return None
    return state


class CountingIterator:
    """Wraps the data stream and counts the batches drawn, so a resumed run can skip them."""

    def __init__(self, it: Iterator[Any], skip: int = 0):
        self.it, self.n = it, 0
        for _ in range(skip):
            next(self)

    def __iter__(self) -> CountingIterator:
        return self

    def __next__(self) -> Any:
        batch = next(self.it)
        self.n += 1
        return batch


class TrainingDivergedError(FloatingPointError):
    """SAE training produced a non-finite loss or non-finite weights; the message names the step, the loss
    terms and what to change. Raised before anything is written (no SAE folder, no checkpoint)."""


def _trainer_class():
    from sae_lens.training.sae_trainer import SAETrainer

    class CheckpointingTrainer(SAETrainer):
        """SAELens' trainer with saegeom checkpoints (see the module docstring)."""

        def __init__(self, *args, checkpoint_dir: Path | None = None, policy: CheckpointPolicy = CheckpointPolicy(),
                     fingerprint: str = "", **kw):
            super().__init__(*args, **kw)
            self.checkpoint_dir, self.policy, self.fingerprint = checkpoint_dir, policy, fingerprint
            self._last_save = time.monotonic()
            self.resumed_from_step: int | None = None

        def step(self, batch):
            """SAELens' step, then the loss must be finite: a diverged run stops at the step it diverged."""
            out = super().step(batch)
            if not bool(torch.isfinite(out.loss).all()):
                terms = {k: float(v.detach()) for k, v in out.losses.items() if hasattr(v, "item")}
                self._diverged(f"loss {float(out.loss.detach())} at step {self.n_training_steps + 1} (terms {terms})")
            return out

        def _diverged(self, what: str) -> None:
            raise TrainingDivergedError(
                f"SAE training diverged: {what}. Nothing was written; lower `lr` (now {self.cfg.lr}), add "
                f"lr_warm_up_steps, or check the activations' scale")

        def check_weights(self, steps_done: int | None = None) -> None:
            """Raise :class:`TrainingDivergedError` when any SAE parameter is NaN/Inf after ``steps_done`` steps."""
            bad = [n for n, t in self.sae.named_parameters() if not bool(torch.isfinite(t).all())]
            if bad:
                done = self.n_training_steps if steps_done is None else steps_done
                self._diverged(f"non-finite weights {bad} after step {done}")

        def _checkpoint_if_needed(self) -> None:  # called after every step, before n_training_steps += 1
            if self.checkpoint_dir is None:
                return
            done = self.n_training_steps + 1
            if (self.policy.due(done, time.monotonic() - self._last_save)
                    and self.n_training_samples < self.cfg.total_training_samples):
                self.check_weights(done)  # never checkpoint a diverged state
                save_state(self.checkpoint_dir, self.state(done))
                self._last_save = time.monotonic()
                log.info("checkpoint at step %d (%d samples) -> %s", done, self.n_training_samples,
                         self.checkpoint_dir)

        def state(self, steps_done: int) -> dict[str, Any]:
            scaler = self.activation_scaler
            whitening = None if scaler.whitening is None else dict(vars(scaler.whitening))
            return {
                "fingerprint": self.fingerprint,
                "sae": self.sae.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "lr_scheduler": self.lr_scheduler.state_dict(),
                "coefficient_schedulers": {k: s.state_dict() for k, s in self.coefficient_schedulers.items()},
                "n_training_samples": self.n_training_samples,
                "n_training_steps": steps_done,
                "act_freq_scores": self.act_freq_scores,
                "n_forward_passes_since_fired": self.n_forward_passes_since_fired,
                "n_frac_active_samples": self.n_frac_active_samples,
                "started_fine_tuning": self.started_fine_tuning,
                "scaling_factor": scaler.scaling_factor,
                "whitening": whitening,
                "batches_drawn": self.data_provider.n,
                "torch_rng": torch.get_rng_state(),
            }

        def restore(self, state: dict[str, Any]) -> None:
            self.sae.load_state_dict(state["sae"])
            self.optimizer.load_state_dict(state["optimizer"])
            self.lr_scheduler.load_state_dict(state["lr_scheduler"])
            for k, s in state["coefficient_schedulers"].items():
                self.coefficient_schedulers[k].load_state_dict(s)
            for k in ("n_training_samples", "n_training_steps", "act_freq_scores", "n_forward_passes_since_fired",
                      "n_frac_active_samples", "started_fine_tuning"):
                setattr(self, k, state[k])
            self.activation_scaler.scaling_factor = state["scaling_factor"]
            if state["whitening"] is not None:
                from sae_lens.training.activation_scaler import ActivationWhitening

                self.activation_scaler.whitening = ActivationWhitening(**state["whitening"])
            torch.set_rng_state(state["torch_rng"])
            self.resumed_from_step = state["n_training_steps"]

    return CheckpointingTrainer


def make_trainer(trainer_cfg, sae, data: Iterator[Any], *, checkpoint_dir: str | Path | None,
                 policy: CheckpointPolicy, fingerprint: str):
    """A trainer that checkpoints to ``checkpoint_dir`` and, when a checkpoint with the same
    ``fingerprint`` is there, continues from it (the data stream skips the batches it had drawn)."""
    checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
    state = resumable_state(checkpoint_dir, policy, fingerprint, trainer_cfg.device)
    stream = CountingIterator(data, skip=state["batches_drawn"] if state else 0)
    trainer = _trainer_class()(cfg=trainer_cfg, sae=sae, data_provider=stream, checkpoint_dir=checkpoint_dir,
                               policy=policy, fingerprint=fingerprint)
    if state is not None:
        trainer.restore(state)
        log.info("resumed from checkpoint %s at step %d (%d samples)", checkpoint_dir, trainer.n_training_steps,
                 trainer.n_training_samples)
    return trainer


def remove_checkpoint(checkpoint_dir: str | Path | None) -> None:
    """Delete a finished run's checkpoint."""
    if checkpoint_dir is not None and Path(checkpoint_dir).exists():
        shutil.rmtree(checkpoint_dir)
