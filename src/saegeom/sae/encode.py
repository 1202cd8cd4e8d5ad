"""The one place SAE codes are computed from activations (pairing, comparisons, feature caches, groups).

``encode_rows`` encodes rows ``x`` (n, d_in) into codes (n, d_sae), float32, on the SAE's device, without
gradients; ``encode_batches`` does it ``batch_size`` rows at a time. With ``nonnegative=True`` negative codes
raise: the sparse co-activation statistics (``saegeom.pairing``) assume non-negative codes, which every
SAELens architecture used here (ReLU, TopK, BatchTopK, JumpReLU) produces. torch is imported inside the
functions, so importing this module (and ``saegeom.pairing``) does not start torch.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np


def encode_rows(sae: Any, x: Any, device: str = "cpu", *, nonnegative: bool = False) -> Any:
    """Codes (n, d_sae) float32 tensor on ``device`` of rows ``x`` (n, d_in; numpy or torch)."""
    import torch

    with torch.no_grad():
        z = sae.encode(torch.as_tensor(x, device=device, dtype=torch.float32)).float()
    if nonnegative and (z < 0).any():
        raise ValueError("SAE produced negative activations; sparse correlation assumes non-negative codes")
    return z


def encode_batches(sae: Any, x: np.ndarray, device: str = "cpu", batch_size: int = 2048, *,
                   nonnegative: bool = False) -> Iterator[Any]:
    """:func:`encode_rows` of ``x`` (n, d_in) in consecutive blocks of ``batch_size`` rows."""
    for start in range(0, len(x), batch_size):
        yield encode_rows(sae, x[start : start + batch_size], device, nonnegative=nonnegative)
