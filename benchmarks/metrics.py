"""Seconds for 1000 null draws of every default decoder metric: plain loop vs fast nulls, same draws.

Paired decoder-like rows: X (n, d) unit rows, Y = X·R + noise (R a random rotation), rows
renormalised; the null is the headline ``random_partners`` of subspace ``all`` with B's live
latents as the pool (n of them, so each draw re-pairs all of them). For each metric the plain loop
(``permutation_test(fast=False)``: the metric recomputed per draw) runs until ``--budget`` seconds
are spent and is projected to ``--n-perm`` draws (marked ``~``); the fast path
(``saegeom.metrics.fast_nulls``: X's factorisation, Gram, RDM ranks, k-NN graph reused) runs
``--fast-draws`` draws, projected to ``--n-perm`` with its set-up counted once (``~``). Both use
the same seed, so their first draws must agree (column ``max |Δ|``).

    python benchmarks/metrics.py                       # n = 2048, a few minutes on 2 cores
    python benchmarks/metrics.py --research            # n = 16384, d = 256 (issue 18's target)

Writes ``benchmarks/results/metrics.json`` (or ``metrics_research.json``).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _report import write_result
from scipy.stats import ortho_group

from saegeom.metrics import fast_nulls, permutation_test
from saegeom.metrics.baselines import NullPools
from saegeom.metrics.registry import MetricUndefined
from saegeom.settings import DEFAULT_METRIC_OPTIONS, DEFAULT_METRICS


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=2048)
    ap.add_argument("--d", type=int, default=256)
    ap.add_argument("--n-perm", type=int, default=1000)
    ap.add_argument("--budget", type=float, default=8.0, help="seconds of plain draws per metric")
    ap.add_argument("--fast-draws", type=int, default=100,
                    help="fast draws measured; projected to --n-perm (set-up counted once) when fewer")
    ap.add_argument("--research", action="store_true", help="n = 16384 (overrides --n)")
    ap.add_argument("--metrics", default=",".join(DEFAULT_METRICS["decoder"]))
    ap.add_argument("--no-plain", default="", help="metrics whose plain loop is not run (e.g. rsa at n = 16384: "
                                                   "one plain draw ranks 134M RDM entries and needs ~8 GiB)")
    args = ap.parse_args()
    if args.research:
        args.n = 16384
    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.n, args.d))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    y = x @ ortho_group.rvs(args.d, random_state=1) + 0.3 * rng.standard_normal((args.n, args.d)) / np.sqrt(args.d)
    y /= np.linalg.norm(y, axis=1, keepdims=True)
    pools = NullPools(axis=0, b_pool=y, y_pool_idx=np.arange(args.n))
    print(f"n={args.n} paired items, d={args.d}, null draws={args.n_perm}, plain budget={args.budget:.0f}s/metric\n")
    head = f"{'metric':<24} {'plain s':>10} {'fast s':>9} {'speed-up':>9} {'max |Δ|':>9}  note"
    print(head)
    rows, total_fast, total_plain = [], 0.0, 0.0
    for name in args.metrics.split(","):
        kw = DEFAULT_METRIC_OPTIONS.get(name, {})
        t = time.perf_counter()
        k = 1
        try:
            # plain draws until the budget is spent (same seed: the first k draws of the fast run)
            while name not in args.no_plain.split(","):
                plain = permutation_test(name, x, y, n_baseline=k, seed=0, pools=pools, fast=False, **kw)
                if time.perf_counter() - t > args.budget or k >= args.n_perm:
                    break
                k = min(args.n_perm, k * 4)
        except MetricUndefined as e:
            print(f"{name:<24} undefined here: {e}")
            continue
        plain_s = (time.perf_counter() - t) / (k * (4 / 3) if k > 1 else 1) * args.n_perm  # geometric series
        if name in args.no_plain.split(","):
            plain, plain_s, k = None, float("nan"), 0
        if name in fast_nulls._ROW_EVALUATORS:
            t = time.perf_counter()
            permutation_test(name, x, y, n_baseline=1, seed=0, pools=pools, fast=True, **kw)
            one = time.perf_counter() - t  # set-up, value and one draw
            m = min(args.fast_draws, args.n_perm)
            t = time.perf_counter()
            fast = permutation_test(name, x, y, n_baseline=m, seed=0, pools=pools, fast=True, **kw)
            fast_s = time.perf_counter() - t
            if m < args.n_perm:  # per draw from the difference, plus one set-up
                fast_s = one + max(fast_s - one, 0.0) / max(m - 1, 1) * (args.n_perm - 1)
        else:  # no fast path: the plain loop is what runs
            fast, fast_s = plain, plain_s
            fast.note = "no fast path (plain loop, projected)"
        kk = min(k, len(fast.samples))
        delta = (float(np.nanmax(np.abs(fast.samples[:kk] - plain.samples[:kk])))
                 if plain is not None and "subsample" not in fast.note else None)
        mark = "" if k >= args.n_perm else "~"
        fmark = "" if name not in fast_nulls._ROW_EVALUATORS or args.fast_draws >= args.n_perm else "~"
        total_fast += fast_s
        total_plain += np.nan_to_num(plain_s)
        print(f"{name:<24} {mark + f'{plain_s:.1f}':>10} {fmark + f'{fast_s:.1f}':>9} {plain_s / fast_s:>9.1f} "
              f"{'' if delta is None else f'{delta:.1e}':>9}  {fast.note[:60]}", flush=True)
        rows.append(dict(metric=name, plain_s=plain_s, plain_projected=k < args.n_perm, plain_draws=k,
                         fast_s=fast_s, speedup=plain_s / fast_s, max_abs_diff=delta, note=fast.note,
                         value=fast.value, p_value=fast.p_value))
    print(f"{'total':<24} {total_plain:>10.1f} {total_fast:>9.1f} {total_plain / total_fast:>9.1f}")
    print("\n~ = projected: plain from the draws that fit the budget, fast from --fast-draws draws + set-up")
    write_result("metrics_research" if args.research else "metrics", vars(args), rows,
                 total_fast_s=total_fast, total_plain_s=total_plain)


if __name__ == "__main__":
    main()
