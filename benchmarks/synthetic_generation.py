"""Correlated firing: set-up seconds and samples/s, saegeom vs the plain versions, against the matmul floor.

For each G (features): set-up of the plain version (SAELens ``generate_random_correlation_matrix``
— test, repair — then a Cholesky) vs saegeom's one factorisation (``random_correlation_factor``);
then samples/s of activations x = c @ F (F: G × h features) for

* ``floor``: one G×G matmul per sample (randn, then z @ Lᵀ) — nothing cheaper can draw N(0, C);
* ``plain``: the previous sampler (erf, two uniforms per entry: fire and magnitude);
* ``saegeom``: ``CorrelatedFiring.sample`` (ndtr, one uniform per entry) + c @ F;
* ``saegeom cuda``: the same on the GPU when one is present.

Low-rank rows (``correlation: {rank, correlation_scale}``, SAELens' low-rank matrix): set-up seconds of
the firing process (SAELens' import timed apart: it is paid once per process, whatever G) and of a
whole benchmark world (``build_world``: features, bases, firing); samples/s of ``CorrelatedFiring.sample``
+ c @ F against its floor, one Gaussian draw per entry and the one unavoidable matmul, c @ F
(``randn(n, G) @ F``: with a low-rank C the correlated draw costs O(G·r), less than the readout).

    python benchmarks/synthetic_generation.py               # G = 512, 2048
    python benchmarks/synthetic_generation.py --research    # G = 512 ... 8192 (set-up growth) and the
                                                            # low-rank world at G = 16384 (SynthSAEBench scale)

Writes ``benchmarks/results/synthetic_generation.json`` (or ``..._research.json``).
"""

from __future__ import annotations

import argparse
import math
import os
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


def low_rank_row(g: int, args) -> dict:
    """Set-up and samples/s of the low-rank firing process and world at ``g`` features."""
    from saegeom.synthetic.world import build_world

    t = time.perf_counter()
    import sae_lens.synthetic  # noqa: F401  (import cost, once per process)

    import_s = time.perf_counter() - t
    corr = dict(rank=args.rank, correlation_scale=0.075)
    t = time.perf_counter()
    firing = CorrelatedFiring(g, mean_active=args.mean_active, decay=0.9995, correlation=corr, seed=0)
    setup_s = time.perf_counter() - t
    cfg = dict(d_world=args.h, n_features_per_model=g, shared_fraction=1.0, geometry={"kind": "sphere"},
               firing=dict(kind="correlated", mean_active=args.mean_active, decay=0.9995, correlation=corr),
               models={"a": {"basis": "identity"}, "b": {"basis": "rotation"}})
    t = time.perf_counter()
    world = build_world("synthsaebench_scale", cfg, seed=0)
    world.firing()
    world_s = time.perf_counter() - t
    feats = torch.from_numpy(world.features.astype(np.float32))
    gen, b = torch.Generator().manual_seed(1), args.batch
    floor = rate(lambda: torch.randn(b, g, generator=gen) @ feats, args.batches, b)
    ours = rate(lambda: firing.sample(b) @ feats, args.batches, b)
    active = float((firing.sample(b) > 0).sum(1).double().mean())
    return dict(G=g, rank=args.rank, loadavg=os.getloadavg(), h=args.h, mean_active=args.mean_active,
                realised_mean_active=active,
                sae_lens_import_s=import_s, setup_s=setup_s, world_setup_s=world_s, floor_per_s=floor,
                saegeom_per_s=ours, fraction_of_floor=ours / floor,
                floor="torch.randn(n, G) @ F (one Gaussian per entry and the readout matmul)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="512,2048")
    ap.add_argument("--h", type=int, default=512)
    ap.add_argument("--batch", type=int, default=4096)
    ap.add_argument("--batches", type=int, default=5)
    ap.add_argument("--research", action="store_true", help="sizes 512,2048,4096,8192")
    ap.add_argument("--no-plain-setup", action="store_true", help="skip SAELens' set-up (slow at large G)")
    ap.add_argument("--low-rank-sizes", default="2048", help="G of the low-rank rows (empty: none)")
    ap.add_argument("--rank", type=int, default=100, help="rank of the low-rank correlation")
    ap.add_argument("--mean-active", type=float, default=32, help="mean active features (low-rank rows)")
    ap.add_argument("--only-low-rank", action="store_true", help="skip the full-rank rows")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.research:
        args.sizes = "512,2048,4096,8192"
        args.low_rank_sizes = "2048,16384"
    cuda = torch.cuda.is_available()
    print(f"torch threads: {torch.get_num_threads()}  h={args.h}  batch={args.batch}  cuda={cuda}\n")
    print(f"{'G':>6} {'set-up plain s':>15} {'set-up s':>9} {'floor /s':>10} {'plain /s':>10} {'saegeom /s':>11} "
          f"{'of floor':>9} {'cuda /s':>11}")
    rows = []
    for g in [] if args.only_low_rank else map(int, args.sizes.split(",")):
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
    low = []
    for g in [int(x) for x in args.low_rank_sizes.split(",") if x]:
        row = low_rank_row(g, args)
        low.append(row)
        print(f"low rank {args.rank}, G={g}: set-up {row['setup_s']:.2f}s (world {row['world_setup_s']:.2f}s, "
              f"SAELens import {row['sae_lens_import_s']:.1f}s), {row['saegeom_per_s']:,.0f} samples/s = "
              f"{row['fraction_of_floor']:.0%} of floor {row['floor_per_s']:,.0f}/s, "
              f"mean active {row['realised_mean_active']:.1f}", flush=True)
    write_result("synthetic_generation_research" if args.research else "synthetic_generation", vars(args), rows,
                 low_rank=low)


if __name__ == "__main__":
    main()
