"""Samples/s of saegeom's correlated-firing generator vs the original research code's method.

The original (Sharkey et al. 2022 style) draws each batch with
``np.random.multivariate_normal`` — which factorises the G×G covariance (SVD)
on every call — then ``scipy.stats.norm.cdf``. saegeom factorises once
(Cholesky) and stays in torch. Both produce activations x = c @ F for the same
G, h and batch size, and both are timed in this process.

    python benchmarks/synthetic_generation.py [--sizes 512,2048] [--h 256] [--batch 4096] [--batches 5]
"""

from __future__ import annotations

import argparse
import time
from functools import partial

import numpy as np
import torch
from scipy.stats import norm

from saegeom.synthetic.firing import CorrelatedFiring

CORR = dict(positive_ratio=0.5, uncorrelated_ratio=0.5, min_correlation_strength=0.1, max_correlation_strength=0.4)


def original_method(corr: np.ndarray, weights: np.ndarray, scale: float, feats: np.ndarray, batch: int,
                    rng: np.random.RandomState) -> np.ndarray:
    """Faithful per-batch numpy re-implementation: MVN draw → Φ → decay·scale → Bernoulli × U(0,1) → x."""
    g = corr.shape[0]
    z = rng.multivariate_normal(np.zeros(g), corr, size=batch)
    p = np.minimum(1.0, norm.cdf(z) * weights * scale)
    fire = rng.rand(batch, g) < p
    coeffs = fire * rng.rand(batch, g)
    return coeffs @ feats


def generate(firing: CorrelatedFiring, feats: torch.Tensor, batch: int) -> torch.Tensor:
    """saegeom's path: one sample() call, then x = c @ F."""
    return firing.sample(batch) @ feats


def rate(fn, n_batches: int, batch: int) -> float:
    fn()  # warm-up
    t = time.perf_counter()
    for _ in range(n_batches):
        fn()
    return n_batches * batch / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="512,2048")
    ap.add_argument("--h", type=int, default=256)
    ap.add_argument("--batch", type=int, default=4096)
    ap.add_argument("--batches", type=int, default=5)
    args = ap.parse_args()
    print(f"torch threads: {torch.get_num_threads()}  h={args.h}  batch={args.batch}\n")
    print(f"{'G':>6} {'method':<34} {'samples/s':>12} {'ratio':>8}")
    for g in map(int, args.sizes.split(",")):
        firing = CorrelatedFiring(g, mean_active=5, decay=0.995, correlation=CORR, seed=0)
        corr = (firing.chol.double() @ firing.chol.double().T).numpy()
        scale = float(firing._scales[0] / firing.weights[0])
        feats = np.random.default_rng(0).standard_normal((g, args.h)).astype(np.float32)
        feats_t = torch.from_numpy(feats)
        rs = np.random.RandomState(0)
        base = rate(partial(original_method, corr, firing.weights, scale, feats, args.batch, rs),
                    args.batches, args.batch)
        ours = rate(partial(generate, firing, feats_t, args.batch), args.batches, args.batch)
        print(f"{g:>6} {'original (np MVN per batch + cdf)':<34} {base:>12,.0f} {1.0:>8.2f}")
        print(f"{g:>6} {'saegeom CorrelatedFiring (torch)':<34} {ours:>12,.0f} {ours / base:>8.2f}")


if __name__ == "__main__":
    main()
