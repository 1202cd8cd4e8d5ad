"""Figure ``trust``: what a reader needs to trust the other figures — recovery of a known ground truth and
the calibration of every null.

Table (``results/figures/trust.parquet``), one row per point, ``panel`` saying where it goes:

- ``recovery``: the ground-truth recovery rows of ``results/metrics.parquet`` (synthetic worlds:
  ``model_b = ground_truth``; MMCS, fraction recovered, MCC) on the subspaces ``all``, ``shared`` and
  ``private_a``; ``label`` = ``world/sae/model``, ``low``/``high`` = the random-directions null band
  (mean ± 2 std).
- ``fpr`` / ``power``: the calibration report (``results/calibration.parquet``) at α = 0.05: false-positive
  rate over tested null cases and power on shared ones, ``low``/``high`` = the Clopper–Pearson 95% interval,
  ``label`` = ``representation · pairing · null · metric``, ``trusted`` = the report's verdict.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from saegeom.viz.figures.style import NULL_COLOUR, new_figure, no_data, styled, suptitle
from saegeom.viz.figures.tables import check_columns

TITLE = "Can the comparisons be trusted? Ground-truth recovery and calibration"
CAPTION = (
    "Left: how well each synthetic model's SAE recovers its true features (MMCS, fraction recovered at "
    "cosine ≥ the configured threshold, MCC) on all, shared and private features; grey bar: the "
    "random-directions null (mean ± 2 std). Middle: false-positive rate at α = 0.05 of every metric × "
    "representation × pairing × null over tested null cases (share of p < α where nothing is shared), with "
    "Clopper–Pearson 95% intervals; dashed lines at α and 2α (the trust bar); ✗: not trusted, and rows of an "
    "untrusted null carry trusted = false in metrics.parquet. Right: power (share of p < α on worlds with "
    "shared features), dashed line at 0.9."
)
SOURCES = "results/metrics.parquet (ground-truth recovery rows) and results/calibration.parquet"
COLUMNS = ("panel", "label", "subspace", "metric", "value", "low", "high", "n", "trusted")
RECOVERY_SUBSPACES = ("all", "shared", "private_a")
LEVEL = 0.05  # the calibration level shown (the report's trust level)
GID_UNTRUSTED = "untrusted"


def table(metrics: str | Path, calibration: str | Path) -> pd.DataFrame:
    """The figure's table from ``results/metrics.parquet`` and ``results/calibration.parquet``."""
    m = pd.read_parquet(metrics)
    rec = m[(m["model_b"] == "ground_truth") & m["subspace"].isin(RECOVERY_SUBSPACES)]
    parts = [pd.DataFrame({
        "panel": "recovery", "label": rec["world"] + "/" + rec["sae_a"] + "/" + rec["model_a"],
        "subspace": rec["subspace"], "metric": rec["metric"], "value": rec["value"],
        "low": rec["baseline_mean"] - 2 * rec["baseline_std"], "high": rec["baseline_mean"] + 2 * rec["baseline_std"],
        "n": rec["n_pairs"].astype("float64"), "trusted": np.nan})]
    c = pd.read_parquet(calibration)
    verdict = c[c["statistic"] == "trusted"].set_index(["representation", "pairing", "baseline", "metric"])["value"]
    rates = c[c["statistic"].isin(["fpr", "power"]) & np.isclose(c["alpha"].astype(float), LEVEL)]
    keys = list(zip(rates["representation"], rates["pairing"], rates["baseline"], rates["metric"], strict=True))
    trusted = [verdict.get(k, np.nan) for k in keys]
    parts.append(pd.DataFrame({
        "panel": rates["statistic"].to_numpy(),
        "label": [" · ".join(k) for k in keys], "subspace": "", "metric": rates["metric"].to_numpy(),
        "value": rates["value"].to_numpy(float), "low": rates["ci_low"].to_numpy(float),
        "high": rates["ci_high"].to_numpy(float), "n": rates["n_tested"].to_numpy(float),
        "trusted": np.asarray(trusted, dtype=float)}))
    out = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) else \
        pd.DataFrame({c: [] for c in COLUMNS})
    return out[list(COLUMNS)].sort_values(["panel", "label", "subspace", "metric"]).reset_index(drop=True)


