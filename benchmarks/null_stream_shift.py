"""How far the p-values moved when every metric of a (subspace, null) started sharing one null stream.

The null draws of a row used to be seeded per metric; they are now seeded per (comparison, pairing,
representation, subspace, null) and shared by every metric. The observed values do not change; the
p-values are new Monte-Carlo estimates of the same permutation p, so they move by sampling noise only.
This script shows it: it joins the comparison tables computed before and after the change (same
inputs), and for every row with a p-value on both sides reports |p_new − p_old| in units of the
Monte-Carlo standard error se = sqrt(p̄(1 − p̄)/n) (p̄ their mean, n the defined null draws). Two
independent estimates of one p differ by sqrt(2)·se in standard deviation, so over N rows the largest
|Δ|/se from sampling noise alone is about sqrt(2)·Φ⁻¹(1 − 1/(2N)) (``noise_max_z``, ≈ 5 for N = 3500);
more means the two runs do not estimate the same p (a changed value or null).

    python benchmarks/null_stream_shift.py --old OLD_DIR --new NEW_DIR   # results/compare trees

Writes ``benchmarks/results/null_stream_shift.json`` and ``benchmarks/results/null_stream_shift.png``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from _report import RESULTS, write_result

KEY = ["comparison", "pairing", "representation", "subspace", "metric", "baseline"]


def load(root: Path) -> pd.DataFrame:
    """Every comparison table under ``root`` (``<study>/<sae>/<a>~<b>.parquet``), concatenated."""
    files = sorted(root.rglob("*.parquet"))
    if not files:
        raise FileNotFoundError(f"no comparison tables under {root}")
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)


def shift_table(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Rows present in both with a finite p-value on both sides, with ``delta``, ``se`` and ``z`` = |Δ|/se."""
    both = old.merge(new, on=KEY, suffixes=("_old", "_new"), validate="one_to_one")
    both = both[np.isfinite(both["p_value_old"]) & np.isfinite(both["p_value_new"])].copy()
    p = (both["p_value_old"] + both["p_value_new"]) / 2
    n = np.minimum(both["n_baseline_valid_old"], both["n_baseline_valid_new"]).clip(lower=1)
    both["delta"] = (both["p_value_new"] - both["p_value_old"]).abs()
    both["se"] = np.sqrt(p * (1 - p) / n)
    both["z"] = np.where(both["se"] > 0, both["delta"] / both["se"], 0.0)
    both["value_change"] = (both["value_new"] - both["value_old"]).abs()
    return both


def scatter(t: pd.DataFrame, png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(9, 4))
    ax[0].scatter(t["p_value_old"], t["p_value_new"], s=6, alpha=0.5)
    ax[0].plot([0, 1], [0, 1], color="grey", lw=0.8)
    ax[0].set(xscale="log", yscale="log", xlabel="p (one stream per metric)", ylabel="p (one stream per null)",
              title="p-values, same inputs")
    ax[1].hist(t["z"], bins=40)
    ax[1].set(xlabel="|Δp| / Monte-Carlo SE", ylabel="rows", title=f"max {t['z'].max():.2f} SE over {len(t)} rows")
    fig.tight_layout()
    fig.savefig(png, dpi=120, metadata={"Software": None})
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--old", type=Path, required=True, help="results/compare tree computed before the change")
    ap.add_argument("--new", type=Path, required=True, help="the same comparisons computed after it")
    args = ap.parse_args()
    old, new = load(args.old), load(args.new)
    t = shift_table(old, new)
    moved = t[t["delta"] > 0]
    by = (t.groupby(["representation", "baseline"])
          .agg(rows=("z", "size"), moved=("delta", lambda d: int((d > 0).sum())), max_z=("z", "max"),
               mean_z=("z", "mean"), max_abs_delta=("delta", "max")).reset_index())
    print(by.to_string(index=False))
    from scipy.stats import norm

    noise = float(np.sqrt(2) * norm.ppf(1 - 1 / (2 * max(len(t), 1))))
    print(f"\nsampling noise alone: max |Δp|/SE ≈ {noise:.2f} over {len(t)} rows")
    print(f"{len(t)} rows with p on both sides, {len(moved)} moved; max |Δp| = {t['delta'].max():.4f}, "
          f"max |Δp|/SE = {t['z'].max():.2f}, mean {t['z'].mean():.2f}; largest value change "
          f"{t['value_change'].max():.2e} (values do not depend on the draws)")
    png = RESULTS / "null_stream_shift.png"
    RESULTS.mkdir(parents=True, exist_ok=True)
    scatter(t, png)
    write_result("null_stream_shift", {"old": str(args.old), "new": str(args.new)}, by.to_dict("records"),
                 rows_compared=len(t), rows_moved=len(moved), max_abs_delta=float(t["delta"].max()),
                 max_z=float(t["z"].max()), mean_z=float(t["z"].mean()), noise_max_z=noise,
                 max_value_change=float(t["value_change"].max()),
                 rows_same_both=int((t["delta"] == 0).sum()), figure=png.name)


if __name__ == "__main__":
    main()
