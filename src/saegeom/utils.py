"""Small shared helpers: derived seeds, device choice, config hashing."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any


def resolve_device(device: str = "auto") -> str:
    """Map the config's ``device`` to a torch device string.

    ``auto`` picks CUDA when a GPU is visible and falls back to CPU, so GPU rules
    still run on machines without one. torch is imported here, not at module level, so
    jobs that never touch a device start without it (job start under 2 s).
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


def user_cache_file(name: str) -> Path:
    """``$XDG_CACHE_HOME/saegeom/<name>`` (``~/.cache/saegeom/<name>``): where facts read from installed
    libraries (SAELens fields, TransformerLens hook points) are cached per library version."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "saegeom" / name


def read_json_cache(file: Path) -> Any:
    """The JSON in ``file``, or None when it is missing or unreadable (a cache, never an error)."""
    try:
        return json.loads(file.read_text())
    except (OSError, ValueError):
        return None


def write_json_cache(file: Path, value: Any) -> Any:
    """Write ``value`` as JSON to ``file`` atomically, best effort (a read-only home only costs the
    computation next time); returns ``value``."""
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        tmp = file.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(value, allow_nan=False, default=str))
        tmp.replace(file)
    except OSError:
        pass
    return value
