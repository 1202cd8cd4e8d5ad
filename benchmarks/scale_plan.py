"""Scale plan: measure each stage at three small sizes, extrapolate to a research run on a GPU cluster.

    nice -n 19 python benchmarks/scale_plan.py measure    # -> benchmarks/results/scale_plan.json
    python benchmarks/scale_plan.py report                # markdown table from the JSON (no measuring)

Measurement: the real workflow (one synthetic world, two models, one TopK SAE, metrics and topology) runs at
three sizes s = 1, 2, 4, where every size factor doubles with s: tokens (n_samples), d_model (d_world), d_sae,
null draws (n_baseline); `pairs` (matched latents) follows d_sae. benchmarks/rule_usage.py samples each job's
wall time and peak resident memory; the activation cache's bytes on disk are read from the shard files.

Method (stated because three sizes cannot identify five exponents): every stage has a cost model, a product
of powers of the size factors, from its algorithm:
    world + shards      tokens · d_model                          (generate and write the cache)
    SAE training        tokens · d_model · d_sae                  (encoder + decoder products per token)
    pairing             tokens · d_model · d_sae                  (encode every token with both SAEs; the
                                                                  sparse co-activation products cost
                                                                  tokens · k², k fixed)
    metric nulls        draws · pairs · d_model                   (one metric per draw on pairs × d_model)
    topology            d_sae · d_model + n_points²               (farthest-point subsample, fixed n_points)
Since all factors double together, the fitted log-log slope of time against s estimates the *sum* of a
stage's exponents; the table shows the fitted slope next to the model's sum as a check. Extrapolation uses
the cost model with its constant fitted at the largest measured size (the least dominated by start-up), then
converts CPU seconds to GPU seconds with an assumed speed-up (GPU_SPEEDUP; no GPU was measured). Memory is
extrapolated from the dominant array of each stage (exact sizes, not fitted), since measured peaks at small
sizes are dominated by the Python/torch baseline.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OUT = HERE / "results" / "scale_plan.json"
sys.path.insert(0, str(HERE))
from rule_usage import sample_run, summarise  # noqa: E402

SIZES = (1, 2, 4)
STAGES = {  # stage: (rules, exponents in tokens, d_model, d_sae, pairs, draws)
    "world + shards": (["world", "shards"], dict(tokens=1, d_model=1)),
    "SAE training": (["train_sae"], dict(tokens=1, d_model=1, d_sae=1)),
    "pairing": (["pair_features"], dict(tokens=1, d_model=1, d_sae=1)),
    "metric nulls": (["compare_models", "ground_truth_recovery"], dict(draws=1, pairs=1, d_model=1)),
    "topology": (["topology", "topology_compare"], dict(d_sae=1, d_model=1)),
}
# The research run of the plan: two models x 6 layers, 65,536-latent SAEs over 10M tokens, 1000 draws.
RESEARCH = dict(models=2, layers=6, tokens=10_000_000, d_model=768, d_sae=65_536, draws=1000)
GPU_SPEEDUP = 50.0  # assumed CPU-core -> one data-centre GPU speed-up for dense float32 work; not measured


def size_config(s: int, device: str = "cpu") -> dict:
    """The workflow config at size s (factors double with s)."""
    return {
        "seed": 0, "device": device, "n_baseline": 20 * s,
        "worlds": {"scale": {
            "geometry": {"kind": "blobs", "n_clusters": 4, "spread": 0.5}, "d_world": 16 * s,
            "n_features_per_model": 48 * s, "shared_fraction": 0.5, "n_samples": 20_000 * s,
            "shard_rows": 10_000 * s, "firing": {"kind": "correlated", "mean_active": 3, "decay": 0.99},
            "models": {"a": {"basis": "identity"}, "b": {"basis": "rotation"}}}},
        "saes": {"topk": {"architecture": "topk", "d_sae": 64 * s, "k": 4, "lr": 0.003,
                          "training_samples": 100_000 * s, "batch_size": 512}},
        "compare": {"pairings": ["one_to_one"], "n_tokens": 256,
                    "metrics": {"decoder": ["linear_cka", "rsa", "orthogonal_procrustes"],
                                "activations": ["linear_cka", "rsa"], "ground_truth": ["linear_cka"]},
                    "baselines": {"decoder": ["random_partners"], "activations": ["random_partners"],
                                  "ground_truth": ["random_partners"]}},
        "calibration": {"shared_fractions": [0.0, 1.0], "seeds": [0]},
        "topology": {"worlds": ["scale"], "n_points": 64, "n_baseline": 5},
    }


def factors(s: int) -> dict:
    c = size_config(s)
    w = c["worlds"]["scale"]
    return dict(tokens=w["n_samples"], d_model=w["d_world"], d_sae=c["saes"]["topk"]["d_sae"],
                pairs=c["saes"]["topk"]["d_sae"], draws=c["n_baseline"])


def dir_bytes(p: Path) -> int:
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) if p.exists() else 0


def measure_size(s: int, device: str) -> dict:
    """Run the workflow at size s in a fresh directory; per-rule usage and the cache size."""
    snakemake = str(Path(sys.executable).with_name("snakemake"))
    work = Path(tempfile.mkdtemp(prefix=f"scale{s}_"))
    cfg = work / "config.yaml"
    cfg.write_text(yaml.safe_dump(size_config(s, device)))
    cmd = [snakemake, "-s", str(REPO / "workflow" / "Snakefile"), "--directory", str(work),
           "--workflow-profile", "none",
           "results/metrics.parquet", "results/topology/mapper_summary.parquet", "--cores", "1",
           "--resources", "gpu=1", "-q", "--configfile", str(cfg)]
    load = os.getloadavg()
    t0 = time.monotonic()
    rc, jobs = sample_run(cmd, work, 0.5)
    if rc != 0:
        raise SystemExit(f"size {s}: snakemake failed (exit {rc}); workdir kept: {work}")
    run = {"size": s, "factors": factors(s), "loadavg_before": load, "loadavg_after": os.getloadavg(),
           "total_wall_s": round(time.monotonic() - t0, 1), "rules": summarise(jobs, 0.5),
           "cache_bytes": dir_bytes(work / "results" / "worlds" / "scale" / "acts")}
    shutil.rmtree(work, ignore_errors=True)
    print(f"size {s}: {run['total_wall_s']} s", file=sys.stderr)
    return run


def measure(out: Path, device: str = "cpu", parallel: bool = False) -> None:
    """Measure every size (side by side with `parallel`: each size's jobs run one at a time, and the sizes
    share the machine, which inflates wall times equally; memory is per process and unaffected)."""
    if parallel:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(len(SIZES)) as pool:
            runs = list(pool.map(lambda s: measure_size(s, device), SIZES))
    else:
        runs = [measure_size(s, device) for s in SIZES]
    result = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"node": platform.node(), "cpus": os.cpu_count(), "processor": platform.processor() or
                    platform.machine(), "python": platform.python_version()},
        "device": device, "sizes_in_parallel": parallel,
        "note": "run with nice -n 19 on a shared machine (load averages per size below); times are upper bounds",
        "runs": runs,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")


def stage_value(run: dict, rules: list[str], key: str, agg) -> float:
    vals = [run["rules"][r][key] for r in rules if r in run["rules"]]
    return agg(vals) if vals else float("nan")


def slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of log y on log x."""
    lx, ly = [math.log(x) for x in xs], [math.log(y) for y in ys]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly, strict=True)) / sum((a - mx) ** 2 for a in lx)


