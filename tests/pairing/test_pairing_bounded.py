"""Pairing in bounded memory: blocked co-activation sums give exactly the one-pass best partners."""

import tracemalloc

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from test_pairing import ReluCodes, sparse_codes, write

from saegeom.pairing import calibrated_min_corr, coactivation_stats, pair_features
from saegeom.pairing.correlation import CoactivationAccumulator, bounded_coactivation_stats, plan_coactivation

pytestmark = pytest.mark.filterwarnings("ignore:invalid value encountered in divide")


def _codes(seed, n=2400, d_a=23, d_b=19):
    """Row-aligned codes: B0-11 follow A0-11 with noise, the rest independent; a dead latent on each side."""
    rng = np.random.default_rng(seed)
    za = sparse_codes(n, d_a, 0.12, rng)
    zb = np.concatenate([za[:, :12] * (1 + 0.5 * rng.random((n, 12))), sparse_codes(n, d_b - 12, 0.12, rng)], 1)
    za[:, 5], zb[:, 7] = 0, 0
    return za, zb


def _batches(za, zb, size=400):
    return [(sp.csr_matrix(za[s : s + size].astype(np.float32)), sp.csr_matrix(zb[s : s + size].astype(np.float32)))
            for s in range(0, len(za), size)]


def _one_pass(batches, d_a, d_b):
    acc, null = CoactivationAccumulator(d_a, d_b), CoactivationAccumulator(d_a, d_b)
    for za, zb in batches:
        acc.update(za, zb)
        null.update(za, zb[np.roll(np.arange(zb.shape[0]), zb.shape[0] // 2)])
    stats = acc.stats()
    stats.shifted = null.stats()
    return stats


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("block_rows", [1, 4, 7, 22, 23])  # single latents, uneven last blocks, one block
def test_blocked_best_partners_equal_one_pass(seed, block_rows):
    za, zb = _codes(seed)
    bat = _batches(za, zb)
    ref = _one_pass(bat, 23, 19)
    got = bounded_coactivation_stats(lambda: iter(bat), 23, 19, 1e9, shifted=True, block_rows=block_rows,
                                     top_m=2, progress=False)
    # one block whose pairs fit the budget: the complete statistics; else only the kept pairs
    assert got.kept_partners == (None if block_rows == 23 else 2) and ref.kept_partners is None
    if block_rows == 23:
        assert (got.cross != ref.cross).nnz == 0 and (got.shifted.cross != ref.shifted.cross).nnz == 0
    for method in ("many_to_one", "one_to_one"):  # same pairs and the same correlations, bit for bit
        pd.testing.assert_frame_equal(pair_features(got, method), pair_features(ref, method), check_exact=True)
        pd.testing.assert_frame_equal(pair_features(got, method, "auto"), pair_features(ref, method, "auto"),
                                      check_exact=True)
    assert calibrated_min_corr(got) == calibrated_min_corr(ref)
    assert len(pair_features(ref, "many_to_one")) >= 12


@pytest.mark.parametrize("top_m", [1, 3])
def test_kept_graph_holds_each_latents_top_m_positive_partners(top_m):
    za, zb = _codes(2)
    bat = _batches(za, zb, 300)
    got = bounded_coactivation_stats(lambda: iter(bat), 23, 19, 1e9, block_rows=5, top_m=top_m, progress=False)
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.corrcoef(za.T, zb.T)[:23, 23:]  # independent reference
    corr[~((za.T @ zb > 0) & (corr > 0))] = -np.inf
    kept = got.correlation_sparse().toarray() > 0
    want = np.zeros_like(kept)
    for j in range(19):
        top = np.argsort(-corr[:, j], kind="stable")[:top_m]
        want[top[np.isfinite(corr[top, j])], j] = True
    if top_m > 1:
        for i in range(23):
            top = np.argsort(-corr[i], kind="stable")[:top_m]
            want[i, top[np.isfinite(corr[i, top])]] = True
    assert (kept == want).all()


def test_hungarian_exact_when_every_positive_partner_is_kept():
    za, zb = _codes(3)
    bat = _batches(za, zb)
    ref = _one_pass(bat, 23, 19)
    got = bounded_coactivation_stats(lambda: iter(bat), 23, 19, 1e9, block_rows=6, top_m=23, progress=False)
    pd.testing.assert_frame_equal(pair_features(got, "hungarian"), pair_features(ref, "hungarian"), check_exact=True)
    with pytest.raises(ValueError, match="best partners"):
        got.correlation_dense()


def test_budget_is_respected():
    """Peak traced allocations (numpy reports to tracemalloc) of a bounded run stay near its budget,
    where one pass needs 8× more for its dense sums."""
    rng = np.random.default_rng(5)
    d, n = 512, 1200
    za = sparse_codes(n, d, 0.01, rng)
    bat = _batches(za, za * 0.5 + sparse_codes(n, d, 0.01, rng), 50)
    budget = d * d * 8 / 8  # 256 KiB vs 2 MiB for the dense sums
    peaks = {}
    for name, kw in (("bounded", dict(memory_bytes=budget)), ("one pass", dict(memory_bytes=1e9))):
        tracemalloc.start()
        bounded_coactivation_stats(lambda: iter(bat), d, d, progress=False, top_m=1, **kw)
        peaks[name] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert plan_coactivation(d, d, budget).passes > 1
    # budget + one batch's product + kept pairs (O((d_A + d_B)·top_m), hence top_m=1 at this tiny width):
    # measured 1.04-1.79 × budget bounded and 14.7-15.1 × for one pass over seeds 0-5
    assert peaks["bounded"] < 2.5 * budget
    assert peaks["one pass"] > 8 * budget


def test_one_block_whose_pairs_do_not_fit_keeps_best_partners():
    from saegeom.pairing.correlation import COMPLETE_PAIR_BYTES

    za, zb = _codes(6)
    bat = _batches(za, zb)
    ref = _one_pass(bat, 23, 19)
    budget = 2 * 23 * 19 * 8 / 0.6 + 10 * COMPLETE_PAIR_BYTES  # both sums fit, 10 co-firing pairs do not
    assert plan_coactivation(23, 19, budget, shifted=True).passes == 1 and ref.cross.nnz > 10
    got = bounded_coactivation_stats(lambda: iter(bat), 23, 19, budget, shifted=True, top_m=1, progress=False)
    assert got.kept_partners == 1
    pd.testing.assert_frame_equal(pair_features(got, "one_to_one", "auto"), pair_features(ref, "one_to_one", "auto"),
                                  check_exact=True)


def test_budget_too_small_raises_before_reading():
    def never():
        raise AssertionError("read codes")

    with pytest.raises(MemoryError, match="pairing_memory_gib"):
        bounded_coactivation_stats(never, 10, 1000, 1000.0, progress=False)


def test_shards_and_pair_saes_with_a_tiny_budget(tmp_path):
    from saegeom.pairing import pair_saes
    from saegeom.settings import PairingSettings

    za, zb = _codes(4, n=1800)
    sa, sb = write(tmp_path, "a", za), write(tmp_path, "b", zb)
    full = coactivation_stats(ReluCodes(23), sa, ReluCodes(19), sb, batch_size=256, progress=False)
    tiny = coactivation_stats(ReluCodes(23), sa, ReluCodes(19), sb, batch_size=256, progress=False,
                              memory_bytes=4 * 19 * 8 * 2 / 0.6)  # 4 A latents per pass, 6 passes
    assert tiny.kept_partners is not None
    for method in ("many_to_one", "one_to_one"):
        pd.testing.assert_frame_equal(pair_features(tiny, method, "auto"), pair_features(full, method, "auto"),
                                      check_exact=True)
    settings = dict(pairings=["many_to_one", "one_to_one"], pairing_rows=None)
    class Dec(ReluCodes):
        def __init__(self, d):
            super().__init__(d)
            self.W_dec = torch.randn(d, 6, generator=torch.Generator().manual_seed(d))

    args = (tmp_path / "a", tmp_path / "b", Dec(23), Dec(19))
    pd.testing.assert_frame_equal(pair_saes(*args, PairingSettings(**settings, pairing_memory_gib=1e-6)),
                                  pair_saes(*args, PairingSettings(**settings, pairing_memory_gib=None)),
                                  check_exact=True)
    with pytest.raises(ValueError, match="pairing_memory_gib"):
        PairingSettings(pairing_memory_gib=0)
