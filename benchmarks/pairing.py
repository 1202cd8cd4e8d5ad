"""Pairing two SAEs' latents: sparse co-activation (saegeom) vs dense ``Xᵀ Y``, same codes, same pairs.

Codes are synthetic TopK-like SAE activations: each token fires ``l0`` latents of A (Zipf-like
frequencies); B's codes are A's under a fixed permutation of latents with 20% of firings re-drawn,
so every B latent has a true partner. Codes are generated before timing. Timed, in this process:

* ``dense``: the full (N, d) code matrices and one float32 ``Xᵀ Y`` — measured on the first
  ``--dense-tokens`` tokens and projected linearly to N (a GEMM's cost is linear in N; marked ``~``
  when projected);
* ``sparse (dense sum)``: saegeom's host accumulator (sparse batch products, scatter-added into a
  dense float64 sum when d² fits ``DENSE_CROSS_BYTES``), then many-to-one pairing — the work the dense
  baseline does; the sparse Hungarian pairing (LAPJVsp on the positive-correlation graph, which
  the dense baseline has no counterpart for at this width) is timed separately;
* ``sparse (folded)``: the same with the sparse running sum (any width);
* ``device`` (when CUDA is present): ``DeviceCoactivationAccumulator`` on the GPU.

Pairs are compared with the dense method's when it ran on all N tokens, and between the methods.

``--research``: two 16,384- and two 65,536-latent SAEs over 2^20 tokens with the co-activation sums
bounded to ``--memory-gib`` (``bounded_coactivation_stats``: blocks of A latents, one pass over the
tokens per block), each width in its own child process so that its peak resident memory
(``resource.getrusage(RUSAGE_SELF).ru_maxrss`` at the end of the child: codes, sums, pairing — the whole
process) is its own. The exact reference: for ``--check-b`` random B latents, their sums with every A
latent accumulated densely (d_A × check_b float64, per batch ``Aᵀ B[:, S]``), correlations and best
positive partners computed with numpy; the bounded run's many-to-one partners must equal them.

    python benchmarks/pairing.py               # d_sae 4096, 65536 tokens: a few minutes on 2 cores
    python benchmarks/pairing.py --research    # bounded memory at d_sae 16384 and 65536, 2^20 tokens

Writes ``benchmarks/results/pairing.json`` (or ``pairing_research.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np
import scipy.sparse as sp
from _report import write_result

from saegeom.pairing.correlation import (
    CoactivationAccumulator,
    DeviceCoactivationAccumulator,
    bounded_coactivation_stats,
    plan_coactivation,
)
from saegeom.pairing.match import pair_features


def code_batches(n: int, d: int, l0: int, batch: int, seed: int = 0) -> list[tuple[sp.csr_matrix, sp.csr_matrix]]:
    """(za, zb) CSR float32 batches of TopK-like codes; B follows A through a latent permutation."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(d)
    zipf = 1.0 / np.arange(1, d + 1) ** 0.7
    p = zipf / zipf.sum()
    out = []
    for start in range(0, n, batch):
        b = min(batch, n - start)
        idx = rng.choice(d, (b, l0), p=p)  # repeats within a row are summed (L0 slightly below l0)
        val = rng.random((b, l0)).astype(np.float32)
        rows = np.repeat(np.arange(b), l0)
        idx_b = perm[idx]
        redraw = rng.random(idx.shape) < 0.2
        idx_b[redraw] = rng.choice(d, redraw.sum(), p=p)
        pair = []
        for ix in (idx, idx_b):
            z = sp.csr_matrix((val.ravel(), (rows, ix.ravel())), shape=(b, d))
            z.sum_duplicates()
            pair.append(z)
        out.append(tuple(pair))
    return out


def best_of(pairs, d: int) -> np.ndarray:
    best = np.full(d, -1)
    best[pairs.b_idx.to_numpy()] = pairs.a_idx.to_numpy()
    return best


