"""Small shared helpers: derived seeds, device choice, config hashing."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def resolve_device(device: str = "auto") -> str:
    """Map the config's ``device`` to a torch device string.

    ``auto`` picks CUDA when a GPU is visible and falls back to CPU, so GPU rules
    still run on machines without one. torch is imported here, not at module level, so
    jobs that never touch a device start without it (issue 18: job start < 2 s).
    """
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device {device!r} requested but CUDA is not available")
    return device


def derive_seed(seed: int, *names: str) -> int:
    """A stable child seed for a named sub-task (independent of Python's hash salt)."""
    h = hashlib.sha256(json.dumps([seed, *names]).encode()).hexdigest()
    return int(h[:8], 16)


def config_hash(cfg: Any) -> str:
    """Short stable hash of a JSON-serialisable config fragment (key order ignored)."""
    blob = json.dumps(cfg, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


class ModelUnavailable(RuntimeError):
    """A pretrained model (or SAE) could not be loaded, typically because the hub is unreachable.

    Defined here, below every package, because both ``saegeom.lm`` (models, tokenizers) and ``saegeom.sae``
    (pretrained SAEs) raise it; ``saegeom.lm.models`` re-exports it."""
