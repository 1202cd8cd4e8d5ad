"""Figure ``synthetic_overview``: the synthetic worlds' model-vs-model comparisons at a glance.

Table (``results/figures/synthetic_overview.parquet``): the rows of ``results/metrics.parquet`` of synthetic
worlds, model vs model (not ground truth), decoder and activations representations, against the headline null
(``random_partners``; ``random_directions`` where a metric has no other, e.g. whole-dictionary MMCS), one
pairing per comparison (first of ``PAIRING_PREFERENCE``), with ``z`` = (value − null mean) / null std
sign-flipped for distances (positive = more similar than chance) and ``column`` = ``rep:metric``.
One heatmap per comparison: rows = subspaces, columns = representation:metric, colour = z, ★ where q < 0.05.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from saegeom.settings import HEADLINE_NULLS
from saegeom.viz.figures.style import (
    ALPHA,
    DIVERGING,
    new_figure,
    no_data,
    star,
    styled,
    suptitle,
)
from saegeom.viz.figures.tables import (
    check_columns,
    higher_is_similar,
    keep_preferred_pairing,
    natural_key,
    significant,
)

TITLE = "Synthetic worlds: SAE feature-space similarity per subspace"
CAPTION = (
    "Synthetic worlds with known ground truth: one heatmap per comparison of two models' SAEs, rows = "
    "subspaces (`all`, `shared`, the private parts, and every labelled cluster or circle), columns = "
    "representation:metric. Colour: z against the headline null (random partners; random directions for the "
    "whole-dictionary MMCS), sign-flipped for distances so that red always means more similar than chance. "
    "★: q < 0.05 (Benjamini–Hochberg within comparison × representation × null). `shared` should be red and "
    "starred, the private subspaces near 0 — the ground truth a reader can check the method against."
)
SOURCES = "results/metrics.parquet (synthetic-world rows)"
COLUMNS = ("comparison", "pairing", "subspace", "representation", "metric", "column", "baseline", "value",
           "baseline_mean", "baseline_std", "z", "p_value", "q_value", "n_pairs")


def table(metrics: str | Path) -> pd.DataFrame:
    """The figure's table from ``results/metrics.parquet``."""
    df = pd.read_parquet(metrics)
    df = df[(df["source"] == "synthetic") & (df["model_b"] != "ground_truth")
            & df["representation"].isin(["decoder", "activations"]) & df["baseline"].isin(HEADLINE_NULLS)].copy()
    # one null per cell: the first headline null present
    rank = df["baseline"].map({b: i for i, b in enumerate(HEADLINE_NULLS)})
    first = rank.groupby([df["comparison"], df["subspace"], df["representation"], df["pairing"],
                          df["metric"]]).transform("min")
    df = keep_preferred_pairing(df[rank == first], ["comparison"])
    sign = np.array([1.0 if higher_is_similar(m) else -1.0 for m in df["metric"]])
    with np.errstate(divide="ignore", invalid="ignore"):
        df["z"] = sign * (df["value"] - df["baseline_mean"]) / df["baseline_std"]
    df["column"] = df["representation"].str[:3] + ":" + df["metric"]
    return df[list(COLUMNS)].sort_values(["comparison", "subspace", "column"]).reset_index(drop=True)


@styled
def draw(table: pd.DataFrame):
    """One heatmap per comparison (see the module doc); a labelled "no data" panel for an empty table."""
    if table.empty:
        return no_data(TITLE, "no synthetic-world comparison in this run")
    check_columns(table, COLUMNS, "synthetic_overview")
    comparisons = sorted(set(table["comparison"]))
    columns = sorted(set(table["column"]))
    z_all = table["z"].to_numpy(float)
    finite = np.abs(z_all[np.isfinite(z_all)])
    lim = float(np.percentile(finite, 95)) if len(finite) else 1.0
    lim = lim if lim > 0 else 1.0
    n_sub = max(table.groupby("comparison")["subspace"].nunique())
    ncol = min(2, len(comparisons))
    nrow = int(np.ceil(len(comparisons) / ncol))
    fig = new_figure(max(5.0, ncol * (0.2 * len(columns) + 2.2) + 0.8), nrow * (0.16 * n_sub + 1.8) + 0.6)
    axes = np.atleast_2d(fig.subplots(nrow, ncol, squeeze=False))
    image = None
    for ax, comparison in zip(axes.flat, comparisons, strict=False):
        t = table[table["comparison"] == comparison]
        subs = sorted(set(t["subspace"]), key=natural_key)
        z = t.pivot_table(index="subspace", columns="column", values="z", dropna=False).reindex(
            index=subs, columns=columns)
        q = t.pivot_table(index="subspace", columns="column", values="q_value", dropna=False).reindex(
            index=subs, columns=columns)
        image = ax.imshow(z.to_numpy(float), cmap=DIVERGING, vmin=-lim, vmax=lim, aspect="auto")
        r, c = np.nonzero(significant(q.to_numpy(float), ALPHA))
        star(ax, c, r, size=22)
        ax.set_xticks(range(len(columns)), columns, rotation=90, fontsize=5)
        ax.set_yticks(range(len(subs)), subs, fontsize=5)
        ax.spines[:].set_visible(False)
        ax.set_title(f"{comparison} [{t['pairing'].iloc[0]}]", fontsize=6)
    for ax in list(axes.flat)[len(comparisons):]:
        ax.set_axis_off()
    fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.6, label="z vs headline null (+ = more similar)")
    suptitle(fig, f"{TITLE} (★ q < {ALPHA:g})")
    return fig