def dense_method(batches, d: int, n_tokens: int) -> tuple[np.ndarray, float, int]:
    """Dense Xᵀ Y over the first ``n_tokens`` tokens: (best A partner per B latent, seconds, tokens)."""
    t = time.perf_counter()
    rows, used = [], 0
    for za, zb in batches:
        if used >= n_tokens:
            break
        rows.append((za.toarray(), zb.toarray()))
        used += za.shape[0]
    x = np.vstack([a for a, _ in rows])
    y = np.vstack([b for _, b in rows])
    del rows
    n = len(x)
    mu_x, mu_y, sd_x, sd_y = x.mean(0), y.mean(0), x.std(0), y.std(0)
    corr = x.T @ y
    corr /= n
    corr -= np.outer(mu_x, mu_y)
    with np.errstate(divide="ignore", invalid="ignore"):
        corr /= np.outer(sd_x, sd_y)
    corr[~np.isfinite(corr)] = -np.inf
    best = corr.argmax(0)
    best[corr.max(0) <= 0] = -1
    return best, time.perf_counter() - t, n


def sparse_method(batches, d: int, dense_bytes: float | None) -> tuple[dict, float]:
    t = time.perf_counter()
    acc = CoactivationAccumulator(d, d) if dense_bytes is None else CoactivationAccumulator(d, d, dense_bytes)
    for za, zb in batches:
        acc.update(za, zb)
    stats = acc.stats()
    acc_s = time.perf_counter() - t
    out = {"many_to_one": pair_features(stats, "many_to_one")}
    m2o_s = time.perf_counter() - t
    out["hungarian"] = pair_features(stats, "hungarian")
    return out, acc_s, m2o_s, time.perf_counter() - t - m2o_s


def device_method(batches, d: int) -> tuple[dict, float, float]:
    import torch

    dev = "cuda"
    dense = [(torch.from_numpy(za.toarray()).to(dev), torch.from_numpy(zb.toarray()).to(dev)) for za, zb in batches]
    torch.cuda.synchronize()
    t = time.perf_counter()
    acc = DeviceCoactivationAccumulator(d, d, dev)
    for za, zb in dense:
        acc.update(za, zb)
    torch.cuda.synchronize()
    acc_s = time.perf_counter() - t
    stats = acc.stats()
    out = {"many_to_one": pair_features(stats, "many_to_one")}
    m2o_s = time.perf_counter() - t
    out["hungarian"] = pair_features(stats, "hungarian")
    return out, acc_s, m2o_s, time.perf_counter() - t - m2o_s


def reference_best(batches, d_a: int, cols: np.ndarray) -> np.ndarray:
    """Exact best positive A partner (lowest index among ties; −1 when none) of the B latents ``cols``,
    from dense (d_A, len(cols)) float64 sums — independent of the bounded accumulator."""
    n, s = 0, np.zeros((d_a, len(cols)))
    sum_a, sq_a = np.zeros(d_a), np.zeros(d_a)
    sum_b, sq_b = np.zeros(len(cols)), np.zeros(len(cols))
    for za, zb in batches:
        a, b = za.astype(np.float64), zb[:, cols].astype(np.float64)
        s += (a.T @ b).toarray()
        sum_a += np.asarray(a.sum(0)).ravel()
        sq_a += np.asarray(a.multiply(a).sum(0)).ravel()
        sum_b += np.asarray(b.sum(0)).ravel()
        sq_b += np.asarray(b.multiply(b).sum(0)).ravel()
        n += za.shape[0]
    mu_a, mu_b = sum_a / n, sum_b / n
    sd_a, sd_b = np.sqrt(np.maximum(sq_a / n - mu_a**2, 0)), np.sqrt(np.maximum(sq_b / n - mu_b**2, 0))
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = (s / n - np.outer(mu_a, mu_b)) / np.outer(sd_a, sd_b)
    corr[~((s > 0) & (corr > 0))] = -np.inf  # a pair that never co-fires has r ≤ 0 (non-negative codes)
    best = corr.argmax(0)
    best[~np.isfinite(corr.max(0))] = -1
    return best


