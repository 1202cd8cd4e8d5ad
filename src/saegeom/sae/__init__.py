"""SAE training (SAELens) on activation shards, evaluation, and loading.

    from saegeom.sae import train_sae, load_sae, decoder_directions
    train_sae("results/worlds/w/acts/a", {"architecture": "topk", "d_sae": 256, "k": 4}, "sae_a")
    sae = load_sae("sae_a")
    dec = decoder_directions(sae)      # (d_sae, d_in) unit rows
"""

from saegeom.sae.evaluate import evaluate_sae
from saegeom.sae.load import METRICS_FILE, decoder_directions, load_sae, read_sae_metrics
from saegeom.sae.train import build_training_sae, train_sae

__all__ = ["METRICS_FILE", "build_training_sae", "decoder_directions", "evaluate_sae", "load_sae",
           "read_sae_metrics", "train_sae"]
