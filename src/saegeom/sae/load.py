"""Load saved SAEs and what the comparison needs of them (decoder directions, training metrics)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

METRICS_FILE = "metrics.json"
WEIGHTS_FILE = "sae_weights.safetensors"  # SAELens' file names of a saved SAE
CONFIG_FILE = "cfg.json"


def load_sae(path: str | Path, device: str = "cpu"):
    """Load a saved SAE (inference class) with SAELens; a missing, truncated or corrupt file raises
    an error naming it (``FileNotFoundError`` / ``saegeom.io.tensors.CorruptFileError``)."""
    from sae_lens import SAE

    from saegeom.io.tensors import reading

    path = Path(path)
    for name in (WEIGHTS_FILE, CONFIG_FILE):
        if not (path / name).exists():
            raise FileNotFoundError(f"{path} is not a saved SAE: {name} missing")
    with reading(path / WEIGHTS_FILE, "saved SAE (weights or cfg.json)"):
        return SAE.load_from_disk(str(path), device=device)


def check_input_width(sae, acts, label: str = "") -> None:
    """Raise when ``sae`` (input width ``cfg.d_in``) is applied to a shard set ``acts`` of another width;
    the message names both, before any encoding. Duck-typed encoders without ``cfg.d_in`` are not checked."""
    d_in = getattr(getattr(sae, "cfg", None), "d_in", None)
    if d_in is not None and int(d_in) != acts.d:
        raise ValueError(f"SAE {label} expects inputs of width d_in={d_in}, but the activations {acts.path} "
                         f"have width {acts.d}: was it trained on another model or hook?")


def decoder_directions(sae) -> np.ndarray:
    """(d_sae, d_in) unit-norm decoder rows of an SAE (float64).

    ``sae``: a loaded SAE, or the path of a saved SAELens folder — then only ``W_dec`` is read
    from its ``sae_weights.safetensors``, without importing SAELens (a job that needs no
    encoding starts seconds faster).
    """
    if isinstance(sae, str | Path):
        from safetensors import safe_open

        from saegeom.io.tensors import reading

        with reading(Path(sae) / WEIGHTS_FILE), safe_open(str(Path(sae) / WEIGHTS_FILE), framework="numpy") as f:
            w = f.get_tensor("W_dec").astype(np.float64)
    else:
        w = sae.W_dec.detach().double().cpu().numpy()
    return w / np.maximum(np.linalg.norm(w, axis=1, keepdims=True), 1e-12)


def read_sae_metrics(path: str | Path) -> dict[str, Any]:
    """The ``metrics.json`` written next to a trained SAE."""
    return json.loads((Path(path) / METRICS_FILE).read_text())
