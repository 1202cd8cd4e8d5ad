"""Synthetic worlds as a comparison source: subspaces and true features of pairs, recovery rows.

Every latent gets its ground-truth feature: the model feature with the highest decoder
cosine, if that cosine is at least ``gt_threshold`` (else none). A pair is labelled by
**both** ends (pair selection is part of the statistic — a private feature always
gets *some* partner, so labelling by one end lets selection leak into a subspace):

  ``shared``      both ends are shared features;
  ``private_a``   the A end is private to A and the B end is not a shared feature;
  ``private_b``   the B end is private to B and the A end is not a shared feature;
  ``mixed``       one end is a shared feature, the other is not;
  ``cluster:<c>`` / ``circle:<c>``  both ends' features carry label c.

The ``ground_truth`` pairing pairs, for each shared feature, the best-matching latent
of A with the best-matching latent of B (both at cosine ≥ ``gt_threshold``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from saegeom.compare.core import GroundTruthPairs
from saegeom.compare.rows import Context, row_with_null
from saegeom.sae.load import decoder_directions
from saegeom.synthetic.world import World
from saegeom.utils import derive_seed

RECOVERY_METRICS = ("mmcs", "fraction_recovered", "mcc")
RECOVERY_PAIRING = {"mmcs": "decoder_cosine", "fraction_recovered": "decoder_cosine", "mcc": "hungarian"}


def latent_ground_truth(world: World, model: str, decoder: np.ndarray,
                        threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """(d_sae,) world feature index of each latent (−1 if below ``threshold``) and its cosine."""
    cos = decoder @ world.gt_features(model).T
    k = cos.argmax(axis=1)
    best = cos[np.arange(len(k)), k]
    return np.where(best >= threshold, world.models[model].owned[k], -1), best


def ground_truth_pairs(world: World, model_a: str, model_b: str, dec_a: np.ndarray, dec_b: np.ndarray,
                       threshold: float) -> pd.DataFrame:
    """For each shared feature: (best A latent, best B latent), score = the smaller of the two cosines."""
    ca = world.gt_features(model_a)[world.shared_positions(model_a)] @ dec_a.T  # (n_shared, d_sae)
    cb = world.gt_features(model_b)[world.shared_positions(model_b)] @ dec_b.T
    a, b = ca.argmax(1), cb.argmax(1)
    score = np.minimum(ca.max(1), cb.max(1))
    keep = score >= threshold
    return pd.DataFrame({"a_idx": a[keep].astype(np.int64), "b_idx": b[keep].astype(np.int64),
                         "score": score[keep], "pairing": "ground_truth", "min_score": float(threshold)})


class WorldLabels:
    """``PairLabels`` of a synthetic world for the SAEs of ``model_a`` and ``model_b`` (module doc)."""

    def __init__(self, world: World, model_a: str, model_b: str, sae_a, sae_b, gt_threshold: float = 0.7):
        self.world, self.model_a, self.model_b, self.threshold = world, model_a, model_b, gt_threshold
        self.dec_a, self.dec_b = decoder_directions(sae_a), decoder_directions(sae_b)
        self.gt_a = latent_ground_truth(world, model_a, self.dec_a, gt_threshold)[0]
        self.gt_b = latent_ground_truth(world, model_b, self.dec_b, gt_threshold)[0]

    def masks(self, a_idx: np.ndarray, b_idx: np.ndarray) -> dict[str, np.ndarray]:
        fa, fb = self.gt_a[a_idx], self.gt_b[b_idx]
        sa, sb = np.isin(fa, self.world.shared), np.isin(fb, self.world.shared)
        pa, pb = (fa >= 0) & ~sa, (fb >= 0) & ~sb
        subs = {"all": np.ones(len(a_idx), bool), "shared": sa & sb, "private_a": pa & ~sb,
                "private_b": pb & ~sa, "mixed": sa ^ sb}
        la, lb = self.world.label_masks(fa), self.world.label_masks(fb)
        return subs | {name: la[name] & lb[name] for name in la}

    def ground_truth(self, a_idx: np.ndarray, b_idx: np.ndarray) -> GroundTruthPairs:
        fa, fb = self.gt_a[a_idx], self.gt_b[b_idx]
        valid = (fa >= 0) & (fb >= 0)
        owned_a, owned_b = self.world.models[self.model_a].owned, self.world.models[self.model_b].owned
        pos_a, pos_b = np.searchsorted(owned_a, fa[valid]), np.searchsorted(owned_b, fb[valid])
        pool_b = self.world.gt_features(self.model_b)
        return GroundTruthPairs(valid, self.world.gt_features(self.model_a)[pos_a], pool_b[pos_b], pool_b, pos_b)

    def extra_pairings(self) -> dict[str, pd.DataFrame]:
        return {"ground_truth": ground_truth_pairs(self.world, self.model_a, self.model_b, self.dec_a, self.dec_b,
                                                   self.threshold)}


def recovery_subspaces(world: World, model: str) -> dict[str, np.ndarray]:
    """Boolean masks over ``model``'s owned features: all, shared, private_a and one per
    cluster/circle label present in the world."""
    owned = world.models[model].owned
    role = world.feature_role(model)
    subs = {"all": np.ones(len(owned), bool), "shared": role == "shared", "private_a": role == "private"}
    return subs | world.label_masks(owned)


def ground_truth_recovery_rows(world: World, model: str, decoder: np.ndarray, ctx: Context,
                               n_baseline: int, threshold: float = 0.9) -> list[dict[str, Any]]:
    """How well an SAE's decoder (d_sae, h_m) recovers ``model``'s true features.

    Per subspace of the true features: MMCS (mean over true features of the best
    decoder cosine), fraction recovered at cosine ≥ ``threshold``, and MCC
    (Hungarian one-to-one). Null: the decoder replaced by random directions.
    """
    gt = world.gt_features(model)
    rows = []
    for sub, mask in recovery_subspaces(world, model).items():
        for metric in RECOVERY_METRICS:
            kw: dict[str, Any] = {"threshold": threshold} if metric == "fraction_recovered" else {}
            rows.append(row_with_null(ctx, gt[mask], decoder, metric=metric, subspace=sub,
                                   representation="ground_truth", pairing=RECOVERY_PAIRING[metric],
                                   n_baseline=n_baseline, baseline="random_directions", n_pairs=int(mask.sum()),
                                   seed=derive_seed(ctx.seed, ctx.comparison, sub, metric), min_pairs=1, **kw))
    return rows
