"""Snapshot the default run's numbers for the docs: ``python docs/snapshot_results.py [--seconds S --jobs N]``.

Run after ``make demo``. Reads ``results/metrics.parquet`` and ``results/calibration.parquet``, the families
and width-ladder validation tables (``results/families/``, ``results/widths/``), copies the overview figures
into ``docs/assets/``, and writes ``docs/results/demo.json`` with the date, machine, commit and every number
the docs quote (``docs/gen_pages.py`` renders them into the "Default run" page and into the
``<!-- demo:... -->`` markers of docs/families.md and docs/synthetic.md). The docs never carry a typed number
about the default run: re-run this after the run changes.

``--merge``: keep the other keys of the existing demo.json and replace only the sections of the families
page (``ceiling_fractions``, ``families``, ``width_ladders``), recording their own date and commit under
``sections_from`` (for a run that built only those tables).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from saegeom.viz.figures import names as figure_names

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"
OUT = ROOT / "docs" / "results" / "demo.json"
FIGURES = {"comparisons.png": "comparisons.png", "calibration.png": "calibration.png"}
# the paper figures (saegeom.viz.figures), shown by the generated figure index (docs/gen_pages.py)
FIGURES |= {f"{name}.png": f"figure_{name}.png" for name in figure_names()}


def _clean(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if hasattr(v, "item"):
        return _clean(v.item())
    return v


def _records(df: pd.DataFrame) -> list[dict]:
    return [{k: _clean(v) for k, v in row.items()} for row in df.to_dict("records")]


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def summarise(metrics: pd.DataFrame, calibration: pd.DataFrame | None) -> dict:
    tested = metrics[metrics.p_value.notna()]
    summary: dict = {
        "rows": len(metrics),
        "rows_by_source": {k: int(v) for k, v in metrics.groupby("source").size().items()},
        "p_values": len(tested),
        "p_below_0.01": int((tested.p_value < 0.01).sum()),
        "comparisons": int(metrics.comparison.nunique()),
    }
    if "q_value" in metrics:
        summary["q_below_0.05"] = int((metrics.q_value < 0.05).sum())
    if "trusted" in metrics:
        summary["rows_trusted"] = int((metrics.trusted == True).sum())  # noqa: E712 (nullable column)
    if calibration is not None:
        summary["calibration"] = _records(calibration_table(calibration))
    return summary


def calibration_table(cal: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """One row per calibrated combination: tested null cases, FPR at ``alpha`` with its 95% interval, the KS
    p-value of the tested null p-values, the verdict, and the power at ``alpha`` (where shared cases exist)."""
    key = ["representation", "pairing", "metric", "baseline"]
    null = cal[cal.baseline != ""]

    def pick(stat, a=None):
        sel = null[(null.statistic == stat) & ((null.alpha - a).abs() < 1e-12 if a is not None else True)]
        return sel.set_index(key)

    fpr, ks, trusted, power = pick("fpr", alpha), pick("ks_p"), pick("trusted"), pick("power", alpha)
    out = pd.DataFrame({"tested null cases": fpr.n_tested, f"FPR at {alpha}": fpr.value.round(3),
                        "FPR 95% upper": fpr.ci_high.round(3)})
    out["KS p"] = ks.value.reindex(out.index).round(3)
    out["trusted"] = trusted.value.reindex(out.index).map({1.0: "yes", 0.0: "no"})
    out[f"power at {alpha}"] = power.value.reindex(out.index).round(3)
    return out.reset_index()


#: the sections --merge replaces (the numbers of docs/families.md and docs/synthetic.md)
FAMILY_SECTIONS = ("ceiling_fractions", "families", "width_ladders")


def ceiling_fractions(metrics: pd.DataFrame) -> list[dict]:
    """Cross-model value as a fraction of the seed ceiling (``value_vs_ceiling``), one record per study × SAE ×
    subspace × representation with a ceiling: ``median``, ``min``, ``max`` and ``n`` over the study's model
    pairs, pairings and similarity metrics (each comparison row counted once, whatever its null). Subspaces and
    representations keep the order of the metrics table."""
    if "value_vs_ceiling" not in metrics:
        return []
    x = metrics[metrics.value_vs_ceiling.notna()]
    x = x.drop_duplicates(["comparison", "subspace", "representation", "pairing", "metric"])
    g = x.groupby(["world", "sae_a", "subspace", "representation"], sort=False).value_vs_ceiling
    out = g.agg(["median", "min", "max", "size"]).reset_index()
    out = out.rename(columns={"world": "study", "sae_a": "sae", "size": "n"})
    return _records(out)


def families_summary(results: Path) -> list[dict]:
    """Per families table with a non-empty validation (``results/families/{study}/{sae}``): the family count by
    number of models, the per-level validation statistics and the adjusted Rand index."""
    out = []
    for vpath in sorted(results.glob("families/*/*_validation.parquet")):
        v = pd.read_parquet(vpath)
        fpath = vpath.with_name(vpath.name.removesuffix("_validation.parquet") + ".parquet")
        if v.empty or not fpath.exists():
            continue
        fam = pd.read_parquet(fpath)
        held = fam.drop_duplicates("family").n_models.value_counts().sort_index(ascending=False)
        stats = v.pivot_table(index="level", columns="statistic", values="value", aggfunc="first")
        levels = [lv for lv in v.level.drop_duplicates() if lv != "any"]
        out.append({
            "study": vpath.parent.name, "sae": fpath.stem, "models": sorted(fam.model.unique().tolist()),
            "n_latents": int(len(fam)), "n_families": int(fam.family.nunique()),
            "families_by_n_models": {str(k): int(n) for k, n in held.items()},
            "levels": [{"level": lv, **{k: _clean(stats.loc[lv, k]) for k in stats.columns
                                         if k in stats and pd.notna(stats.loc[lv, k])}} for lv in levels],
            "ari": _clean(float(stats.loc["any", "ari"])) if "any" in stats.index and "ari" in stats else None,
            "seed": _clean(v.seed.iloc[0]) if "seed" in v else None,
        })
    return out


def width_ladders(results: Path) -> list[dict]:
    """Per width ladder (``results/widths/{study}/{ladder}_validation.parquet``): its validation rows."""
    out = []
    for vpath in sorted(results.glob("widths/*/*_validation.parquet")):
        out.append({"study": vpath.parent.name, "ladder": vpath.name.removesuffix("_validation.parquet"),
                    "rows": _records(pd.read_parquet(vpath))})
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, help="wall-clock seconds of the run (from `time make demo`)")
    ap.add_argument("--jobs", type=int, help="number of Snakemake jobs of the run")
    ap.add_argument("--note", default="", help="circumstances of the run worth stating (e.g. other load)")
    ap.add_argument("--results", type=Path, default=RESULTS, help="the run's results/ folder (default: ./results)")
    ap.add_argument("--merge", action="store_true",
                    help=f"replace only {', '.join(FAMILY_SECTIONS)} in the existing demo.json (module doc)")
    args = ap.parse_args(argv)
    results = args.results
    metrics = pd.read_parquet(results / "metrics.parquet")
    cal_path = results / "calibration.parquet"
    calibration = pd.read_parquet(cal_path) if cal_path.exists() else None
    # the commit of the checkout that produced the results (the folder above results/)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=results.resolve().parent, capture_output=True,
                            text=True).stdout.strip()
    snapshot = {
        "when_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpu": _cpu(), "cores": len(os.sched_getaffinity(0)),
                    "python": platform.python_version()},
        "commit": commit,
        "run": {"seconds": args.seconds, "jobs": args.jobs, "note": args.note},
        **summarise(metrics, calibration),
        "ceiling_fractions": ceiling_fractions(metrics),
        "families": families_summary(results),
        "width_ladders": width_ladders(results),
    }
    if args.merge:
        old = json.loads(OUT.read_text())
        sections = {k: snapshot[k] for k in FAMILY_SECTIONS}
        stamp = {"when_utc": snapshot["when_utc"], "commit": commit, "machine": snapshot["machine"]}
        snapshot = {**old, **sections,
                    "sections_from": {**old.get("sections_from", {}), **{k: stamp for k in FAMILY_SECTIONS}}}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    tmp = OUT.with_suffix(".tmp")
    tmp.write_text(json.dumps(snapshot, indent=1, allow_nan=False))
    tmp.replace(OUT)
    (ROOT / "docs" / "assets").mkdir(parents=True, exist_ok=True)
    for src, dst in ({} if args.merge else FIGURES).items():  # --merge: the figures stay those of the full run
        if (results / "figures" / src).exists():
            shutil.copyfile(results / "figures" / src, ROOT / "docs" / "assets" / dst)
    print(f"wrote {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
