"""SAE training (SAELens) on activation shards, evaluation, and loading.

    from saegeom.sae import train_sae, load_sae, decoder_directions
    train_sae("results/worlds/w/acts/a", {"architecture": "topk", "d_sae": 256, "k": 4}, "sae_a")
    sae = load_sae("sae_a")
    dec = decoder_directions(sae)      # (d_sae, d_in) unit rows

Training and evaluation import torch; they load on first use (PEP 562 ``__getattr__``), so a job
that only reads decoder rows (``saegeom.sae.load``) starts without torch.
"""

from saegeom.sae.load import METRICS_FILE, decoder_directions, load_sae, read_sae_metrics

_LAZY = {"evaluate_sae": "saegeom.sae.evaluate", "build_training_sae": "saegeom.sae.train",
         "train_sae": "saegeom.sae.train"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'saegeom.sae' has no attribute {name!r}")


__all__ = ["METRICS_FILE", "build_training_sae", "decoder_directions", "evaluate_sae", "load_sae",
           "read_sae_metrics", "train_sae"]
