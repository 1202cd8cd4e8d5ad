"""Nested training state (optimizer, schedulers, counters, RNG) on disk without pickle.

``torch.save`` pickles, and unpickling runs code; a checkpoint here is a directory with one
safetensors file for every tensor and the structure around them in its JSON metadata. Supported
values: dicts (any hashable scalar keys), lists, tuples, str/int/float/bool/None and tensors.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from saegeom.io.atomic import atomic_path
from saegeom.io.tensors import reading

STATE_FILE = "state.safetensors"
META_KEY = "saegeom_state"


def _encode(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, torch.Tensor):
        key = f"t{len(tensors)}"
        tensors[key] = obj.detach().cpu().contiguous()
        return {"__tensor__": key}
    if isinstance(obj, dict):
        return {"__dict__": [[_encode(k, tensors), _encode(v, tensors)] for k, v in obj.items()]}
    if isinstance(obj, tuple):
        return {"__tuple__": [_encode(v, tensors) for v in obj]}
    if isinstance(obj, list):
        return [_encode(v, tensors) for v in obj]
    if obj is None or isinstance(obj, str | bool | int | float):
        return obj
    raise TypeError(f"cannot store a {type(obj).__name__} in a checkpoint (only tensors, containers and scalars)")


def _decode(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, list):
        return [_decode(v, tensors) for v in obj]
    if isinstance(obj, dict):
        if "__tensor__" in obj:
            return tensors[obj["__tensor__"]]
        if "__tuple__" in obj:
            return tuple(_decode(v, tensors) for v in obj["__tuple__"])
        return {_decode(k, tensors): _decode(v, tensors) for k, v in obj["__dict__"]}
    return obj


def save_state(path: str | Path, state: Any) -> None:
    """Atomically write ``state`` (nested containers of tensors and scalars) to the directory ``path``."""
    tensors: dict[str, torch.Tensor] = {}
    structure = _encode(state, tensors)
    with atomic_path(path) as tmp:
        tmp.mkdir()
        save_file(tensors, str(tmp / STATE_FILE), metadata={META_KEY: json.dumps(structure, allow_nan=False)})


def load_state(path: str | Path, device: str = "cpu") -> Any:
    """Read back what :func:`save_state` wrote, tensors on ``device``."""
    from safetensors import safe_open

    file = Path(path) / STATE_FILE
    with reading(file, "checkpoint"):
        tensors = load_file(str(file), device=device)
        with safe_open(str(file), framework="pt") as f:
            structure = json.loads((f.metadata() or {})[META_KEY])
    return _decode(structure, tensors)
