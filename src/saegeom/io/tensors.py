"""Tensors on disk: safetensors with one JSON metadata entry (never pickle)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import SafetensorError, safe_open
from safetensors.numpy import load_file, save_file

from saegeom.io import strict_json
from saegeom.io.atomic import atomic_path

META_KEY = "saegeom"


class CorruptFileError(ValueError):
    """A file on disk cannot be read as what it should be (truncated, not safetensors, bad JSON).

    The message names the file, so a crash at hour 20 points at the file to delete or rewrite."""


@contextmanager
def reading(path: str | Path, what: str = "safetensors file") -> Iterator[None]:
    """Turn the errors a damaged ``path`` raises while being read into a :class:`CorruptFileError` naming it.

    safetensors validates the header and every tensor's byte range against the file size before it
    maps anything, so a truncated file fails at once (it never blocks on a short read)."""
    try:
        yield
    except FileNotFoundError:
        raise
    except (SafetensorError, json.JSONDecodeError, UnicodeDecodeError, OSError, EOFError) as e:
        raise CorruptFileError(f"{path}: cannot read this {what} ({type(e).__name__}: {e}); it is truncated or "
                               f"corrupt — delete it and re-run the rule that writes it") from e


def save_tensors(path: str | Path, tensors: dict[str, np.ndarray], metadata: dict[str, Any]) -> None:
    """Atomically write numpy arrays plus a JSON-serialisable ``metadata`` dict."""
    arrays = {k: np.ascontiguousarray(v) for k, v in tensors.items()}
    with atomic_path(path) as tmp:
        save_file(arrays, str(tmp), metadata={META_KEY: strict_json.dumps(metadata)})


def load_tensors(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read back what :func:`save_tensors` wrote: (arrays, metadata). A damaged file raises
    :class:`CorruptFileError` naming it."""
    with reading(path):
        return load_file(str(path)), read_metadata(path)


def read_metadata(path: str | Path) -> dict[str, Any]:
    """Only the JSON metadata of a safetensors file (does not read the arrays)."""
    with reading(path), safe_open(str(path), framework="numpy") as f:
        meta = f.metadata() or {}
        return json.loads(meta.get(META_KEY, "{}"))
