"""Metric validation: which similarity measure separates shared from non-shared structure?

No existing tool does this, so it is written here. A family of synthetic worlds
sweeps the shared fraction (e.g. 0, .25, .5, .75, 1) over several seeds; each
world has two models in different bases (e.g. identity vs random rotation). For
every world an SAE is trained per model, latents are paired by activation
correlation, and every metric is computed on the ``all``, ``shared``,
``private_a`` and ``private_b`` subspaces of both representations.

Summary statistics per (representation, metric), oriented so that higher means
"the metric behaves as it should" (distances are negated first):
  ``spearman_vs_shared_fraction``  rank correlation of the ``all`` score with the shared fraction;
  ``auroc_shared_vs_private``      P(score on a shared subspace > score on a private one), pooled
                                   over worlds (Mann-Whitney U / (n₁n₂)); 0.5 = no separation.
Caveat: shared and private subspaces differ in size, and size-sensitive measures
(CCA variants with few items) carry that bias into the AUROC.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from scipy.stats import mannwhitneyu, spearmanr
from tqdm.auto import tqdm

from saegeom.compare.pairwise import select_pairs
from saegeom.compare.synthetic import (
    PairingSettings,
    compute_pairs,
    eval_codes,
    latent_ground_truth,
    pair_subspaces,
)
from saegeom.metrics.registry import get_metric
from saegeom.sae.train import decoder_directions, load_sae, train_sae
from saegeom.synthetic.world import build_world, write_paired_shards
from saegeom.utils import derive_seed

VALIDATION_SCHEMA = pa.schema([
    ("statistic", pa.string()),          # value | spearman_vs_shared_fraction | auroc_shared_vs_private
    ("representation", pa.string()),
    ("metric", pa.string()),
    ("subspace", pa.string()),           # for statistic == value; "" for summaries
    ("shared_fraction", pa.float64()),   # NaN for summaries
    ("seed", pa.int64()),                # -1 for summaries
    ("value", pa.float64()),
    ("n", pa.int64()),                   # paired items (value rows) or observations (summaries)
])
SUBSPACES = ("all", "shared", "private_a", "private_b")
COLORS = {"decoder": "C0", "activations": "C1"}


def _world_rows(cfg: dict[str, Any], fraction: float, seed: int, work: Path, device: str) -> list[dict[str, Any]]:
    wcfg = {**cfg["world"], "shared_fraction": fraction}
    model_a, model_b = list(wcfg["models"])[:2]
    world = build_world(f"validation_f{fraction}_s{seed}", wcfg, seed)
    acts = work / "acts"
    write_paired_shards(world, acts, wcfg["n_samples"], wcfg["shard_rows"])
    saes = {}
    for m in (model_a, model_b):
        train_sae(acts / m, cfg["sae"], work / m, seed=derive_seed(seed, m), device=device)
        saes[m] = load_sae(work / m, device)
    pairs = compute_pairs(world, model_a, model_b, saes[model_a], saes[model_b], acts,
                          PairingSettings(methods=[cfg["pairing"]], gt_threshold=cfg["gt_threshold"]), device)
    dec = {m: decoder_directions(saes[m]) for m in saes}
    codes = dict(zip((model_a, model_b), eval_codes(saes[model_a], saes[model_b], acts, model_a, model_b,
                                                     cfg["n_tokens"], device), strict=True))
    gt = {m: latent_ground_truth(world, m, dec[m], cfg["gt_threshold"])[0] for m in saes}
    subs = pair_subspaces(world, model_a, model_b, gt[model_a], gt[model_b], pairs)
    ia, ib = pairs["a_idx"].to_numpy(), pairs["b_idx"].to_numpy()
    mats = {"decoder": (dec[model_a][ia], dec[model_b][ib], 0),
            "activations": (codes[model_a][:, ia], codes[model_b][:, ib], 1)}
    rows = []
    for rep, (x_all, y_all, axis) in mats.items():
        for sub in SUBSPACES:
            mask = subs[sub]
            x, y = select_pairs(x_all, mask, axis), select_pairs(y_all, mask, axis)
            for metric in cfg["metrics"].get(rep, []):
                try:
                    v = get_metric(metric)(x, y, **cfg.get("metric_options", {}).get(metric, {})) \
                        if mask.sum() >= cfg["min_pairs"] else np.nan
                except ValueError:
                    v = np.nan
                rows.append(dict(statistic="value", representation=rep, metric=metric, subspace=sub,
                                 shared_fraction=fraction, seed=seed, value=float(v), n=int(mask.sum())))
    return rows


def summarise(values: pd.DataFrame) -> pd.DataFrame:
    """Summary rows (see module doc) from the per-world ``value`` rows."""
    out = []
    for (rep, metric), g in values.groupby(["representation", "metric"], sort=False):
        sign = 1.0 if get_metric(metric).higher_is_similar else -1.0
        allsub = g[(g.subspace == "all") & g.value.notna()]
        rho = spearmanr(allsub.shared_fraction, sign * allsub.value).statistic if allsub.value.nunique() > 1 else np.nan
        out.append(dict(statistic="spearman_vs_shared_fraction", representation=rep, metric=metric, subspace="",
                        shared_fraction=np.nan, seed=-1, value=float(rho), n=len(allsub)))
        pos = sign * g[(g.subspace == "shared")].value.dropna().to_numpy()
        neg = sign * g[g.subspace.isin(["private_a", "private_b"])].value.dropna().to_numpy()
        auc = (mannwhitneyu(pos, neg).statistic / (len(pos) * len(neg))) if len(pos) and len(neg) else np.nan
        out.append(dict(statistic="auroc_shared_vs_private", representation=rep, metric=metric, subspace="",
                        shared_fraction=np.nan, seed=-1, value=float(auc), n=len(pos) + len(neg)))
    return pd.DataFrame(out)


def run_metric_validation(cfg: dict[str, Any], device: str = "cpu") -> pd.DataFrame:
    """The whole sweep: per-world value rows followed by summary rows (``VALIDATION_SCHEMA``)."""
    if len(cfg["world"]["models"]) < 2:
        raise ValueError("validation.world.models needs two models (A and B, e.g. identity vs rotation)")
    for names in cfg["metrics"].values():
        for name in names:
            get_metric(name)  # unknown names fail before any world is built
    rows = []
    grid = [(f, s) for f in cfg["shared_fractions"] for s in cfg["seeds"]]
    for fraction, seed in tqdm(grid, desc="metric validation worlds"):
        with tempfile.TemporaryDirectory(prefix="saegeom-validation-") as tmp:
            rows += _world_rows(cfg, float(fraction), int(seed), Path(tmp), device)
    values = pd.DataFrame(rows)
    return pd.concat([values, summarise(values)], ignore_index=True)[VALIDATION_SCHEMA.names]


def plot_metric_validation(df: pd.DataFrame, path: str | Path) -> None:
    """Score on ``all`` vs shared fraction (mean ± std over seeds), one panel per metric."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from saegeom.io.atomic import atomic_path

    values = df[(df.statistic == "value") & (df.subspace == "all")]
    summary = df[df.statistic == "auroc_shared_vs_private"].set_index(["representation", "metric"]).value
    metrics = list(dict.fromkeys(values.metric))
    ncol = min(4, len(metrics))
    nrow = int(np.ceil(len(metrics) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.4 * ncol, 2.8 * nrow), squeeze=False)
    for ax, metric in zip(axes.flat, metrics, strict=False):
        titles = []
        for rep, g in values[values.metric == metric].groupby("representation"):
            stats = g.groupby("shared_fraction").value.agg(["mean", "std"]).reset_index()
            ax.errorbar(stats.shared_fraction, stats["mean"], yerr=stats["std"], marker="o", capsize=3, label=rep,
                        color=COLORS.get(rep, "C2"))
            titles.append(f"{rep[:3]} AUROC {summary.get((rep, metric), np.nan):.2f}")
        ax.set_title(f"{metric}\n" + ", ".join(titles), fontsize=8)
        ax.set_xlabel("shared fraction", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(metrics):]:
        ax.axis("off")
    handles = [plt.Line2D([], [], color=c, marker="o", label=rep) for rep, c in COLORS.items()]
    fig.legend(handles=handles, loc="lower right", fontsize=8)
    fig.suptitle("Metric validation: score on all pairs vs shared fraction (mean ± std over seeds)", fontsize=10)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
