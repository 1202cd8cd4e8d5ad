"""Figure ``families``: which features are universal, and how much agreement is possible — recovery of planted
feature families per sharing level, and cross-model similarity as a fraction of the seed ceiling.

Table (``results/figures/families.parquet``), one row per bar, ``panel`` saying where it goes:

- ``recovery``: the families validation tables (``results/families/{study}/{sae}_validation.parquet``):
  ``label`` = ``study/sae``, ``group`` = the sharing level (``all``, ``pairs``, ``private``, …), ``metric`` =
  ``recall`` or ``precision``, ``value``, ``n`` = its denominator;
- ``ceiling``: rows of ``results/metrics.parquet`` with a ceiling (cross-model rows whose SAE has seed
  replicates), one per null-free key: ``label`` = ``study/sae · representation · pairing``, ``group`` = the
  subspace, ``metric``, ``value`` = value / ceiling, ``n`` = pairs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

TITLE = "Universal features and the seed ceiling"
CAPTION = (
    "Left: recovery of planted feature families in worlds of three or more models (features shared by all "
    "models, by each pair, private to one): recall (true features represented by a family held by exactly their "
    "owners) and precision (families of a level that represent such a feature) per sharing level. Right: "
    "cross-model similarity as a fraction of the seed ceiling (the same metric between two SAEs of the same "
    "model trained with different seeds, mean over the two models) per subspace; 1 = as similar as the "
    "same model retrained."
)
SOURCES = "results/families/*/*_validation.parquet and results/metrics.parquet (ceiling columns)"
COLUMNS = ("panel", "label", "group", "metric", "value", "n")
LEVEL_ORDER = ("all", "pairs", "private")


def table(validation: list[str | Path], metrics: str | Path | None = None) -> pd.DataFrame:
    """The figure's table from the families validation tables and ``results/metrics.parquet``."""
    parts = []
    for path in validation:
        v = pd.read_parquet(path)
        v = v[v["statistic"].isin(["recall", "precision"])]
        parts.append(pd.DataFrame({"panel": "recovery", "label": v["world"] + "/" + v["sae"], "group": v["level"],
                                   "metric": v["statistic"], "value": v["value"].astype(float),
                                   "n": v["n"].astype(float)}))
    if metrics is not None:
        m = pd.read_parquet(metrics)
        if "value_vs_ceiling" in m:
            m = m[m["value_vs_ceiling"].notna()].drop_duplicates(
                ["comparison", "subspace", "representation", "pairing", "metric"])
            parts.append(pd.DataFrame({
                "panel": "ceiling",
                "label": m["world"] + "/" + m["sae_a"] + " · " + m["representation"] + " · " + m["pairing"],
                "group": m["subspace"], "metric": m["metric"], "value": m["value_vs_ceiling"].astype(float),
                "n": m["n_pairs"].astype(float)}))
    parts = [p for p in parts if len(p)]
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame({c: [] for c in COLUMNS})
    return out[list(COLUMNS)].sort_values(["panel", "label", "group", "metric"]).reset_index(drop=True)


def _level_key(level: str) -> tuple[int, str]:
    return (LEVEL_ORDER.index(level) if level in LEVEL_ORDER else len(LEVEL_ORDER), level)


def draw(table: pd.DataFrame):
    """Two panels (module doc): grouped bars of recall and precision per sharing level, and the mean fraction
    of the ceiling per subspace (over metrics; whiskers: min and max)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"families figure table: missing columns {missing}")
    fig = Figure(figsize=(10.0, 3.6))
    ax_rec, ax_ceil = fig.subplots(1, 2)
    rec = table[table["panel"] == "recovery"]
    if rec.empty:
        ax_rec.text(0.5, 0.5, "no families validation", ha="center", va="center", transform=ax_rec.transAxes)
    else:
        labels = sorted(set(rec["label"]))
        levels = sorted(set(rec["group"]), key=_level_key)
        bars = [(lab, met) for lab in labels for met in ("recall", "precision")]
        width = 0.8 / len(bars)
        x = np.arange(len(levels))
        for i, (lab, met) in enumerate(bars):
            sub = rec[(rec["label"] == lab) & (rec["metric"] == met)].set_index("group")["value"]
            ax_rec.bar(x + (i - (len(bars) - 1) / 2) * width, [sub.get(lv, np.nan) for lv in levels], width,
                       label=f"{lab} {met}", hatch="//" if met == "precision" else None)
        ax_rec.set_xticks(x, levels)
        ax_rec.set_ylim(0, 1.05)
        ax_rec.set_xlabel("sharing level (models owning the feature)")
        ax_rec.set_ylabel("planted families")
        ax_rec.legend(fontsize=7, loc="lower left")
    ax_rec.set_title("family recovery", fontsize=10)
    ceil = table[table["panel"] == "ceiling"]
    if ceil.empty:
        ax_ceil.text(0.5, 0.5, "no rows with a seed ceiling", ha="center", va="center", transform=ax_ceil.transAxes)
    else:
        stats = ceil.groupby("group")["value"].agg(["mean", "min", "max"]).sort_index()
        y = np.arange(len(stats))
        ax_ceil.barh(y, stats["mean"], color="#4c72b0")
        ax_ceil.errorbar(stats["mean"], y, xerr=[stats["mean"] - stats["min"], stats["max"] - stats["mean"]],
                         fmt="none", ecolor="black", lw=0.8)
        ax_ceil.axvline(1.0, color="grey", ls="--", lw=0.8)
        ax_ceil.set_yticks(y, stats.index, fontsize=7)
        ax_ceil.set_xlabel("cross-model value / seed ceiling")
    ax_ceil.set_title("fraction of the seed ceiling", fontsize=10)
    fig.suptitle(TITLE, fontsize=11)
    fig.tight_layout()
    return fig
