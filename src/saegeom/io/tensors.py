"""Tensors on disk: safetensors with one JSON metadata entry (never pickle)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file, save_file

from saegeom.io.atomic import atomic_path

META_KEY = "saegeom"


def save_tensors(path: str | Path, tensors: dict[str, np.ndarray], metadata: dict[str, Any]) -> None:
    """Atomically write numpy arrays plus a JSON-serialisable ``metadata`` dict."""
    arrays = {k: np.ascontiguousarray(v) for k, v in tensors.items()}
    with atomic_path(path) as tmp:
        save_file(arrays, str(tmp), metadata={META_KEY: json.dumps(metadata)})


def load_tensors(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read back what :func:`save_tensors` wrote: (arrays, metadata)."""
    return load_file(str(path)), read_metadata(path)


def read_metadata(path: str | Path) -> dict[str, Any]:
    """Only the JSON metadata of a safetensors file (does not read the arrays)."""
    with safe_open(str(path), framework="numpy") as f:
        meta = f.metadata() or {}
    return json.loads(meta.get(META_KEY, "{}"))
