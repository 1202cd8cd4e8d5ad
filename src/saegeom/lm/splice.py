"""CE-loss recovered and KL of an SAE spliced into its language model's forward pass.

Reuses SAELens' own ``sae_lens.evals.get_recons_loss`` (the hook output replaced by the SAE's
reconstruction, and by zeros for the ablation baseline) on batches of held-out stories, and
averages over real tokens only (padding and BOS left out), as SAELens' ``run_evals`` does:

  ``ce_loss_recovered`` = (CE_zero − CE_sae) / (CE_zero − CE_clean)   (1 = perfect, 0 = no better than ablation;
                         NaN when ablating the hook does not raise the loss, e.g. an untrained model)
  ``kl_div_with_sae``    = mean KL(clean ‖ spliced) over positions (nats)
"""

from __future__ import annotations

import numpy as np
import torch

from saegeom.lm.tokenizer import pad_batch


@torch.no_grad()
def spliced_loss(model, sae, hook: str, seqs: list[np.ndarray], pad_id: int, bos_id: int,
                 batch_size: int = 32) -> dict[str, float]:
    """CE losses (clean, with SAE, zero-ablated), CE-loss recovered and KL on ``seqs`` (lists of token ids).

    ``model``: a ``HookedTransformer``; ``sae``: a SAELens SAE whose input is ``hook``'s output.
    """
    from sae_lens.evals import get_recons_loss
    from sae_lens.training.activation_scaler import ActivationScaler

    if not seqs:
        raise ValueError("no held-out stories to splice the SAE into")
    sums = {"ce_loss_without_sae": 0.0, "ce_loss_with_sae": 0.0, "ce_loss_with_ablation": 0.0,
            "kl_div_with_sae": 0.0, "kl_div_with_ablation": 0.0}
    n_ce = n_kl = 0
    sae.eval()
    for start in range(0, len(seqs), batch_size):
        tokens, mask = pad_batch(seqs[start : start + batch_size], pad_id)
        t = torch.from_numpy(tokens).to(model.cfg.device)
        m = torch.from_numpy(mask).to(model.cfg.device)
        out = get_recons_loss(sae, model, ActivationScaler(), t, compute_kl=True, compute_ce_loss=True,
                              ignore_tokens=sorted({pad_id, bos_id}), hook_name=hook)
        ce_mask = m[:, :-1] & m[:, 1:]  # a real token predicting a real token
        for k in ("ce_loss_without_sae", "ce_loss_with_sae", "ce_loss_with_ablation"):
            sums[k] += out[k][ce_mask].double().sum().item()
        for k in ("kl_div_with_sae", "kl_div_with_ablation"):
            sums[k] += out[k][m].double().sum().item()
        n_ce += int(ce_mask.sum())
        n_kl += int(m.sum())
    res = {k: v / (n_ce if k.startswith("ce") else n_kl) for k, v in sums.items()}
    gap = res["ce_loss_with_ablation"] - res["ce_loss_without_sae"]
    res["ce_loss_recovered"] = (res["ce_loss_with_ablation"] - res["ce_loss_with_sae"]) / gap if gap > 0 \
        else float("nan")
    res["n_splice_tokens"] = n_ce
    return res
