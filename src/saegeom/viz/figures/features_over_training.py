"""Figure ``features_over_training``: how similar each checkpoint's SAE features are to the final model's.

Table (``results/figures/features_over_training.parquet``): every row of the features-over-training tables,
one pairing per run (first of ``PAIRING_PREFERENCE`` present), plus ``run`` (``study/sae: model@hook``) and
``q_value``: the input's, or where it has none, Benjamini–Hochberg of ``p_value`` within one checkpoint's
comparison × representation (``Q_FAMILY``: run, step, representation; as results/metrics.parquet's family
comparison × representation × null, the null being random partners throughout).

One row of panels per run × representation, one column per metric: x = checkpoint step, one line per
subspace (``all`` thick black, each category group in its colour), filled markers where q < 0.05 against the
``random_partners`` null (hollow otherwise), and the null band of ``all`` (grey: mean ± 2 std).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from saegeom.viz.figures.style import ALPHA, GID_SIGNIFICANT, NULL_COLOUR, new_figure, no_data, styled, suptitle
from saegeom.viz.figures.tables import (
    TRAINING_COLUMNS,
    check_columns,
    keep_preferred_pairing,
    natural_key,
    read_tables,
    significant,
)

TITLE = "Features over training: similarity of each checkpoint's SAE to the final model's"
CAPTION = (
    "Each checkpoint's SAE compared with the final model's SAE on the same hook and the same tokens, on all "
    "pairs (black) and inside every category group (colours), per checkpoint step. Filled marker: q < 0.05 "
    "against the random-partners null (Benjamini–Hochberg within checkpoint × representation); hollow: not "
    "significant; grey band: the null of `all` (mean ± 2 std). Bottom row: category recovery (best-F1 latent "
    "per category, and the share of categories recovered) of every checkpoint and of the final model. "
    "Groups whose curve reaches the final model's level early became stable early in training."
)
SOURCES = "results/training/{study}/{sae}.parquet (features-over-training tables)"
KEY = ["run", "representation"]
#: the representation of the category-recovery rows (every checkpoint and the final model; no null)
RECOVERY = "categories"
Q_FAMILY = ("run", "step", "representation")


def table(tables: Iterable[str | Path] = ()) -> pd.DataFrame:
    """The figure's table from the features-over-training tables; empty (with the columns) without any."""
    df = read_tables(tables, TRAINING_COLUMNS, "features-over-training").copy()
    df["run"] = (df["study"] + "/" + df["sae"] + ": " + df["model"] + "@" + df["hook"]) if len(df) \
        else pd.Series(dtype=object)
    recovery = df[df["representation"] == RECOVERY]  # no pairing (pairing none): kept beside the chosen one
    df = pd.concat([keep_preferred_pairing(df[df["representation"] != RECOVERY], ["run"]), recovery],
                   ignore_index=True)
    if "q_value" not in df.columns:
        from saegeom.compare.multiple_testing import add_q_values

        df = add_q_values(df, Q_FAMILY) if len(df) else df.assign(q_value=pd.Series(dtype=float))
    cols = ["run", *TRAINING_COLUMNS, "q_value"]
    return df[cols].sort_values([*KEY, "metric", "subspace", "step"]).reset_index(drop=True)


@styled
def draw(table: pd.DataFrame):
    """The figure from its table (see the module doc); a labelled "no data" panel for an empty table."""
    if table.empty:
        return no_data(TITLE, "no model with training checkpoints in this run (results/training/ has no table)")
    check_columns(table, ["run", *TRAINING_COLUMNS, "q_value"], "features_over_training")
    rows = sorted({tuple(k) for k in table[KEY].itertuples(index=False)})
    metrics = sorted(set(table["metric"]))
    subs = sorted(set(table["subspace"]), key=natural_key)
    colours = {s: ("k" if s == "all" else _colour(i)) for i, s in enumerate(x for x in subs if x != "all")}
    colours["all"] = "k"
    fig = new_figure(max(5.0, 2.6 * len(metrics) + 0.6), 2.1 * len(rows) + 1.0)
    axes = np.atleast_2d(fig.subplots(len(rows), len(metrics), squeeze=False))
    for i, (run, rep) in enumerate(rows):
        for j, metric in enumerate(metrics):
            ax = axes[i, j]
            t = table[(table["run"] == run) & (table["representation"] == rep) & (table["metric"] == metric)]
            if t.empty:
                ax.set_axis_off()
                continue
            base = t[t["subspace"] == "all"].sort_values("step")
            if len(base):
                m, s = base["null_mean"].to_numpy(float), base["null_std"].to_numpy(float)
                ax.fill_between(base["step"].to_numpy(float), m - 2 * s, m + 2 * s, color=NULL_COLOUR, lw=0)
            for sub in subs:
                g = t[t["subspace"] == sub].sort_values("step")
                if g.empty:
                    continue
                x, y = g["step"].to_numpy(float), g["value"].to_numpy(float)
                c = colours[sub]
                ax.plot(x, y, color=c, lw=1.6 if sub == "all" else 0.8, label=sub)
                sig = significant(g["q_value"], ALPHA)
                ax.scatter(x[sig], y[sig], s=12, color=c, zorder=3, gid=GID_SIGNIFICANT)
                ax.scatter(x[~sig], y[~sig], s=12, facecolors="white", edgecolors=c, linewidths=0.7, zorder=3)
            ax.set_title(f"{metric}\n{run} · {rep} · {t['pairing'].iloc[0]}", fontsize=6)
            ax.set_xlabel("checkpoint step")
            ax.set_ylabel("category recovery" if rep == RECOVERY else "similarity to final model")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 6), fontsize=6,
                   frameon=False)
    suptitle(fig, f"{TITLE} (filled: q < {ALPHA:g})")
    return fig


def _colour(i: int) -> str:
    import matplotlib as mpl

    return mpl.colors.to_hex(mpl.colormaps["tab10"](i % 10))
