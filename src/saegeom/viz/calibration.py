"""Figure of the calibration report (``results/calibration.parquet``, see ``saegeom.compare.calibration``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from saegeom.io.atomic import atomic_path


def plot_calibration(table: pd.DataFrame, path: str | Path, alpha: float = 0.05) -> None:
    """One row of panels per (representation, pairing, null). Left: false-positive rate over the
    tested null cases and power on shared ones at ``alpha`` (95% intervals; dashed lines at 2α, the FPR
    bar, and 0.9, the power bar); metrics the report does not trust are marked ✗, with the number of
    tested null cases above each bar. Right: P–P plot of the tested null p-values (share ≤ t against
    t, a calibrated null lies on the diagonal; KS statistic in the legend)."""
    from matplotlib.figure import Figure

    rates = table[table.statistic.isin(["fpr", "power"]) & np.isclose(table.alpha, alpha)]
    keys = ["representation", "pairing", "baseline"]
    panels = sorted({tuple(k) for k in table[table.baseline != ""][keys].itertuples(index=False)})
    nrow = max(1, len(panels))
    fig = Figure(figsize=(9.0, 3.0 * nrow), layout="constrained")
    axes = np.atleast_2d(fig.subplots(nrow, 2, squeeze=False))
    for (bar_ax, pp_ax), (rep, pairing, null) in zip(axes, panels, strict=False):
        sel = (table.representation == rep) & (table.pairing == pairing) & (table.baseline == null)
        g = rates[(rates.representation == rep) & (rates.pairing == pairing) & (rates.baseline == null)]
        trusted = table[sel & (table.statistic == "trusted")].set_index("metric").value
        metrics = sorted(set(g.metric) | set(trusted.index))
        xs = np.arange(len(metrics))
        for stat, colour, dx in (("fpr", "C3", -0.15), ("power", "C0", 0.15)):
            s = g[g.statistic == stat].set_index("metric").reindex(metrics)
            err = np.vstack([s.value - s.ci_low, s.ci_high - s.value]).clip(0)
            bar_ax.bar(xs + dx, s.value.fillna(0), width=0.3, color=colour, label=stat, yerr=np.nan_to_num(err),
                       error_kw={"lw": 0.6, "capsize": 1.5})
            if stat == "fpr":
                for x, (v, n) in enumerate(zip(s.value, s.n_tested, strict=True)):
                    bar_ax.text(x + dx, 1.03, "–" if np.isnan(v) else f"{int(n)}", ha="center", fontsize=5)
        labels = [m + ("" if trusted.get(m, 0.0) == 1.0 else " ✗") for m in metrics]
        bar_ax.axhline(2 * alpha, color="C3", ls="--", lw=0.8)
        bar_ax.axhline(0.9, color="C0", ls="--", lw=0.8)
        bar_ax.set_ylim(0, 1.1)
        bar_ax.set_xticks(xs, labels, rotation=60, ha="right", fontsize=6)
        bar_ax.set_title(f"{rep} · {pairing} · {null}", fontsize=8)
        bar_ax.tick_params(labelsize=6)
        ecdf = table[sel & (table.statistic == "p_ecdf")]
        ks = table[sel & (table.statistic == "ks_statistic")].set_index("metric").value
        for i, (metric, e) in enumerate(ecdf.groupby("metric", sort=True)):
            e = e.sort_values("alpha")
            pp_ax.plot(np.r_[0, e.alpha], np.r_[0, e.value], lw=0.8, marker=".", ms=2, color=f"C{i % 10}",
                       label=f"{metric} (KS {ks.get(metric, np.nan):.2f})")
        pp_ax.plot([0, 1], [0, 1], color="k", lw=0.6, ls=":")
        pp_ax.set_xlim(0, 1)
        pp_ax.set_ylim(0, 1)
        pp_ax.set_xlabel("t", fontsize=6)
        pp_ax.set_ylabel("share of null p ≤ t", fontsize=6)
        pp_ax.tick_params(labelsize=6)
        if len(ecdf):
            pp_ax.legend(fontsize=4.5, loc="lower right")
    for ax in axes[len(panels):].ravel():
        ax.axis("off")
    if panels:
        axes[0, 0].legend(fontsize=6, loc="upper left")
    fig.suptitle(f"Calibration at α = {alpha}: false-positive rate over tested null cases (red, bar 2α; ✗ = not "
                 "trusted) and power on shared ones (blue, bar 0.9), 95% intervals; numbers = tested null cases. "
                 "Right: P–P plot of the null p-values", fontsize=7)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
