"""Figure ``layer_heatmaps``: layer × layer similarity of every LM comparison, per representation and metric.

Table (``results/figures/layer_heatmaps.parquet``): the rows of the layer-matrix tables on subspace ``all``,
one pairing per comparison (the first of ``PAIRING_PREFERENCE`` present), plus ``comparison``
(``study/sae: model_a~model_b``). Each panel is one (comparison, representation) row × one metric column:
cell (layer of A, layer of B) coloured by the value (bright = more similar; the scale is reversed for
distances), a star where q < 0.05 against the ``random_partners`` null, and a black outline on the
best-matching layer of B for each layer of A (``best`` in the table: highest excess over that null's mean,
``saegeom.compare.layers``).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from saegeom.viz.figures.style import (
    ALPHA,
    GID_BEST,
    SEQUENTIAL,
    new_figure,
    no_data,
    star,
    styled,
    suptitle,
)
from saegeom.viz.figures.tables import (
    LAYER_COLUMNS,
    check_columns,
    higher_is_similar,
    keep_preferred_pairing,
    read_tables,
    significant,
    unit_label,
    units,
)

TITLE = "Layer × layer similarity of language models' SAEs"
CAPTION = (
    "Layer × layer similarity of the SAE feature spaces of two language models, one row per comparison and "
    "representation, one column per metric (subspace `all`). Colour: the metric's value (bright = more "
    "similar; reversed for distances). ★: q < 0.05 against the random-partners null (Benjamini–Hochberg "
    "within comparison × representation × null). Black outline: the best-matching layer of B for each layer "
    "of A (highest excess over the random-partners null mean: chance-corrected, not the highest raw value)."
)
SOURCES = "results/layers/{study}/{sae}.parquet (every LM comparison's layer matrix)"


def comparison_label(df: pd.DataFrame) -> pd.Series:
    return df["study"] + "/" + df["sae"] + ": " + df["model_a"] + "~" + df["model_b"]


def table(tables: Iterable[str | Path] = ()) -> pd.DataFrame:
    """The figure's table from the layer-matrix tables (paths); empty (with the columns) when there are none."""
    df = read_tables(tables, LAYER_COLUMNS, "layer-matrix")
    df = df[df["subspace"] == "all"].copy()
    df["comparison"] = comparison_label(df) if len(df) else pd.Series(dtype=object)
    df = keep_preferred_pairing(df, ["comparison"])
    cols = ["comparison", *LAYER_COLUMNS]
    return df[cols].sort_values(["comparison", "representation", "metric", "hook_a", "hook_b"]).reset_index(
        drop=True)


@styled
def draw(table: pd.DataFrame):
    """The figure from its table (see the module doc); a labelled "no data" panel for an empty table.

    One subfigure per (comparison, representation), titled ``comparison · representation · pairing``; one
    panel per metric in it, titled with the metric."""
    if table.empty:
        return no_data(TITLE, "no LM comparison with more than one layer in this run "
                              "(results/layers/ has no table)")
    check_columns(table, ["comparison", *LAYER_COLUMNS], "layer_heatmaps")
    rows = sorted({(c, r) for c, r in zip(table["comparison"], table["representation"], strict=True)})
    metrics = sorted(set(table["metric"]))
    na = int(table.groupby("comparison")["hook_a"].nunique().max())
    nb = int(table.groupby("comparison")["hook_b"].nunique().max())
    cell = 0.32
    width = max(5.0, len(metrics) * max(2.4, nb * cell + 1.5))
    fig = new_figure(width, len(rows) * max(2.0, na * cell + 1.3) + 0.6)
    subfigs = np.atleast_1d(fig.subfigures(len(rows), 1, squeeze=False).ravel())
    for sub, (comparison, rep) in zip(subfigs, rows, strict=True):
        c = table[(table["comparison"] == comparison) & (table["representation"] == rep)]
        sub.suptitle(f"{comparison} · {rep} · {c['pairing'].iloc[0]}", fontsize=7)
        axes = np.atleast_1d(sub.subplots(1, len(metrics), squeeze=False).ravel())
        for ax, metric in zip(axes, metrics, strict=True):
            t = c[c["metric"] == metric]
            if t.empty:
                ax.set_axis_off()
                continue
            _panel(ax, t, metric)
            ax.set_title(metric)
    suptitle(fig, f"{TITLE} (★ q < {ALPHA:g}; outline: best layer of B per layer of A)")
    return fig


def _panel(ax, t: pd.DataFrame, metric: str) -> None:
    """One heatmap: rows = units (hooks) of A bottom up, columns = units of B, by layer number (a hook without
    one after the layers, labelled by its name)."""
    units_a, units_b = units(t["layer_a"], t["hook_a"]), units(t["layer_b"], t["hook_b"])
    na, nb = len(units_a), len(units_b)
    grid = np.full((na, nb), np.nan)
    pos_a = {u[1]: i for i, u in enumerate(units_a)}
    pos_b = {u[1]: i for i, u in enumerate(units_b)}
    la = t["hook_a"].map(pos_a).to_numpy(int)
    lb = t["hook_b"].map(pos_b).to_numpy(int)
    grid[la, lb] = t["value"].to_numpy(float)
    cmap = SEQUENTIAL if higher_is_similar(metric) else SEQUENTIAL + "_r"
    image = ax.imshow(grid, cmap=cmap, origin="lower", aspect="equal")
    sig = significant(t["q_value"], ALPHA)
    star(ax, lb[sig], la[sig])
    from matplotlib.patches import Rectangle

    best = t["best"].to_numpy(bool)
    for a, b in zip(la[best], lb[best], strict=True):
        ax.add_patch(Rectangle((b - 0.5, a - 0.5), 1, 1, fill=False, edgecolor="k", linewidth=1.6, gid=GID_BEST))
    ax.set_xticks(range(nb), [unit_label(*u) for u in units_b])
    ax.set_yticks(range(na), [unit_label(*u) for u in units_a])
    ax.set_xlabel(f"layer of {t['model_b'].iloc[0]}")
    ax.set_ylabel(f"layer of {t['model_a'].iloc[0]}")
    ax.spines[:].set_visible(False)
    ax.figure.colorbar(image, ax=ax, shrink=0.8, label="value" + ("" if higher_is_similar(metric) else
                                                                  " (distance: reversed)"))
