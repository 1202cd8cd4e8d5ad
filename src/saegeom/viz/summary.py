"""Overview figure of ``results/metrics.parquet``: one heatmap per comparison.

Cell (subspace, representation:metric) shows the effect size against the headline null
(``random_partners``; ``random_directions`` for the whole-dictionary MMCS),
z = (value − baseline_mean) / baseline_std, sign-flipped for distances so that positive
always means "more similar than chance"; a dot marks p < ``alpha``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from saegeom.io.atomic import atomic_path
from saegeom.metrics.registry import get_metric
from saegeom.settings import HEADLINE_NULLS, PAIRING_PREFERENCE, ROLE_SUBSPACES

SUBSPACE_ORDER = ("all", *ROLE_SUBSPACES)


def _natural(subspace: str) -> tuple[str, int, str]:
    """Sort ``circle:10`` after ``circle:9``."""
    family, _, rest = subspace.partition(":")
    return (family, int(rest), "") if rest.isdigit() else (family, -1, rest)


def effect_sizes(df: pd.DataFrame, pairing: str | None = None) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    """Per comparison between two models: (z, p) tables, rows = subspaces, columns = ``rep:metric``.

    Uses one pairing (``pairing``, else the first available of ``PAIRING_PREFERENCE``) and the
    headline null (``HEADLINE_NULLS``).
    """
    cross = df[(df.model_b != "ground_truth") & df.baseline.isin(HEADLINE_NULLS) & df.representation.isin(
        ["decoder", "activations"])]
    out = {}
    for comparison, c in cross.groupby("comparison", sort=True):
        chosen = pairing or next((p for p in PAIRING_PREFERENCE if p in set(c.pairing)), None)
        c = c[c.pairing == chosen].copy()
        if c.empty:
            continue
        sign = np.array([1.0 if get_metric(m).higher_is_similar else -1.0 for m in c.metric])
        with np.errstate(divide="ignore", invalid="ignore"):
            c["z"] = sign * (c.value - c.baseline_mean) / c.baseline_std
        c["column"] = c.representation.str[:3] + ":" + c.metric
        subs = [s for s in SUBSPACE_ORDER if s in set(c.subspace)]
        subs += sorted(set(c.subspace) - set(subs), key=_natural)
        z = c.pivot_table(index="subspace", columns="column", values="z", dropna=False).reindex(subs)
        p = c.pivot_table(index="subspace", columns="column", values="p_value", dropna=False).reindex(subs)
        out[f"{comparison} [{chosen}]"] = (z, p.reindex(columns=z.columns))
    return out


def plot_comparison_summary(df: pd.DataFrame, path: str | Path, pairing: str | None = None,
                            alpha: float = 0.01) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    """Write the overview PNG (atomically) and return the tables it shows."""
    from matplotlib.figure import Figure

    tables = effect_sizes(df, pairing)
    if not tables:
        raise ValueError("no model-vs-model rows with a re-pairing baseline to plot")
    n = len(tables)
    ncol = min(2, n)
    nrow = int(np.ceil(n / ncol))
    width = max(len(z.columns) for z, _ in tables.values())
    height = max(len(z.index) for z, _ in tables.values())
    fig = Figure(figsize=(0.4 * width * ncol + 3, nrow * (0.22 * height + 2.6)), layout="constrained")
    axes = fig.subplots(nrow, ncol, squeeze=False)
    finite = np.concatenate([z.to_numpy().ravel() for z, _ in tables.values()])
    finite = finite[np.isfinite(finite)]
    lim = float(np.percentile(np.abs(finite), 95)) if len(finite) else 1.0
    image = None
    for ax, (title, (z, p)) in zip(axes.flat, tables.items(), strict=False):
        image = ax.imshow(z.to_numpy(dtype=float), cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto")
        rows, cols = np.nonzero(p.to_numpy(dtype=float) < alpha)
        ax.scatter(cols, rows, s=6, c="k", marker="o")
        ax.set_xticks(range(len(z.columns)), z.columns, rotation=90, fontsize=6)
        ax.set_yticks(range(len(z.index)), z.index, fontsize=7)
        ax.set_title(title, fontsize=8)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    assert image is not None  # tables is not empty (checked above), so at least one axis was drawn
    fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.6, label="z vs random-partners null (+ = more similar)")
    fig.suptitle(f"SAE feature-space similarity per subspace (dot: p < {alpha})", fontsize=10)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png", bbox_inches="tight")
    return tables
