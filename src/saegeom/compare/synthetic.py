"""Synthetic-world comparisons of two simulated models' SAEs.

Every latent is assigned its ground-truth feature: the model feature with the
highest decoder cosine, if that cosine is at least ``gt_threshold`` (else none).
Subspaces of a pairing are then defined on the pairs:
  ``shared``      the A latent's true feature is shared by every model;
  ``private_a``   the A latent's true feature belongs to A only;
  ``private_b``   the B latent's true feature belongs to B only;
  ``cluster:<c>`` / ``circle:<c>``  the A latent's true feature carries that label.
The ``ground_truth`` pairing pairs, for each shared feature, the best-matching
latent of A with the best-matching latent of B (both at cosine ≥ ``gt_threshold``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from saegeom.compare.pairwise import (
    CompareSettings,
    SAEView,
    compare_pairs,
    matrices_rows,
    whole_dictionary_mmcs_rows,
)
from saegeom.compare.rows import Context
from saegeom.io.shards import ShardSet
from saegeom.pairing import coactivation_stats, decoder_cosine_pairs, pair_features
from saegeom.pairing.correlation import encode_sparse, paired_blocks
from saegeom.pairing.match import CORRELATION_METHODS
from saegeom.sae.train import decoder_directions, split_shards
from saegeom.synthetic.world import World

PAIRING_METHODS = (*CORRELATION_METHODS, "decoder_cosine", "ground_truth")


@dataclass
class PairingSettings:
    methods: list[str] = field(default_factory=lambda: ["many_to_one", "one_to_one", "hungarian",
                                                         "decoder_cosine", "ground_truth"])
    min_corr: float = 0.0
    max_rows: int | None = 200_000
    gt_threshold: float = 0.7

    def __post_init__(self) -> None:
        bad = [m for m in self.methods if m not in PAIRING_METHODS]
        if bad:
            raise ValueError(f"unknown pairing methods {bad}; expected some of {list(PAIRING_METHODS)}")


def latent_ground_truth(world: World, model: str, decoder: np.ndarray,
                        threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """(d_sae,) world feature index of each latent (−1 if below ``threshold``) and its cosine."""
    cos = decoder @ world.gt_features(model).T
    k = cos.argmax(axis=1)
    best = cos[np.arange(len(k)), k]
    idx = np.where(best >= threshold, world.models[model].owned[k], -1)
    return idx, best


def ground_truth_pairs(world: World, model_a: str, model_b: str, dec_a: np.ndarray, dec_b: np.ndarray,
                       threshold: float) -> pd.DataFrame:
    """For each shared feature: (best A latent, best B latent), score = the smaller of the two cosines."""
    ga, gb = world.gt_features(model_a), world.gt_features(model_b)
    ca = ga[world.shared_positions(model_a)] @ dec_a.T  # (n_shared, d_sae)
    cb = gb[world.shared_positions(model_b)] @ dec_b.T
    a, b = ca.argmax(1), cb.argmax(1)
    score = np.minimum(ca.max(1), cb.max(1))
    keep = score >= threshold
    return pd.DataFrame({"a_idx": a[keep].astype(np.int64), "b_idx": b[keep].astype(np.int64),
                         "score": score[keep], "method": "ground_truth"})


def pair_subspaces(world: World, model_a: str, model_b: str, gt_a: np.ndarray, gt_b: np.ndarray,
                   pairs: pd.DataFrame) -> dict[str, np.ndarray]:
    """Boolean masks over the rows of ``pairs`` (see module doc)."""
    fa, fb = gt_a[pairs["a_idx"].to_numpy()], gt_b[pairs["b_idx"].to_numpy()]
    shared = np.isin(fa, world.shared)
    subs = {"all": np.ones(len(pairs), bool), "shared": shared,
            "private_a": (fa >= 0) & ~shared,
            "private_b": (fb >= 0) & ~np.isin(fb, world.shared)}
    return subs | world.label_masks(fa)


def compute_pairs(world: World, model_a: str, model_b: str, sae_a, sae_b, acts_dir: str | Path,
                  settings: PairingSettings, device: str = "cpu") -> pd.DataFrame:
    """All configured pairings of two simulated models' SAEs in one table (column ``method``).

    Correlations are computed on the training shards (the held-out shard is kept
    for the activation representation), at most ``settings.max_rows`` rows.
    """
    sa, sb = ShardSet(Path(acts_dir) / model_a), ShardSet(Path(acts_dir) / model_b)
    dec_a, dec_b = decoder_directions(sae_a), decoder_directions(sae_b)
    frames = []
    corr_methods = [m for m in settings.methods if m in CORRELATION_METHODS]
    stats = None
    if corr_methods or "decoder_cosine" in settings.methods:
        train_ids, _ = split_shards(sa)
        stats = coactivation_stats(sae_a, sa, sae_b, sb, device=device, max_rows=settings.max_rows,
                                   shard_ids=train_ids)
    for m in corr_methods:
        frames.append(pair_features(stats, m, settings.min_corr))
    if "decoder_cosine" in settings.methods and dec_a.shape[1] == dec_b.shape[1]:
        frames.append(decoder_cosine_pairs(dec_a, dec_b, alive_a=stats.alive_a, alive_b=stats.alive_b))
    if "ground_truth" in settings.methods:
        frames.append(ground_truth_pairs(world, model_a, model_b, dec_a, dec_b, settings.gt_threshold))
    return pd.concat(frames, ignore_index=True)


def eval_codes(sae_a, sae_b, acts_dir: str | Path, model_a: str, model_b: str, n_tokens: int,
               device: str = "cpu") -> tuple[np.ndarray, np.ndarray]:
    """Dense codes (n, d_sae_A) and (n, d_sae_B) of both SAEs on the same first ``n`` ≤ ``n_tokens``
    unmasked rows of the held-out shard (rows masked in either model are dropped from both)."""
    sa, sb = ShardSet(Path(acts_dir) / model_a), ShardSet(Path(acts_dir) / model_b)
    _, eval_ids = split_shards(sa)
    blocks = list(paired_blocks(sa, sb, eval_ids, n_tokens))
    xa, xb = (np.concatenate([blk[i] for blk in blocks]) for i in (0, 1))
    return encode_sparse(sae_a, xa, device).toarray(), encode_sparse(sae_b, xb, device).toarray()


def synthetic_comparison_rows(ctx: Context, world: World, model_a: str, model_b: str, view_a: SAEView,
                              view_b: SAEView, pairs: pd.DataFrame, settings: CompareSettings,
                              gt_threshold: float) -> list[dict[str, Any]]:
    """Every row of one A-vs-B comparison: each pairing × subspace × representation × metric ×
    baseline, the whole-dictionary decoder MMCS, and the ground-truth ceiling on the shared features."""
    gt_a, _ = latent_ground_truth(world, model_a, view_a.decoder, gt_threshold)
    gt_b, _ = latent_ground_truth(world, model_b, view_b.decoder, gt_threshold)
    rows = whole_dictionary_mmcs_rows(ctx, view_a, view_b, settings) if "mmcs" in settings.metrics.get("decoder", []) \
        else []
    for method, p in pairs.groupby("method", sort=False):
        p = p.reset_index(drop=True)
        rows += compare_pairs(ctx, view_a, view_b, method, p, pair_subspaces(world, model_a, model_b, gt_a, gt_b, p),
                              settings)
    if "ground_truth" in settings.metrics:
        subs = {"shared": np.ones(len(world.shared), bool)} | world.label_masks(world.shared)
        rows += matrices_rows(ctx, "ground_truth", world.gt_features(model_a)[world.shared_positions(model_a)],
                              world.gt_features(model_b)[world.shared_positions(model_b)], 0, "ground_truth", subs,
                              settings)
    return rows
