"""Compare two SAEs through a pairing of their features: every (subspace, representation,
metric, baseline) becomes a row of the metrics table.

Representations (ARCHITECTURE.md):
  ``decoder``      items = pairs; X = unit decoder rows of the A latents (n_pairs, d_model_A),
                   Y = those of their B partners (n_pairs, d_model_B);
  ``activations``  items = tokens; X = activations of the paired A latents on held-out tokens
                   (n_tokens, n_pairs), Y = their B partners' on the same tokens. A subspace
                   selects columns (pairs), so its random-subset baseline draws columns;
  ``ground_truth`` items = true shared features, in each model's basis (synthetic ceiling).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from saegeom.compare.rows import Context, tested_row
from saegeom.metrics.registry import get_metric
from saegeom.utils import derive_seed

LABELLED_PREFIXES = ("cluster:", "circle:", "group:", "discovered:")
DEFAULT_METRICS = {
    "decoder": ["mmcs", "svcca", "pwcca", "linear_cka", "rsa", "mutual_knn", "jaccard_knn",
                "orthogonal_procrustes", "permutation_procrustes", "soft_matching"],
    "activations": ["svcca", "pwcca", "linear_cka", "rsa", "mutual_knn", "jaccard_knn",
                    "orthogonal_procrustes", "permutation_procrustes", "soft_matching"],
    "ground_truth": ["mmcs", "svcca", "linear_cka", "rsa", "mutual_knn", "orthogonal_procrustes"],
}
DEFAULT_BASELINES = {
    "decoder": ["shuffle", "random_subset", "mismatched"],
    "activations": ["shuffle", "random_subset", "random_sparse"],
    "ground_truth": ["shuffle"],
}


@dataclass
class CompareSettings:
    """What to compute for each pairing. ``metric_options``: per-metric keyword
    arguments (e.g. ``{"mutual_knn": {"k": 10}}``); ``min_pairs``: subspaces with
    fewer pairs get a NaN row with a note."""

    metrics: dict[str, list[str]] = field(default_factory=lambda: {k: list(v) for k, v in DEFAULT_METRICS.items()})
    baselines: dict[str, list[str]] = field(default_factory=lambda: {k: list(v) for k, v in DEFAULT_BASELINES.items()})
    metric_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    n_baseline: int = 1000
    min_pairs: int = 3

    def __post_init__(self) -> None:
        for rep, names in self.metrics.items():
            for name in names:
                get_metric(name)  # unknown names fail here, before any work
            if rep not in DEFAULT_METRICS:
                raise ValueError(f"unknown representation {rep!r}; expected one of {sorted(DEFAULT_METRICS)}")


@dataclass
class SAEView:
    """What a comparison needs of one SAE: ``decoder`` (d_sae, d_model) unit rows and
    ``codes`` (n_tokens, d_sae) activations on held-out tokens shared with the other SAE."""

    decoder: np.ndarray
    codes: np.ndarray | None = None


def _baselines_for(settings: CompareSettings, rep: str, subspace: str, metric: str) -> list[str]:
    out = []
    for b in settings.baselines.get(rep, []):
        if b == "random_subset" and subspace == "all":
            continue  # a random subset of everything is everything
        if b == "mismatched" and not subspace.startswith(LABELLED_PREFIXES):
            continue
        if b == "shuffle" and rep != "activations" and not get_metric(metric).pairing_sensitive:
            b = "random_directions"  # re-pairing rows does not move a pairing-free measure
        out.append(b)
    return out


def select_pairs(m: np.ndarray, mask: np.ndarray, axis: int) -> np.ndarray:
    """The pairs ``mask`` selects from a matrix holding one pair per row (axis 0) or column (axis 1)."""
    return m[mask] if axis == 0 else m[:, mask]


def _family(subspace: str) -> str:
    return subspace.split(":", 1)[0]


def matrices_rows(ctx: Context, rep: str, x_all: np.ndarray, y_all: np.ndarray, axis: int, pairing: str,
                  subspaces: dict[str, np.ndarray], settings: CompareSettings,
                  skip: frozenset[tuple[str, str]] = frozenset()) -> list[dict[str, Any]]:
    """Rows for one representation: ``x_all``/``y_all`` hold every pair along ``axis``
    (0 = rows are pairs, 1 = columns are pairs); ``subspaces`` are boolean masks over pairs;
    ``skip`` lists (subspace, metric) combinations another function reports."""
    rows = []
    for sub, mask in subspaces.items():
        x, y = select_pairs(x_all, mask, axis), select_pairs(y_all, mask, axis)
        others = [select_pairs(y_all, m, axis) for s, m in subspaces.items()
                  if s != sub and _family(s) == _family(sub) and s.startswith(LABELLED_PREFIXES) and m.any()]
        for metric in settings.metrics.get(rep, []):
            if (sub, metric) in skip:
                continue
            for baseline in _baselines_for(settings, rep, sub, metric):
                if baseline == "mismatched" and not others:
                    continue
                rows.append(tested_row(
                    ctx, x, y, metric=metric, subspace=sub, representation=rep, pairing=pairing,
                    n_baseline=settings.n_baseline, baseline=baseline, min_items=settings.min_pairs,
                    n_features=int(mask.sum()), pool=(x_all, y_all), others=others, axis=axis,
                    seed=derive_seed(ctx.seed, ctx.comparison, pairing, rep, sub, metric, baseline),
                    **settings.metric_options.get(metric, {})))
    return rows


def whole_dictionary_mmcs_rows(ctx: Context, a: SAEView, b: SAEView, settings: CompareSettings) -> list[dict[str, Any]]:
    """MMCS of the whole dictionaries (every decoder row of A → best row of B), against random
    directions; reported as pairing ``decoder_cosine``, subspace ``all``. Only defined when both
    models have the same width; otherwise one NaN row whose note says why."""
    return [tested_row(ctx, a.decoder, b.decoder, metric="mmcs", subspace="all", representation="decoder",
                       pairing="decoder_cosine", n_baseline=settings.n_baseline, baseline="random_directions",
                       seed=derive_seed(ctx.seed, ctx.comparison, "whole_dictionary_mmcs"))]


def compare_pairs(ctx: Context, a: SAEView, b: SAEView, pairing: str, pairs: pd.DataFrame,
                  subspaces: dict[str, np.ndarray], settings: CompareSettings) -> list[dict[str, Any]]:
    """Decoder and activation rows for one pairing (``pairs``: a_idx, b_idx, ...).

    Under ``decoder_cosine`` pairing, decoder ``mmcs`` on ``all`` is the whole-dictionary MMCS
    (:func:`whole_dictionary_mmcs_rows`), which the caller adds once per comparison.
    """
    ia, ib = pairs["a_idx"].to_numpy(), pairs["b_idx"].to_numpy()
    rows = []
    if "decoder" in settings.metrics:
        skip = frozenset({("all", "mmcs")}) if pairing == "decoder_cosine" else frozenset()
        rows += matrices_rows(ctx, "decoder", a.decoder[ia], b.decoder[ib], 0, pairing, subspaces, settings, skip)
    if "activations" in settings.metrics and a.codes is not None and b.codes is not None:
        rows += matrices_rows(ctx, "activations", a.codes[:, ia], b.codes[:, ib], 1, pairing, subspaces, settings)
    return rows
