"""SAE training (SAELens) on activation shards, and training metrics."""

from saegeom.sae.evaluate import evaluate_sae
from saegeom.sae.train import build_training_sae, load_sae, train_sae

__all__ = ["build_training_sae", "evaluate_sae", "load_sae", "train_sae"]