def research_units(exps: dict, f: dict) -> float:
    return math.prod(f[k] ** e for k, e in exps.items())


def report(path: Path) -> str:
    data = json.loads(path.read_text())
    runs = sorted(data["runs"], key=lambda r: r["size"])
    R = RESEARCH
    n_sae = R["models"] * R["layers"]
    n_pairs_cmp = R["layers"] ** 2  # every layer of model A against every layer of model B
    research = dict(tokens=R["tokens"], d_model=R["d_model"], d_sae=R["d_sae"], pairs=R["d_sae"], draws=R["draws"])
    jobs = {"world + shards": n_sae, "SAE training": n_sae, "pairing": n_pairs_cmp, "metric nulls": n_pairs_cmp,
            "topology": n_sae}
    # dominant arrays (bytes) of one job of each stage at research size
    mem_bytes = {
        "world + shards": 2 * 8192 * R["d_model"] * 4,  # a model's forward pass on a batch, float32
        "SAE training": 2 * R["d_sae"] * R["d_model"] * 4 * 4,  # W_enc + W_dec, Adam moments
        "pairing": R["d_sae"] ** 2 * 8,  # co-activation sums, dense float64 on a GPU (sparse on the host)
        "metric nulls": R["d_sae"] * R["d_sae"] * 8,  # a pairs x pairs similarity (k-NN metrics) if dense
        "topology": R["d_sae"] * R["d_model"] * 4,  # one decoder
    }
    lines = [
        f"Measured {data['date']} on `{data['machine']['node']}` ({data['machine']['cpus']} CPUs, "
        f"{data['machine']['processor']}); {data['note']}. Load averages: "
        + ", ".join(f"s={r['size']}: {r['loadavg_before'][0]:.1f}" for r in runs) + ".",
        "",
        "| stage | wall s at s=1/2/4 | peak MB at s=1/2/4 | fitted time slope | model slope | model |"
        " research jobs | GPU-hours (research) | memory per job (research) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    total_gpu_h = 0.0
    for stage, (rules, exps) in STAGES.items():
        walls = [stage_value(r, rules, "wall_s_max", sum) for r in runs]
        mems = [stage_value(r, rules, "peak_rss_mb_max", max) for r in runs]
        sizes = [r["size"] for r in runs]
        fit = slope(sizes, walls) if all(w > 0 and w == w for w in walls) else float("nan")
        model_slope = sum(exps.values())
        big = runs[-1]
        unit_s = walls[-1] / research_units(exps, big["factors"])
        cpu_s = unit_s * research_units(exps, research) * jobs[stage]
        gpu_h = cpu_s / GPU_SPEEDUP / 3600
        total_gpu_h += gpu_h
        model = " · ".join(f"{k}^{e}" if e != 1 else k for k, e in exps.items())
        lines.append(
            f"| {stage} | {' / '.join(f'{w:.0f}' for w in walls)} | {' / '.join(f'{m:.0f}' for m in mems)} | "
            f"{fit:.2f} | {model_slope} | {model} | {jobs[stage]} | {gpu_h:,.0f} | "
            f"{mem_bytes[stage] / 2**30:,.1f} GiB |")
    cache = R["models"] * R["layers"] * R["tokens"] * R["d_model"] * 4
    measured_cache = [r["cache_bytes"] for r in runs]
    lines += [
        "",
        f"Total ≈ {total_gpu_h:,.0f} GPU-hours at an assumed {GPU_SPEEDUP:.0f}× speed-up of one GPU over one "
        "CPU core (not measured; scale the column by the ratio you measure).",
        f"Activation cache: measured {' / '.join(f'{b / 2**20:.1f}' for b in measured_cache)} MiB at s=1/2/4 "
        f"(= tokens × 2 models × d_model × 4 B); research run {cache / 2**30:,.0f} GiB in float32 "
        f"({cache / 2**31:,.0f} GiB in float16) for {R['models']} models × {R['layers']} layers × "
        f"{R['tokens']:,} tokens × d_model {R['d_model']}.",
        f"Research run: {R['models']} models × {R['layers']} layers, d_sae {R['d_sae']:,}, {R['tokens']:,} tokens, "
        f"{R['draws']} draws, {n_pairs_cmp} layer-pair comparisons; d_model {R['d_model']} assumed (GPT-2 small).",
    ]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["measure", "report"])
    ap.add_argument("--json", type=Path, default=OUT)
    ap.add_argument("--device", default="cpu", help="the workflow's `device` (auto: CUDA when present)")
    ap.add_argument("--parallel", action="store_true", help="measure the three sizes side by side")
    a = ap.parse_args()
    if a.command == "measure":
        measure(a.json, a.device, a.parallel)
    print(report(a.json))


if __name__ == "__main__":
    main()
