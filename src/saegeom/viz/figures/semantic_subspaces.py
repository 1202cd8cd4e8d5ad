"""Figure ``semantic_subspaces``: similarity inside each semantic category group, against its null.

Table (``results/figures/semantic_subspaces.parquet``): every row of the layer-matrix tables (subspace ``all``
and every ``group:<name>``), one pairing per comparison (first of ``PAIRING_PREFERENCE`` present), plus
``comparison`` and ``best_pair``: True on the layer pair with the highest excess over the null mean (oriented:
+ = more similar than chance; ``saegeom.compare.layers``) on subspace ``all`` for that comparison ×
representation × metric (the best layer pair; ties → lowest layers).

One row of panels per comparison × representation × metric. Left: at the best layer pair, each group's value
(dot) against its null band (grey: null mean ± 2 null std), ★ where q < 0.05. Right: every group × every
layer pair (columns ``a→b``), colour = z, ★ where q < 0.05, the best pair's column outlined.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from saegeom.viz.figures.layer_heatmaps import comparison_label
from saegeom.viz.figures.style import (
    ALPHA,
    DIVERGING,
    GID_BEST,
    NULL_COLOUR,
    new_figure,
    no_data,
    star,
    styled,
    suptitle,
)
from saegeom.viz.figures.tables import (
    LAYER_COLUMNS,
    check_columns,
    keep_preferred_pairing,
    natural_key,
    read_tables,
    significant,
    unit_key,
    unit_label,
    units,
)

TITLE = "Semantic subspaces: similarity per category group against its null"
CAPTION = (
    "Similarity of two language models' SAEs inside each semantic category group (`group:<name>`: the pairs "
    "whose A latent belongs to the group: membership is decided on one side so it does not depend on the "
    "similarity tested) and on all pairs. Left: at the best layer pair (highest excess over the null mean on "
    "`all` against the random-partners null), each group's value (dot) and its null band (grey: null mean ± "
    "2 null std over random-partner draws); ★: q < 0.05. Right: the same groups across every layer pair "
    "(a→b), colour = z (+ = more similar than chance), ★: q < 0.05, outline: the best layer pair. A group "
    "with fewer than 3 pairs has no value (blank)."
)
SOURCES = "results/layers/{study}/{sae}.parquet (every LM comparison's layer matrix, all subspaces)"
KEY = ["comparison", "representation", "metric"]


def table(tables: Iterable[str | Path] = ()) -> pd.DataFrame:
    """The figure's table from the layer-matrix tables (paths); empty (with the columns) when there are none."""
    df = read_tables(tables, LAYER_COLUMNS, "layer-matrix").copy()
    df["comparison"] = comparison_label(df) if len(df) else pd.Series(dtype=object)
    df = keep_preferred_pairing(df, ["comparison"]).copy()
    df["best_pair"] = False
    allsub = df[(df["subspace"] == "all") & np.isfinite(df["excess"].astype(float))]
    for _, g in allsub.groupby(KEY, sort=True):
        # ties: the lowest units (unit_key order of A, then of B)
        g = g.iloc[sorted(range(len(g)), key=lambda i: (unit_key(g["layer_a"].iloc[i], g["hook_a"].iloc[i]),
                                                         unit_key(g["layer_b"].iloc[i], g["hook_b"].iloc[i])))]
        top = g.loc[g["excess"].astype(float).idxmax()]
        hit = ((df["comparison"] == top["comparison"]) & (df["representation"] == top["representation"])
               & (df["metric"] == top["metric"]) & (df["hook_a"] == top["hook_a"]) & (df["hook_b"] == top["hook_b"]))
        df.loc[hit, "best_pair"] = True
    cols = ["comparison", *LAYER_COLUMNS, "best_pair"]
    return df[cols].sort_values([*KEY, "subspace", "hook_a", "hook_b"]).reset_index(drop=True)