def bounded_child(args) -> dict:
    """One width of ``--research``: bounded pairing + subsample check; returns the JSON row."""
    d, n = args.d_sae, args.tokens
    t = time.perf_counter()
    batches = code_batches(n, d, args.l0, args.batch)
    gen_s = time.perf_counter() - t
    load0 = os.getloadavg()
    memory = args.memory_gib * 2**30
    plan = plan_coactivation(d, d, memory, shifted=args.shifted)
    print(f"d_sae={d} tokens={n} memory={args.memory_gib} GiB: {plan}", flush=True)
    t = time.perf_counter()
    stats = bounded_coactivation_stats(lambda: iter(batches), d, d, memory, shifted=args.shifted, total=n)
    acc_s = time.perf_counter() - t
    pairs = {m: pair_features(stats, m, "auto" if args.shifted else 0.0) for m in ("many_to_one", "one_to_one")}
    pair_s = time.perf_counter() - t - acc_s
    cols = np.sort(np.random.default_rng(1).choice(d, min(args.check_b, d), replace=False))
    t = time.perf_counter()
    ref = reference_best(batches, d, cols)
    ref_s = time.perf_counter() - t
    got = best_of(pairs["many_to_one"], d)[cols] if args.shifted is False else None
    if got is None:  # with min_corr auto, pairs below the threshold are dropped: compare above it only
        m2o = pair_features(stats, "many_to_one", 0.0)
        got = best_of(m2o, d)[cols]
    rss_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 2**30
    return dict(method="bounded (blocked dense sums)", d_sae=d, tokens=n, l0=args.l0, memory_gib=args.memory_gib,
                shifted_null=args.shifted, passes=plan.passes, block_rows=plan.block_rows,
                codes_seconds_untimed=gen_s, accumulate_seconds=acc_s, tokens_per_s=n * plan.passes / acc_s,
                pairing_seconds=pair_s, reference_seconds=ref_s, peak_rss_gib=rss_gib,
                peak_rss_how="resource.getrusage(RUSAGE_SELF).ru_maxrss of the child process (whole process)",
                n_pairs={m: len(p) for m, p in pairs.items()}, checked_b_latents=len(cols),
                checked_with_partner=int((ref >= 0).sum()), partners_identical=bool((got == ref).all()),
                n_mismatch=int((got != ref).sum()), loadavg_start=load0, loadavg_end=os.getloadavg())


