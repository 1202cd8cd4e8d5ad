"""Figure: how the latents of a width ladder relate to the next narrower SAE, and parent → child recovery.

Table: ``results/widths/{world}/{ladder}_validation.parquet`` (``saegeom.widths.VALIDATION_SCHEMA``, one row per
width but the narrowest; several ladders may be concatenated, distinguished by ``ladder``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

TITLE = "Feature families across SAE widths"
SOURCES = "results/widths/*/*_validation.parquet"
CAPTION = (
    "Feature families across SAE widths. Left: each latent of the wider SAE labelled against the next narrower "
    "one (same = its parent's only child; split = one of several children; merged = the best continuation of "
    "several narrower latents; novel = linked to none; dead = never fired), as a share of the width's latents. "
    "Right: on a planted hierarchy, the share of parent → child links recovered among the children that first "
    "appear at each width (recall new; a link = a split latent mapping to a true child whose narrower parent "
    "latent maps to its true parent), the precision of the recovered links, and the share of planted children "
    "some latent of the width recovers."
)

LABEL_COLOURS = {"same": "#4c72b0", "split": "#dd8452", "merged": "#8172b3", "novel": "#55a868", "dead": "#b0b0b0"}


def table(validation: list[str | Path]) -> pd.DataFrame:
    """The figure's table: every width ladder's validation table, concatenated (``ladder`` tells them apart)."""
    parts = [pd.read_parquet(p) for p in validation]
    parts = [p for p in parts if len(p)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame({"ladder": [], "width": []})


def draw(table: pd.DataFrame):
    """A matplotlib Figure: stacked label shares per width (one row of panels per ladder) and precision/recall."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if table.empty:
        from saegeom.viz.figures.style import no_data

        return no_data(TITLE, "no width ladder in this run (config width_ladders is empty)")
    ladders = sorted(table["ladder"].unique()) if "ladder" in table else [None]
    fig, axes = plt.subplots(len(ladders), 2, figsize=(9, 3.2 * len(ladders)), squeeze=False)
    for row, ladder in enumerate(ladders):
        t = (table if ladder is None else table[table["ladder"] == ladder]).sort_values("width")
        x = np.arange(len(t))
        ticks = [f"{p}→{w}" for p, w in zip(t["parent_width"], t["width"], strict=True)]
        ax = axes[row, 0]
        bottom = np.zeros(len(t))
        for label, colour in LABEL_COLOURS.items():
            share = t[f"n_{label}"].to_numpy() / t["n_latents"].to_numpy()
            ax.bar(x, share, bottom=bottom, color=colour, label=label, width=0.7)
            bottom += share
        ax.set_xticks(x, ticks)
        ax.set_ylabel("share of the wider SAE's latents")
        ax.set_title(f"labels{'' if ladder is None else f' — {ladder}'}", fontsize=10)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1, 1))
        ax = axes[row, 1]
        if t["recall"].notna().any():
            for col, marker in (("recall_new", "o"), ("precision", "s"), ("children_present", "^")):
                ax.plot(x, t[col], marker=marker, label=col.replace("_", " "))
            ax.set_ylim(-0.02, 1.02)
            ax.legend(fontsize=7)
        else:
            ax.text(0.5, 0.5, "no planted hierarchy", ha="center", va="center", transform=ax.transAxes)
        ax.set_xticks(x, ticks)
        ax.set_title("parent → child links", fontsize=10)
    fig.tight_layout()
    return fig
