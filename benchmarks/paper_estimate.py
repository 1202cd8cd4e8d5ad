"""Expected time of the publication config per stage, extrapolated from a measured default run.

    python benchmarks/paper_estimate.py -o benchmarks/results/paper_estimate.json

Method: :data:`METHOD` (stored in the JSON and rendered in the docs' "Publication run" page). Re-run it after
a config or rule change, and ``benchmarks/rule_usage.py`` after a change that moves a rule's time.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import yaml

from saegeom.workflow import job_counts

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"

METHOD = [
    "Job counts: a dry run (`snakemake all figures -n`) of each config, parsed from its job table.",
    "Per-job time: the median wall time per job of each rule in a measured run of the default config "
    "(`benchmarks/results/rule_usage_default.json`, written by `benchmarks/rule_usage.py` on 2 CPU cores). A "
    "heavy-tailed rule is underestimated by its median (pair_features: median 9 s, max 279 s there); the "
    "longest-job bound below uses the max.",
    "Work factor per job, paper over default, by what dominates the rule's cost. `compare_models`: null draws × "
    "(pairing × metric × null) cells, the `activations` cells weighted by `n_tokens` (metric cost taken as "
    "linear in the items it sees: a lower bound for RSA's O(n²)), averaged over each config's comparison jobs. "
    "`topology_compare`: topology null draws; `topology_calibration`: topology null draws × null cases. "
    "Language-model rules (`lm_factors`), from the LM block's ratios: `train_lm` optimiser steps × batch; "
    "`lm_activations`, `lm_align` held-out stories; `train_sae` (its LM jobs) SAE training samples × width; "
    "`features`, `category_recovery` and `pair_features` (their LM jobs) held-out stories × SAE width; a rule "
    "with synthetic and LM jobs takes the job-weighted mean of 1 and the LM factor. Every other rule: 1 (the paper "
    "config keeps the default's synthetic worlds and SAEs; a rule whose inputs grow in the paper config must add "
    "its factor in `benchmarks/paper_estimate.py`). Lower bounds where cost grows faster than these ratios (the "
    "LM comparisons' decoder metrics on more pairs of wider SAEs are counted as in `compare_models`).",
    "Rules not in the measured run take a measured rule of the same kind as proxy (`PROXIES`: the paper "
    "figures take `comparison_figure`'s time); target rules without a script (`all`, `figures`) cost 0; rules "
    "with neither are listed without an estimate (`unmeasured_rules`).",
    "Paper CPU-seconds of a rule = paper jobs × median seconds × work factor. The wall time on C cores is at "
    "least total / C (perfect packing) and at least the longest single job (max seconds × factor).",
    "The estimate is for CPUs like the measured machine's; a GPU shortens SAE training, pairing and the "
    "metrics' null draws by a factor not measured here.",
]

#: rule without a measurement → measured rule of the same kind whose time it takes
PROXIES = {f"figure_{name}": "comparison_figure" for name in (
    "layer_heatmaps", "semantic_subspaces", "features_over_training", "trust", "synthetic_overview")}
PROXIES |= {"layer_matrix": "metrics", "training_table": "metrics"}  # both collect comparison tables like it
TARGET_RULES = ("all", "figures")


def dry_run_jobs(config: Path, targets: list[str]) -> dict[str, int]:
    """{rule: jobs} of ``snakemake <targets> -n`` in an empty working directory."""
    snakemake = str(Path(sys.executable).with_name("snakemake"))
    with tempfile.TemporaryDirectory() as d:
        r = subprocess.run([snakemake, "-s", str(REPO / "workflow" / "Snakefile"), "--directory", d, *targets, "-n",
                            "--cores", "1", "--configfile", str(config)], capture_output=True, text=True, check=True)
    return job_counts(r.stdout)


def plan_of(config: Path):
    from saegeom.workflow.plan import Plan

    return Plan.from_config(yaml.safe_load(config.read_text()), str(SCHEMA))


def compare_work(plan) -> float:
    """Mean null-evaluation work per compare_models job (arbitrary units, comparable across configs)."""
    from saegeom.settings import CompareSettings

    works = []
    for study in [*plan.worlds, *plan.calibration_worlds, *plan.lm_comparisons, *plan.training_studies]:
        s = CompareSettings(**plan.compare_settings(study))
        pairings = len(plan.pairing_settings(study)["pairings"])
        cells = sum(len(s.metrics.get(rep, [])) * len(s.baselines.get(rep, [])) * (s.n_tokens if rep == "activations"
                                                                                   else 256)
                    for rep in s.metrics)
        jobs = len(plan.saes(study)) * len(plan.model_pairs(study))
        works += [s.n_baseline * pairings * cells] * jobs
    return sum(works) / len(works) if works else float("nan")


def topology_factors(default, paper) -> dict[str, float]:
    d, p = default.config, paper.config
    draws = p["topology"]["n_baseline"] / d["topology"]["n_baseline"]
    cases = p["calibration"]["topology_cases"] / d["calibration"]["topology_cases"]
    return {"topology_compare": draws, "topology_calibration": draws * cases}


def _mean_ratio(paper: list[float], default: list[float]) -> float:
    return (sum(paper) / len(paper)) / (sum(default) / len(default)) if paper and default else 1.0


def lm_jobs(plan) -> dict[str, int]:
    """LM jobs per rule of a plan: SAEs, feature caches and category recoveries per unit × SAE, pairings per unit
    pair × SAE (the rules that also run synthetic jobs)."""
    per_unit = sum(len(plan.models(st)) * len(plan.saes(st)) for st in [*plan.lm_comparisons, *plan.training_studies])
    pairs = sum(len(plan.model_pairs(st)) * len(plan.saes(st)) for st in [*plan.lm_comparisons, *plan.training_studies])
    return {"train_sae": per_unit, "features": per_unit, "category_recovery": per_unit, "pair_features": pairs}


def lm_factors(default, paper, jobs_paper: dict[str, int]) -> dict[str, float]:
    """Work factors of the LM rules, paper over default (METHOD); mixed rules weighted by their LM jobs."""
    from saegeom.settings import LM_TOY_DEFAULTS

    def toy(plan, key):
        return [float({**LM_TOY_DEFAULTS, **plan.lm["models"][m]}[key]) for m in plan.toy_lms()]

    def sae(plan, key):
        return [float(spec[key]) for spec in plan.lm["saes"].values() if key in spec]

    def stories(plan):
        c = plan.lm["corpus"]
        return c["n_stories"] * c["heldout_fraction"]

    steps = _mean_ratio([a * b for a, b in zip(toy(paper, "steps"), toy(paper, "batch_size"), strict=True)],
                        [a * b for a, b in zip(toy(default, "steps"), toy(default, "batch_size"), strict=True)])
    tokens = stories(paper) / stories(default)
    width = _mean_ratio(sae(paper, "d_sae"), sae(default, "d_sae"))
    samples = _mean_ratio(sae(paper, "training_samples"), sae(default, "training_samples"))
    lm_only = {"train_lm": steps, "lm_activations": tokens, "lm_align": tokens}
    mixed = {"train_sae": samples * width, "features": tokens * width, "category_recovery": tokens * width,
             "pair_features": tokens * width}
    n_lm = lm_jobs(paper)
    out = dict(lm_only)
    for rule, f in mixed.items():
        n = jobs_paper.get(rule, 0)
        k = min(n_lm.get(rule, 0), n)
        out[rule] = (n - k + k * f) / n if n else 1.0
    return out


def estimate(default_cfg: Path, paper_cfg: Path, usage_file: Path, cores: list[int]) -> dict:
    usage = json.loads(usage_file.read_text())
    default, paper = plan_of(default_cfg), plan_of(paper_cfg)
    targets = ["all", "figures"]
    jobs_default, jobs_paper = dry_run_jobs(default_cfg, targets), dry_run_jobs(paper_cfg, targets)
    factors = {"compare_models": compare_work(paper) / compare_work(default), **topology_factors(default, paper),
               **lm_factors(default, paper, jobs_paper)}
    rows, total, longest = [], 0.0, 0.0
    for rule in sorted((set(jobs_paper) | set(jobs_default)) - set(TARGET_RULES)):
        u = usage["rules"].get(rule) or usage["rules"].get(PROXIES.get(rule, ""))
        f = factors.get(rule, 1.0)
        n = jobs_paper.get(rule, 0)
        cpu = n * u["wall_s_median"] * f if u else None
        if cpu is not None:
            total += cpu
            longest = max(longest, u["wall_s_max"] * f)
        rows.append({"rule": rule, "jobs (default)": jobs_default.get(rule, 0), "jobs (paper)": n,
                     "measured s/job (median)": u["wall_s_median"] if u else None,
                     "measured as": rule if rule in usage["rules"] else PROXIES.get(rule) if u else None,
                     "work factor": round(f, 2), "paper CPU-hours": None if cpu is None else round(cpu / 3600, 3)})
    return {
        "benchmark": "paper_estimate",
        "machine": {"when_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    "cpu": f"extrapolated from {usage_file.name} ({usage.get('date', '?')})",
                    "cores": usage.get("machine", {}).get("cpus"), "gpu": None},
        "args": {"default": str(default_cfg.relative_to(REPO)), "paper": str(paper_cfg.relative_to(REPO)),
                 "usage": str(usage_file.relative_to(REPO))},
        "method": METHOD,
        "rows": rows,
        "total_cpu_hours": round(total / 3600, 2),
        "longest_job_hours": round(longest / 3600, 3),
        **{f"wall_hours_on_{c}_cores": round(max(total / c, longest) / 3600, 2) for c in cores},
        "unmeasured_rules": [r["rule"] for r in rows if r["measured s/job (median)"] is None],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--default", type=Path, default=REPO / "config" / "config.yaml")
    ap.add_argument("--paper", type=Path, default=REPO / "config" / "paper.yaml")
    ap.add_argument("--usage", type=Path, default=REPO / "benchmarks" / "results" / "rule_usage_default.json")
    ap.add_argument("--cores", type=int, nargs="+", default=[2, 16, 64])
    ap.add_argument("-o", "--out", type=Path, default=REPO / "benchmarks" / "results" / "paper_estimate.json")
    a = ap.parse_args()
    result = estimate(a.default.resolve(), a.paper.resolve(), a.usage.resolve(), a.cores)
    a.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "rows"}, indent=1))


if __name__ == "__main__":
    main()