def research(args) -> None:
    rows = []
    for d in args.widths:
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "row.json")
            cmd = [sys.executable, __file__, "--child", out, "--d-sae", str(d), "--tokens", str(args.tokens),
                   "--l0", str(args.l0), "--batch", str(args.batch), "--memory-gib", str(args.memory_gib),
                   "--check-b", str(args.check_b)] + (["--shifted"] if args.shifted else [])
            rc = subprocess.call(cmd)
            row = json.load(open(out)) if rc == 0 and os.path.exists(out) else dict(d_sae=d, failed_rc=rc)
        print(json.dumps(row, indent=1))
        rows.append(row)
        write_result("pairing_research", vars(args), rows, codes="code_batches: TopK-like synthetic codes, "
                     "Zipf(0.7) latent frequencies, B = A under a latent permutation with 20% of firings re-drawn")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--d-sae", type=int, default=4096)
    ap.add_argument("--tokens", type=int, default=65536)
    ap.add_argument("--dense-tokens", type=int, default=None, help="tokens the dense baseline runs on (default all)")
    ap.add_argument("--l0", type=int, default=32)
    ap.add_argument("--batch", type=int, default=4096)
    ap.add_argument("--no-folded", action="store_true", help="skip the folded sparse sum")
    ap.add_argument("--research", action="store_true",
                    help="bounded pairing at d_sae 16384 and 65536 over 2^20 tokens (see the module docstring)")
    ap.add_argument("--widths", type=int, nargs="+", default=[16384, 65536])
    ap.add_argument("--memory-gib", type=float, default=4.0, help="bound on the co-activation sums (--research)")
    ap.add_argument("--check-b", type=int, default=512, help="B latents checked against the exact reference")
    ap.add_argument("--shifted", action="store_true", help="also the token-shifted null sums (min_corr auto)")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        row = bounded_child(args)
        with open(args.child, "w") as f:
            json.dump(row, f, default=float)
        return
    if args.research:
        args.tokens = 2**20 if args.tokens == 65536 else args.tokens
        research(args)
        return
    d, n = args.d_sae, args.tokens
    dense_tokens = min(args.dense_tokens or n, n)
    t = time.perf_counter()
    batches = code_batches(n, d, args.l0, args.batch)
    print(f"d_sae={d}  tokens={n}  l0={args.l0}  batch={args.batch}  (codes generated in "
          f"{time.perf_counter() - t:.1f}s, not timed)\n")
    dense_best, dense_s, dense_n = dense_method(batches, d, dense_tokens)
    dense_full = dense_s * n / dense_n
    rows = [dict(method="dense X.T @ Y (float32)", seconds=dense_full, projected=dense_n < n, tokens_measured=dense_n,
                 ratio=1.0)]
    results = {}
    methods = [("sparse (dense sum)", lambda: sparse_method(batches, d, None))]
    if not args.no_folded:
        methods.append(("sparse (folded)", lambda: sparse_method(batches, d, 0)))
    try:
        import torch

        if torch.cuda.is_available():
            methods.append((f"device ({torch.cuda.get_device_name(0)})", lambda: device_method(batches, d)))
    except ImportError:
        pass
    for name, fn in methods:
        pairs, acc_s, total_s, hung_s = fn()  # total_s: co-activations + many-to-one (what dense computes)
        results[name] = pairs
        rows.append(dict(method=name, seconds=total_s, accumulate_seconds=acc_s, hungarian_seconds=hung_s,
                         projected=False, tokens_measured=n, ratio=dense_full / total_s, tokens_per_s=n / acc_s))
    ref_name = rows[1]["method"]
    ref = results[ref_name]
    for row in rows[1:]:
        got = results[row["method"]]
        row["same_pairs_as_" + ref_name] = all(
            got[m][["a_idx", "b_idx"]].reset_index(drop=True).equals(ref[m][["a_idx", "b_idx"]].reset_index(drop=True))
            for m in ref)
    best = best_of(ref["many_to_one"], d)
    live = (dense_best >= 0) | (best >= 0)
    agree = float((dense_best[live] == best[live]).mean())
    print(f"{'method (co-activation + many-to-one)':<36} {'seconds':>10} {'tokens/s':>12} {'speed-up vs dense':>18} "
          f"{'+ hungarian s':>14}")
    for r in rows:
        mark = "~" if r["projected"] else ""
        tps = r.get("tokens_per_s")
        secs = mark + f"{r['seconds']:.1f}"
        tps = "" if tps is None else f"{tps:,.0f}"
        hung = f"{r['hungarian_seconds']:.1f}" if "hungarian_seconds" in r else ""
        print(f"{r['method']:<36} {secs:>10} {tps:>12} {r['ratio']:>18.1f} {hung:>14}")
    print(f"\n~ = dense measured on {dense_n} tokens, projected linearly to {n}")
    note = "same tokens" if dense_n == n else f"dense on its {dense_n} tokens only"
    print(f"many-to-one best partner equal to dense ({note}) for {agree:.4%} of {live.sum()} live B latents; "
          + ", ".join(f"{r['method']}: same pairs as {ref_name} = {r['same_pairs_as_' + ref_name]}" for r in rows[2:]))
    write_result("pairing_research" if args.research else "pairing", vars(args), rows,
                 agree_with_dense=agree, dense_same_tokens=dense_n == n)


if __name__ == "__main__":
    main()