@styled
def draw(table: pd.DataFrame):
    """Three panels (see the module doc); a labelled "no data" panel for an empty table."""
    if table.empty:
        return no_data(TITLE, "no ground-truth recovery rows and no calibration report in this run")
    check_columns(table, COLUMNS, "trust")
    rec = table[table["panel"] == "recovery"]
    fpr = table[table["panel"] == "fpr"]
    power = table[table["panel"] == "power"].set_index("label")
    rec_labels = sorted(set(rec["label"]))
    rec_metrics = sorted(set(rec["metric"]))
    rate_labels = sorted(set(fpr["label"]) | set(power.index))
    height = max(2.5, 0.12 * max(len(rate_labels), len(rec_labels) * len(rec_metrics)) + 1.2)
    fig = new_figure(10.0, height)
    ax_rec, ax_fpr, ax_pow = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1.2, 1.4, 1.0]})
    _recovery(ax_rec, rec, rec_labels, rec_metrics)
    fpr = fpr.set_index("label")
    _rates(ax_fpr, fpr, rate_labels, "false-positive rate at α = 0.05", [LEVEL, 2 * LEVEL], labels_shown=True)
    _rates(ax_pow, power, rate_labels, "power at α = 0.05", [0.9], labels_shown=False)
    suptitle(fig, TITLE)
    return fig


def _recovery(ax, rec: pd.DataFrame, labels: list[str], metrics: list[str]) -> None:
    if rec.empty:
        ax.set_axis_off()
        ax.text(0.5, 0.5, "no ground-truth recovery rows", ha="center", transform=ax.transAxes)
        return
    rows = [(lab, met) for lab in labels for met in metrics]
    ys = {r: i for i, r in enumerate(rows)}
    markers = {"all": "o", "shared": "s", "private_a": "^"}
    for k, sub in enumerate(RECOVERY_SUBSPACES):
        t = rec[rec["subspace"] == sub]
        if t.empty:
            continue
        y = np.array([ys[(a, b)] for a, b in zip(t["label"], t["metric"], strict=True)]) + (k - 1) * 0.22
        ax.hlines(y, t["low"], t["high"], color=NULL_COLOUR, lw=2.5)
        ax.scatter(t["value"], y, marker=markers[sub], s=9, color=f"C{k}", label=sub, zorder=3)
    ax.set_yticks(range(len(rows)), [f"{a} · {b}" for a, b in rows], fontsize=5)
    ax.invert_yaxis()
    ax.set_xlabel("recovery (grey: random-directions null ± 2 std)")
    ax.set_title("ground-truth recovery")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncols=3, fontsize=6, frameon=False)


def _rates(ax, t: pd.DataFrame, labels: list[str], title: str, lines: list[float], labels_shown: bool) -> None:
    ys = np.arange(len(labels))
    if not labels:
        ax.set_axis_off()
        ax.text(0.5, 0.5, "no calibration report", ha="center", transform=ax.transAxes)
        return
    t = t.reindex(labels)
    v = t["value"].to_numpy(float)
    err = np.vstack([v - t["low"].to_numpy(float), t["high"].to_numpy(float) - v]).clip(0)
    ax.errorbar(v, ys, xerr=np.nan_to_num(err), fmt="o", ms=2.5, lw=0.8, color="C0", capsize=1.2)
    untrusted = t["trusted"].to_numpy(float) == 0.0
    ax.scatter(v[untrusted], ys[untrusted], marker="x", s=14, c="C1", zorder=3, gid=GID_UNTRUSTED)
    for x in lines:
        ax.axvline(x, color="0.4", ls="--", lw=0.7)
    high = t["high"].to_numpy(float)
    ax.set_xlim(0, 1 if lines[-1] > 0.5 else max(0.3, float(np.nanmax(np.r_[high, v, 0.0])) * 1.05))
    ax.set_yticks(ys, [lab + (" ✗" if u else "") for lab, u in zip(labels, untrusted, strict=True)]
                  if labels_shown else [], fontsize=5)
    ax.set_ylim(len(labels) - 0.5, -0.5)
    ax.set_title(title)
    ax.set_xlabel(f"share of p < {LEVEL:g} (95% CI)")
