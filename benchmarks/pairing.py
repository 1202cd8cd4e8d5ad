"""Sparse streaming correlation (saegeom) vs dense ``X.T @ Y`` on the same SAE codes.

Codes are synthetic TopK-like SAE activations: each token fires ``l0`` latents of A;
B's codes are A's under a fixed permutation of latents, with 20% of firings
re-drawn, so every B latent has a true partner. Both methods compute the full
A × B Pearson correlation statistics over the same N tokens and pick each B
latent's best A partner (many-to-one); the table reports seconds, peak traced
memory (tracemalloc: numpy/scipy buffers) and whether the pairs agree.

    python benchmarks/pairing.py [--d-sae 16384] [--tokens 32768] [--l0 32] [--batch 4096]

The dense baseline materialises N × d_sae codes for both SAEs plus a d_sae × d_sae
matrix, so ``--tokens`` is bounded by memory (about 2·N·d·4 + d²·4 bytes).
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np
import scipy.sparse as sp

from saegeom.pairing.correlation import CoactivationAccumulator
from saegeom.pairing.match import pair_features


def code_batches(n: int, d: int, l0: int, batch: int, seed: int = 0):
    """Yield (za, zb) CSR batches of TopK-like codes; B follows A through a latent permutation."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(d)
    zipf = 1.0 / np.arange(1, d + 1) ** 0.7
    p = zipf / zipf.sum()
    for start in range(0, n, batch):
        b = min(batch, n - start)
        idx = np.stack([rng.choice(d, l0, replace=False, p=p) for _ in range(b)])
        val = rng.random((b, l0)).astype(np.float32)
        rows = np.repeat(np.arange(b), l0)
        za = sp.csr_matrix((val.ravel(), (rows, idx.ravel())), shape=(b, d))
        idx_b = perm[idx]
        redraw = rng.random(idx.shape) < 0.2
        idx_b[redraw] = rng.choice(d, redraw.sum(), p=p)
        zb = sp.csr_matrix((val.ravel(), (rows, idx_b.ravel())), shape=(b, d))
        zb.sum_duplicates()
        yield za, zb


def sparse_method(args) -> tuple[np.ndarray, float, float]:
    tracemalloc.start()
    t = time.perf_counter()
    acc = CoactivationAccumulator(args.d_sae, args.d_sae)
    for za, zb in code_batches(args.tokens, args.d_sae, args.l0, args.batch):
        acc.update(za, zb)
    pairs = pair_features(acc.stats(), "many_to_one")
    secs = time.perf_counter() - t
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    best = np.full(args.d_sae, -1)
    best[pairs.b_idx] = pairs.a_idx
    return best, secs, peak


def dense_method(args) -> tuple[np.ndarray, float, float]:
    tracemalloc.start()
    t = time.perf_counter()
    parts = list(code_batches(args.tokens, args.d_sae, args.l0, args.batch))
    x = np.vstack([za.toarray() for za, _ in parts])  # (N, d) float32
    y = np.vstack([zb.toarray() for _, zb in parts])
    del parts
    n = len(x)
    mu_x, mu_y = x.mean(0), y.mean(0)
    sd_x, sd_y = x.std(0), y.std(0)
    corr = x.T @ y  # the dense baseline: (d, d) float32
    corr /= n
    corr -= np.outer(mu_x, mu_y)
    with np.errstate(divide="ignore", invalid="ignore"):
        corr /= np.outer(sd_x, sd_y)
    corr[~np.isfinite(corr)] = -np.inf
    best = corr.argmax(0)
    best[(corr.max(0) <= 0)] = -1
    secs = time.perf_counter() - t
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return best, secs, peak


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--d-sae", type=int, default=16384)
    ap.add_argument("--tokens", type=int, default=32768)
    ap.add_argument("--l0", type=int, default=32)
    ap.add_argument("--batch", type=int, default=4096)
    args = ap.parse_args()
    print(f"d_sae={args.d_sae}  tokens={args.tokens}  l0={args.l0}  batch={args.batch}\n")
    dense_best, dense_s, dense_peak = dense_method(args)
    sparse_best, sparse_s, sparse_peak = sparse_method(args)
    live = (dense_best >= 0) | (sparse_best >= 0)
    agree = float((dense_best[live] == sparse_best[live]).mean())
    print(f"{'method':<32} {'seconds':>9} {'peak MiB':>10} {'time ratio':>11}")
    print(f"{'dense X.T @ Y (float32)':<32} {dense_s:>9.2f} {dense_peak / 2**20:>10.0f} {1.0:>11.2f}")
    print(f"{'sparse streaming (saegeom)':<32} {sparse_s:>9.2f} {sparse_peak / 2**20:>10.0f} "
          f"{sparse_s / dense_s:>11.2f}")
    print(f"\nsame best partner for {agree:.4%} of {live.sum()} live B latents")


if __name__ == "__main__":
    main()
