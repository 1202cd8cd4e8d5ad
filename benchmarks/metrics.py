"""Seconds per similarity metric, and for a 1000-permutation baseline table, at n paired items.

Paired decoder-like rows: X (n, d) unit rows, Y = X·R + noise (R a random rotation),
rows renormalised. For each registered metric the script times one evaluation
(the observed value), then runs shuffle-baseline draws until ``--n-perm`` are done
or ``--budget`` seconds are spent; the 1000-permutation time is measured when it
fits the budget and otherwise projected from the draws done (marked ``~``).

    python benchmarks/metrics.py [--n 16384] [--d 256] [--n-perm 1000] [--budget 30] [--metrics a,b]

Quadratic-in-n measures (RSA, k-NN) hold n × n matrices: at n = 16384 that is
2 GiB per float64 matrix, so expect several GiB of memory for them.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.stats import ortho_group

from saegeom.metrics import METRICS

SKIP = {"mcc", "fraction_recovered"}  # ground-truth recovery helpers, not pair metrics


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=16384)
    ap.add_argument("--d", type=int, default=256)
    ap.add_argument("--n-perm", type=int, default=1000)
    ap.add_argument("--budget", type=float, default=30.0, help="seconds of baseline draws per metric")
    default = ["linear_cka"] + [m for m in METRICS if m not in SKIP | {"linear_cka"}]
    ap.add_argument("--metrics", default=",".join(default))
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.n, args.d))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    y = x @ ortho_group.rvs(args.d, random_state=1) + 0.3 * rng.standard_normal((args.n, args.d)) / np.sqrt(args.d)
    y /= np.linalg.norm(y, axis=1, keepdims=True)
    print(f"n={args.n} paired items, d={args.d}, permutations={args.n_perm}, budget={args.budget:.0f}s/metric\n")
    print(f"{'metric':<24} {'value':>8} {'s/eval':>9} {f's/{args.n_perm}-perm table':>20} {'vs first':>14}")
    ref = None
    for name in args.metrics.split(","):
        f = METRICS[name]
        t = time.perf_counter()
        value = f(x, y)
        one = time.perf_counter() - t
        done, t = 0, time.perf_counter()
        while done < args.n_perm and (done == 0 or time.perf_counter() - t < args.budget):
            f(x, y[rng.permutation(args.n)])
            done += 1
        table = (time.perf_counter() - t) / done * args.n_perm
        ref = ref or table  # ratios against the first metric timed (linear_cka by default order)
        mark = "" if done == args.n_perm else "~"
        print(f"{name:<24} {value:>8.4f} {one:>9.3f} {mark + f'{table:.1f}':>20} {table / ref:>14.1f}", flush=True)
    print("\n~ = projected from the draws that fit the budget")


if __name__ == "__main__":
    main()
