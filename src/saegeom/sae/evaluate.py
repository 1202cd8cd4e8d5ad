"""Training metrics of an SAE on held-out activation rows."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch


@torch.no_grad()
def evaluate_sae(sae, batches: Iterable[np.ndarray | torch.Tensor], device: str = "cpu") -> dict[str, float]:
    """Stream ``batches`` of (n, d_in) activations through ``sae``.

    Returns
      ``l0``: mean number of non-zero latents per row;
      ``normalized_mse``: Σ‖x − x̂‖² / Σ‖x‖²;
      ``explained_variance``: 1 − Σ‖x − x̂‖² / Σ‖x − x̄‖² (x̄ the eval-set mean);
      ``dead_latents`` / ``dead_fraction``: latents that never fired on these rows;
      ``n_eval_rows``.
    Sums are accumulated in float64; the variance uses Σ‖x‖² − n‖x̄‖².
    """
    sae.eval()
    d_sae = sae.cfg.d_sae
    fired = torch.zeros(d_sae, dtype=torch.bool, device=device)
    n = 0
    l0_sum = err = sq = 0.0
    x_sum = None
    for batch in batches:
        x = torch.as_tensor(batch, device=device, dtype=torch.float32)
        z = sae.encode(x)
        x_hat = sae.decode(z)
        active = z != 0
        fired |= active.any(0)
        l0_sum += active.sum().item()
        xd = x.double()
        err += (x_hat.double() - xd).pow(2).sum().item()
        sq += xd.pow(2).sum().item()
        x_sum = xd.sum(0) if x_sum is None else x_sum + xd.sum(0)
        n += x.shape[0]
    if n == 0:
        raise ValueError("no evaluation rows")
    assert x_sum is not None  # n > 0: at least one batch was summed
    total_var = sq - (x_sum.pow(2).sum().item() / n)
    dead = int((~fired).sum().item())
    return {
        "l0": l0_sum / n,
        "normalized_mse": err / sq,
        "explained_variance": 1 - err / total_var,
        "dead_latents": dead,
        "dead_fraction": dead / d_sae,
        "n_eval_rows": n,
    }
