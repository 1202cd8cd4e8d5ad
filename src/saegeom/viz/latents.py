"""``latents.parquet`` of the feature cache: one row per SAE latent.

Columns (``LATENTS_SCHEMA``): ``latent`` (int32, 0..d_sae−1), ``frequency`` (share of unmasked
tokens where the latent fires), ``mean_activation`` (over tokens where it fires; NaN when never),
``max_activation``, ``top_tokens`` (list of up to 10 token strings; empty for synthetic SAEs),
``label`` (tooltip text), ``group`` (keyword group / GT cluster or circle, or null), ``is_concept``.

The language-model stage writes the same table with top tokens; this module builds it for the
SAEs of synthetic worlds from the world's ground truth. Schema, reader and writer live in
``saegeom.features.latents`` (re-exported here).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from saegeom.features.latents import LATENTS_SCHEMA, read_latents, write_latents

__all__ = ["LATENTS_SCHEMA", "activation_stats", "read_latents", "synthetic_latents_table", "write_latents"]

def activation_stats(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per latent of ``codes`` (n_tokens, d_sae): (frequency, mean activation where it fires
    (NaN when never), max activation (0 when never))."""
    fires = codes > 0
    count = fires.sum(0)
    freq = count / max(len(codes), 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, np.where(fires, codes, 0).sum(0) / count, np.nan)
    top = codes.max(0) if len(codes) else np.zeros(codes.shape[1])
    return freq.astype(np.float64), mean.astype(np.float64), np.maximum(top, 0).astype(np.float64)


def synthetic_latents(world, model: str, decoder: np.ndarray, codes: np.ndarray,
                      gt_threshold: float) -> pd.DataFrame:
    """``latents.parquet``-shaped table of one SAE of a synthetic world's ``model``.

    ``decoder``: (d_sae, h_m) unit decoder rows; ``codes``: (n_tokens, d_sae) SAE codes of held-out
    tokens. Each latent's label names its ground-truth feature (best decoder cosine ≥
    ``gt_threshold``, as the comparison's subspaces do), whether that feature is shared by every
    model or private, and its cluster/circle: ``"gt 17 · shared · cluster 3"``; latents without a
    true feature: ``"no gt feature (best cos 0.42)"``. ``group``: ``"cluster 3"`` / ``"circle 2"``
    or null; ``top_tokens``: empty; ``is_concept``: True.
    """
    from saegeom.compare.worlds import latent_ground_truth

    if codes.shape[1] != decoder.shape[0]:
        raise ValueError(f"codes have {codes.shape[1]} latents, the decoder {decoder.shape[0]}")
    feature, cosine = latent_ground_truth(world, model, decoder, gt_threshold)
    shared = set(world.shared.tolist())
    labels: list[str] = []
    groups: list[str | None] = []
    for f, c in zip(feature, cosine, strict=True):
        if f < 0:
            labels.append(f"no gt feature (best cos {c:.2f})")
            groups.append(None)
            continue
        parts = [f"gt {f}", "shared" if f in shared else "private"]
        group = None
        for kind in ("cluster", "circle"):
            if kind in world.labels and world.labels[kind][f] >= 0:
                group = f"{kind} {int(world.labels[kind][f])}"
                parts.append(group)
        labels.append(" · ".join(parts))
        groups.append(group)
    freq, mean, top = activation_stats(codes)
    return pd.DataFrame({"latent": np.arange(len(feature), dtype=np.int32), "frequency": freq,
                         "mean_activation": mean, "max_activation": top,
                         "top_tokens": [[] for _ in feature], "label": labels, "group": groups,
                         "is_concept": np.ones(len(feature), bool)})


def synthetic_latents_table(world: str | Path, acts: str | Path, model: str, sae: str | Path,
                            gt_threshold: float, device: str = "cpu") -> pd.DataFrame:
    """Load a world, an SAE and the model's held-out shard (the last one), then ``synthetic_latents``."""
    from saegeom.io.shards import ShardSet, split_shards
    from saegeom.pairing.correlation import encode_sparse
    from saegeom.sae.load import decoder_directions, load_sae
    from saegeom.synthetic.world import World

    shards = ShardSet(acts)
    held_out = np.concatenate([shards.shard_valid(i) for i in split_shards(shards)[1]])
    model_sae = load_sae(sae, device)
    codes = encode_sparse(model_sae, held_out, device).toarray()
    return synthetic_latents(World.load(world), model, decoder_directions(model_sae), codes, gt_threshold)
