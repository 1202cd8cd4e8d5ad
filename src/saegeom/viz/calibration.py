"""Figure of the calibration report (``results/calibration.parquet``, see ``saegeom.compare.calibration``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from saegeom.io.atomic import atomic_path


def plot_calibration(table: pd.DataFrame, path: str | Path, alpha: float = 0.05) -> None:
    """False-positive rate on null subspaces and power on shared ones at ``alpha``, one panel per
    (representation, pairing, null); dashed lines at 2α (the FPR bar) and 0.9 (the power bar)."""
    from matplotlib.figure import Figure

    rates = table[table.statistic.isin(["fpr", "power"]) & np.isclose(table.alpha, alpha)]
    panels = list(rates.groupby(["representation", "pairing", "baseline"], sort=True))
    ncol = min(3, max(len(panels), 1))
    nrow = max(1, int(np.ceil(len(panels) / ncol)))
    fig = Figure(figsize=(4.2 * ncol, 3.0 * nrow), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrow, ncol, squeeze=False)).ravel()
    for ax, ((rep, pairing, null), g) in zip(axes, panels, strict=False):
        metrics = sorted(set(g.metric))
        xs = np.arange(len(metrics))
        for stat, colour, dx in (("fpr", "C3", -0.15), ("power", "C0", 0.15)):
            s = g[g.statistic == stat].set_index("metric").reindex(metrics)
            err = np.vstack([s.value - s.ci_low, s.ci_high - s.value]).clip(0)
            ax.bar(xs + dx, s.value.fillna(0), width=0.3, color=colour, label=stat, yerr=np.nan_to_num(err),
                   error_kw={"lw": 0.6, "capsize": 1.5})
            for x, (v, n) in enumerate(zip(s.value, s.n_rows, strict=True)):
                ax.text(x + dx, 1.03, "–" if np.isnan(v) else f"{int(n)}", ha="center", fontsize=5)
        ax.axhline(2 * alpha, color="C3", ls="--", lw=0.8)
        ax.axhline(0.9, color="C0", ls="--", lw=0.8)
        ax.set_ylim(0, 1.1)
        ax.set_xticks(xs, metrics, rotation=60, ha="right", fontsize=6)
        ax.set_title(f"{rep} · {pairing} · {null}", fontsize=8)
        ax.tick_params(labelsize=6)
    for ax in axes[len(panels):]:
        ax.axis("off")
    if panels:
        axes[0].legend(fontsize=6, loc="upper left")
    fig.suptitle(f"Calibration at α = {alpha}: false-positive rate on subspaces sharing nothing (red, bar 2α) and "
                 "power on shared ones (blue, bar 0.9), 95% intervals; numbers = cases", fontsize=8)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
