"""Ground-truth recovery: how well one SAE recovers its model's true features."""

from __future__ import annotations

from typing import Any

import numpy as np

from saegeom.compare.rows import Context, tested_row
from saegeom.synthetic.world import World
from saegeom.utils import derive_seed

GT_METRICS = ("mmcs", "fraction_recovered", "mcc")
GT_PAIRING = {"mmcs": "decoder_cosine", "fraction_recovered": "decoder_cosine", "mcc": "hungarian"}


def gt_subspaces(world: World, model: str) -> dict[str, np.ndarray]:
    """Boolean masks over ``model``'s owned features: all, shared, private_a and
    one per cluster/circle label present in the world."""
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
    for sub, mask in gt_subspaces(world, model).items():
        for metric in GT_METRICS:
            kw = {"threshold": threshold} if metric == "fraction_recovered" else {}
            rows.append(tested_row(ctx, gt[mask], decoder, metric=metric, subspace=sub,
                                   representation="ground_truth", pairing=GT_PAIRING[metric],
                                   n_baseline=n_baseline, baseline="random_directions",
                                   seed=derive_seed(ctx.seed, ctx.comparison, sub, metric), min_items=1, **kw))
    return rows
