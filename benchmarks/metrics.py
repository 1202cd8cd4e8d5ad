"""Seconds for 1000 null draws of every default decoder metric: one shared null stream vs one stream per metric.

Paired decoder-like rows: X (n, d) unit rows, Y = X·R + noise (R a random rotation), rows
renormalised; the null is the headline ``random_partners`` of subspace ``all`` with B's live
latents as the pool (n of them, so each draw re-pairs all of them). Three ways to evaluate it,
all on the same draws (same seed), in this process:

* ``stream``: ``permutation_tests`` — every metric on ONE stream of draws, the Y-side work shared
  per draw (one gather, one centred Gram, one eigendecomposition, one product ``U_xᵀ Y``), products in
  ``--precision`` (float32 by default). Runs all ``--n-perm`` draws (never projected).
* ``per-metric``: ``permutation_test(fast=True)`` per metric — each metric its own stream and its own
  gather, Gram, eigendecomposition and product per draw, in float64: the fast path before the shared
  stream. Runs ``--fast-draws`` draws and is projected to ``--n-perm`` with its set-up counted once
  (marked ``~``) when fewer.
* ``plain`` (only with ``--budget`` > 0): ``permutation_test(fast=False)``, the metric recomputed per
  draw, until the budget is spent, projected (``~``).

Column ``max |Δ|``: the largest difference between the stream's and the per-metric path's null values
on their common draws (float32 vs float64 products when ``--precision float32``).

    python benchmarks/metrics.py                       # n = 2048
    python benchmarks/metrics.py --research            # n = 16384, d = 256, 1000 draws

Writes ``benchmarks/results/metrics.json`` (or ``metrics_research.json``) with the machine, the date
and the load average while it ran.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from _report import write_result
from scipy.stats import ortho_group

from saegeom.metrics import permutation_test
from saegeom.metrics.baselines import NullPools, NullStream, permutation_tests
from saegeom.metrics.registry import MetricUndefined
from saegeom.settings import DEFAULT_METRIC_OPTIONS, DEFAULT_METRICS


def _projected(st: NullStream, n_perm: int) -> tuple[float, float]:
    """(wall s, CPU s) for ``n_perm`` draws from one run's set-up and its ``st.n_draws`` draws."""
    k = max(st.n_draws, 1)
    return st.setup_s + st.draws_s / k * n_perm, st.setup_cpu_s + st.draws_cpu_s / k * n_perm


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=2048)
    ap.add_argument("--d", type=int, default=256)
    ap.add_argument("--n-perm", type=int, default=1000)
    ap.add_argument("--budget", type=float, default=0.0, help="seconds of plain draws per metric (0: no plain loop)")
    ap.add_argument("--fast-draws", type=int, default=20,
                    help="per-metric draws measured; projected to --n-perm (set-up counted once) when fewer")
    ap.add_argument("--stream-draws", type=int, default=None,
                    help="shared-stream draws measured (default --n-perm); projected to --n-perm when fewer")
    ap.add_argument("--precision", default="float32", choices=["float32", "float64"])
    ap.add_argument("--device", default="auto", help="shared products: auto (CUDA when present), numpy, cuda")
    ap.add_argument("--research", action="store_true", help="n = 16384 (overrides --n)")
    ap.add_argument("--metrics", default=",".join(DEFAULT_METRICS["decoder"]))
    ap.add_argument("--name", default=None, help="result file name (default metrics / metrics_research)")
    args = ap.parse_args()
    if args.research:
        args.n = 16384
    load_before = os.getloadavg()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.n, args.d))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    y = x @ ortho_group.rvs(args.d, random_state=1) + 0.3 * rng.standard_normal((args.n, args.d)) / np.sqrt(args.d)
    y /= np.linalg.norm(y, axis=1, keepdims=True)
    pools = NullPools(axis=0, b_pool=y, y_pool_idx=np.arange(args.n))
    names = args.metrics.split(",")
    opts = {m: DEFAULT_METRIC_OPTIONS.get(m, {}) for m in names}
    print(f"n={args.n} paired items, d={args.d}, null draws={args.n_perm}, precision={args.precision}, "
          f"load average {load_before[0]:.1f}\n", flush=True)

    w = min(args.n, 64)  # warm-up: imports and first-call costs out of the timings
    permutation_tests(opts, x[:w], y[:w], n_baseline=2, seed=0,
                      pools=NullPools(axis=0, b_pool=y[:w], y_pool_idx=np.arange(w)))
    stream = NullStream("random_partners", 0)
    m = min(args.stream_draws or args.n_perm, args.n_perm)
    shared = permutation_tests(opts, x, y, n_baseline=m, seed=0, pools=pools, precision=args.precision,
                               device=None if args.device == "numpy" else args.device, stream=stream)
    stream_s, stream_cpu = _projected(stream, args.n_perm)
    smark = "~" if m < args.n_perm else ""
    print(f"shared stream: {len(names)} metrics x {args.n_perm} draws in {smark}{stream_s:.1f} s wall, "
          f"{smark}{stream_cpu:.1f} s CPU (set-up {stream.setup_s:.1f} s, {stream.n_draws} draws run)\n", flush=True)

    print(f"{'metric':<24} {'plain s':>9} {'per-metric s':>13} {'CPU s':>9} {'max |Δ|':>9}  note")
    rows, per_metric_total, per_metric_cpu, plain_total = [], 0.0, 0.0, 0.0
    for name in names:
        kw = opts[name]
        s = shared[name]
        if isinstance(s, MetricUndefined):
            print(f"{name:<24} undefined here: {s}")
            continue
        st = NullStream("random_partners", 0)
        per = permutation_test(name, x, y, n_baseline=min(args.fast_draws, args.n_perm), seed=0, pools=pools,
                               fast=True, stream=st, **kw)
        per_s, per_cpu = _projected(st, args.n_perm)
        plain_s = float("nan")
        if args.budget > 0:
            t, k = time.perf_counter(), 1
            while True:
                permutation_test(name, x, y, n_baseline=k, seed=0, pools=pools, fast=False, **kw)
                if time.perf_counter() - t > args.budget or k >= args.n_perm:
                    break
                k = min(args.n_perm, k * 4)
            plain_s = (time.perf_counter() - t) / (k * (4 / 3) if k > 1 else 1) * args.n_perm
            plain_total += plain_s
        kk = min(len(per.samples), len(s.samples))
        delta = float(np.nanmax(np.abs(s.samples[:kk] - per.samples[:kk]))) if kk else float("nan")
        per_metric_total += per_s
        per_metric_cpu += per_cpu
        mark = "~" if args.fast_draws < args.n_perm else ""
        print(f"{name:<24} {plain_s:>9.1f} {mark + f'{per_s:.1f}':>13} {mark + f'{per_cpu:.1f}':>9} {delta:>9.1e}  "
              f"{s.note[:50]}", flush=True)
        rows.append(dict(metric=name, plain_s=plain_s, per_metric_s=per_s, per_metric_cpu_s=per_cpu,
                         per_metric_projected=bool(mark),
                         per_metric_draws=min(args.fast_draws, args.n_perm), max_abs_diff=delta, value=s.value,
                         p_value=s.p_value, note=s.note))
    ratio, ratio_cpu = per_metric_total / stream_s, per_metric_cpu / stream_cpu
    print(f"{'total':<24} {plain_total:>9.1f} {per_metric_total:>13.1f} {per_metric_cpu:>9.1f}")
    print(f"\nshared stream {smark}{stream_s:.1f} s wall / {stream_cpu:.1f} s CPU vs per-metric fast path "
          f"{per_metric_total:.1f} s / {per_metric_cpu:.1f} s: {ratio:.1f}x faster (wall), {ratio_cpu:.1f}x (CPU)\n"
          f"(~ = projected to {args.n_perm} draws from one set-up + the draws run: per-metric {args.fast_draws}, "
          f"stream {m})")
    load = os.getloadavg()
    print(f"load average (1, 5, 15 min): {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs")
    write_result(args.name or ("metrics_research" if args.research else "metrics"), vars(args), rows,
                 stream_s=stream_s, stream_cpu_s=stream_cpu, per_metric_total_s=per_metric_total,
                 per_metric_total_cpu_s=per_metric_cpu, speedup_cpu=ratio_cpu, plain_total_s=plain_total or None,
                 speedup_vs_per_metric=ratio, stream_draws=m, stream_projected=bool(smark),
                 blas_threads=os.environ.get("OPENBLAS_NUM_THREADS", "default"), loadavg_start=list(load_before),
                 loadavg_end=list(load), device=stream_device(args.device))


def stream_device(device: str) -> str:
    """Where the shared products ran (the JSON says so: no GPU means the CPU numbers)."""
    try:
        import torch

        if device != "numpy" and torch.cuda.is_available():
            return f"cuda: {torch.cuda.get_device_name(0)}"
    except ImportError:
        pass
    return "cpu (no GPU visible to torch)"


if __name__ == "__main__":
    main()
