"""Correlated firing: set-up seconds and samples/s, saegeom vs the plain versions, against the matmul floor.

For each G (features): set-up of the plain version (SAELens ``generate_random_correlation_matrix``
— test, repair — then a Cholesky) vs saegeom's one factorisation (``random_correlation_factor``);
then samples/s of activations x = c @ F (F: G × h features) for

* ``floor``: one G×G matmul per sample (randn, then z @ Lᵀ) — nothing cheaper can draw N(0, C);
* ``plain``: the previous sampler (erf, two uniforms per entry: fire and magnitude);
* ``saegeom``: ``CorrelatedFiring.sample`` (ndtr, one uniform per entry) + c @ F;
* ``saegeom cuda``: the same on the GPU when one is present.

    python benchmarks/synthetic_generation.py               # G = 512, 2048
    python benchmarks/synthetic_generation.py --research    # G = 512, 2048, 4096, 8192 (set-up growth)

Writes ``benchmarks/results/synthetic_generation.json`` (or ``..._research.json``).
"""

from __future__ import annotations

import argparse
import math
import time
import warnings

import numpy as np
import torch
from _report import write_result

from saegeom.synthetic.firing import CorrelatedFiring

CORR = dict(positive_ratio=0.5, uncorrelated_ratio=0.9, min_correlation_strength=0.1, max_correlation_strength=0.4)


def plain_setup(g: int) -> tuple[torch.Tensor, float]:
    from sae_lens.synthetic import generate_random_correlation_matrix

    t = time.perf_counter()
    corr = generate_random_correlation_matrix(g, seed=0, dtype=torch.float64, **CORR)
    chol = torch.linalg.cholesky(corr).to(torch.float32)
    return chol, time.perf_counter() - t


def plain_sample(firing: CorrelatedFiring, chol_t: torch.Tensor, n: int, gen: torch.Generator) -> torch.Tensor:
    z = torch.randn(n, firing.n_features, generator=gen) @ chol_t
    p = torch.clamp(0.5 * (1 + torch.erf(z / math.sqrt(2))) * firing._scales, max=1.0)
    fire = torch.rand(p.shape, generator=gen) < p
    return fire * torch.rand(p.shape, generator=gen)


def rate(fn, batches: int, batch: int, sync=lambda: None) -> float:
    fn()
    sync()
    t = time.perf_counter()
    for _ in range(batches):
        fn()
    sync()
    return batches * batch / (time.perf_counter() - t)


def measure(firing: CorrelatedFiring, feats: torch.Tensor, g: int, args) -> tuple[float, float, float, float | None]:
    """samples/s of the floor, the plain sampler, saegeom's, and saegeom's on CUDA (None without a GPU)."""
    chol_t, gen, b = firing._chol_t, torch.Generator().manual_seed(1), args.batch
    floor = rate(lambda: torch.randn(b, g, generator=gen) @ chol_t, args.batches, b)
    plain = rate(lambda: plain_sample(firing, chol_t, b, gen) @ feats, args.batches, b)
    ours = rate(lambda: firing.sample(b) @ feats, args.batches, b)
    if not torch.cuda.is_available():
        return floor, plain, ours, None
    fc = CorrelatedFiring(g, mean_active=5, decay=0.995, correlation=CORR, seed=0, device="cuda")
    fd, big = feats.cuda(), b * 16
    return floor, plain, ours, rate(lambda: fc.sample(big) @ fd, args.batches, big, torch.cuda.synchronize)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="512,2048")
    ap.add_argument("--h", type=int, default=512)
    ap.add_argument("--batch", type=int, default=4096)
    ap.add_argument("--batches", type=int, default=5)
    ap.add_argument("--research", action="store_true", help="sizes 512,2048,4096,8192")
    ap.add_argument("--no-plain-setup", action="store_true", help="skip SAELens' set-up (slow at large G)")
    args = ap.parse_args()
    if args.research:
        args.sizes = "512,2048,4096,8192"
    cuda = torch.cuda.is_available()
    print(f"torch threads: {torch.get_num_threads()}  h={args.h}  batch={args.batch}  cuda={cuda}\n")
    print(f"{'G':>6} {'set-up plain s':>15} {'set-up s':>9} {'floor /s':>10} {'plain /s':>10} {'saegeom /s':>11} "
          f"{'of floor':>9} {'cuda /s':>11}")
    rows = []
    for g in map(int, args.sizes.split(",")):
        plain_s = None
        if not args.no_plain_setup:
            _, plain_s = plain_setup(g)
        t = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            firing = CorrelatedFiring(g, mean_active=5, decay=0.995, correlation=CORR, seed=0)
        setup_s = time.perf_counter() - t
        feats = torch.from_numpy(np.random.default_rng(0).standard_normal((g, args.h)).astype(np.float32))
        floor, plain, ours, dev = measure(firing, feats, g, args)
        row = dict(G=g, setup_plain_s=plain_s, setup_s=setup_s, repaired=bool(caught), floor_per_s=floor,
                   plain_per_s=plain, saegeom_per_s=ours, fraction_of_floor=ours / floor, cuda_per_s=dev)
        rows.append(row)
        ps = "-" if plain_s is None else f"{plain_s:.1f}"
        print(f"{g:>6} {ps:>15} {setup_s:>9.2f} {floor:>10,.0f} {plain:>10,.0f} {ours:>11,.0f} {ours / floor:>9.0%} "
              f"{'-' if dev is None else f'{dev:,.0f}':>11}", flush=True)
    write_result("synthetic_generation_research" if args.research else "synthetic_generation", vars(args), rows)


if __name__ == "__main__":
    main()