@styled
def draw(table: pd.DataFrame):
    """The figure from its table (see the module doc); a labelled "no data" panel for an empty table."""
    if table.empty:
        return no_data(TITLE, "no LM comparison with category groups in this run (results/layers/ has no table)")
    check_columns(table, ["comparison", *LAYER_COLUMNS, "best_pair"], "semantic_subspaces")
    rows = sorted({tuple(k) for k in table[KEY].itertuples(index=False)})
    n_sub = table["subspace"].nunique()
    n_pairs = table.groupby("comparison")[["hook_a", "hook_b"]].apply(lambda g: len(g.drop_duplicates())).max()
    z = table["z"].to_numpy(float)
    finite = np.abs(z[np.isfinite(z)])
    lim = float(np.percentile(finite, 95)) if len(finite) else 1.0
    lim = lim if lim > 0 else 1.0
    fig = new_figure(3.0 + 0.3 * n_sub + 0.25 * n_pairs + 1.5, len(rows) * (0.14 * n_sub + 1.4) + 0.5)
    axes = np.atleast_2d(fig.subplots(len(rows), 2, squeeze=False))
    image = None
    for (ax_band, ax_map), (comparison, rep, metric) in zip(axes, rows, strict=True):
        t = table[(table["comparison"] == comparison) & (table["representation"] == rep)
                  & (table["metric"] == metric)]
        subs = sorted(set(t["subspace"]), key=natural_key)
        _bands(ax_band, t[t["best_pair"].astype(bool)], subs)
        pair = t[t["best_pair"].astype(bool)]
        where = f" at {_pair_label(pair.iloc[0])}" if len(pair) else ""
        ax_band.set_title(f"{comparison} · {rep} · {metric}{where}", fontsize=6)
        image = _across(ax_map, t, subs, lim)
    if image is not None:
        fig.colorbar(image, ax=axes[:, 1].tolist(), shrink=0.6, label="z vs random partners (+ = more similar)")
    suptitle(fig, f"{TITLE} (★ q < {ALPHA:g})")
    return fig


def _bands(ax, best: pd.DataFrame, subs: list[str]) -> None:
    """Value vs null band per subspace at the best layer pair (x = subspaces in ``subs`` order)."""
    best = best.set_index("subspace").reindex(subs)
    x = np.arange(len(subs))
    mean, std = best["null_mean"].to_numpy(float), best["null_std"].to_numpy(float)
    ax.bar(x, 4 * std, bottom=mean - 2 * std, width=0.6, color=NULL_COLOUR, linewidth=0)
    value = best["value"].to_numpy(float)
    ax.scatter(x, value, s=10, color="C0", zorder=3)
    sig = significant(best["q_value"], ALPHA)
    top = np.fmax(value, mean + 2 * std)
    span = np.nanmax(np.abs(top)) if np.isfinite(top).any() else 1.0
    star(ax, x[sig], top[sig] + 0.08 * span)
    ax.set_xticks(x, subs, rotation=60, ha="right", fontsize=5)
    ax.set_ylabel("value")


def _pair_label(row: pd.Series) -> str:
    return f"{unit_label(row['layer_a'], row['hook_a'])}→{unit_label(row['layer_b'], row['hook_b'])}"


def _across(ax, t: pd.DataFrame, subs: list[str], lim: float):
    """Heatmap subspaces × layer pairs of ``z`` (pairs in unit order of A, then of B)."""
    ua, ub = units(t["layer_a"], t["hook_a"]), units(t["layer_b"], t["hook_b"])
    pairs = [(a, b) for a in ua for b in ub
             if ((t["hook_a"] == a[1]) & (t["hook_b"] == b[1])).any()]
    col = {(a[1], b[1]): j for j, (a, b) in enumerate(pairs)}
    row = {s: i for i, s in enumerate(subs)}
    grid = np.full((len(subs), len(pairs)), np.nan)
    i = t["subspace"].map(row).to_numpy(int)
    j = np.array([col[(a, b)] for a, b in zip(t["hook_a"], t["hook_b"], strict=True)], dtype=int)
    grid[i, j] = t["z"].to_numpy(float)
    image = ax.imshow(grid, cmap=DIVERGING, vmin=-lim, vmax=lim, aspect="auto")
    sig = significant(t["q_value"], ALPHA)
    star(ax, j[sig], i[sig], size=22)
    from matplotlib.patches import Rectangle

    chosen = t[t["best_pair"].astype(bool)]
    best = sorted({col[(a, b)] for a, b in zip(chosen["hook_a"], chosen["hook_b"], strict=True)})
    for b in best:
        ax.add_patch(Rectangle((b - 0.5, -0.5), 1, len(subs), fill=False, edgecolor="k", lw=1.4, gid=GID_BEST))
    ax.set_xticks(range(len(pairs)), [f"{unit_label(*a)}→{unit_label(*b)}" for a, b in pairs], rotation=90,
                  fontsize=5)
    ax.set_yticks(range(len(subs)), subs, fontsize=5)
    ax.set_xlabel("layer pair (A→B)")
    return image
