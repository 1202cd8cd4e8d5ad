"""The device co-activation path keeps to the pairing budget as the host path does (run on the CPU)."""

import numpy as np
import pandas as pd
import pytest
from test_pairing import ReluCodes, sparse_codes, write

from saegeom.pairing import coactivation_stats, pair_features
from saegeom.pairing import correlation as corr


def _shards(tmp_path):
    rng = np.random.default_rng(5)
    za = sparse_codes(1500, 23, 0.12, rng)
    zb = np.concatenate([za[:, :12] * (1 + 0.5 * rng.random((1500, 12))), sparse_codes(1500, 7, 0.12, rng)], 1)
    return write(tmp_path, "a", za), write(tmp_path, "b", zb)


def test_device_accumulator_refuses_a_sum_over_budget():
    with pytest.raises(MemoryError, match="pairing_memory_gib"):
        corr.DeviceCoactivationAccumulator(100, 100, "cpu", memory_bytes=100 * 100 * 8 - 1)
    corr.DeviceCoactivationAccumulator(100, 100, "cpu", memory_bytes=100 * 100 * 8)  # exactly fits


def test_device_path_takes_the_blocked_accumulator_under_a_small_budget(tmp_path, monkeypatch):
    """Forced device accumulation (on the CPU here) with a budget that holds 4 A latents per pass: no
    device accumulator is built (it would hold the dense 23 × 19 sums), the blocked passes run, and the
    best partners equal the complete host statistics'."""
    sa, sb = _shards(tmp_path)
    built, passes = [], []
    orig_init, orig_plan = corr.DeviceCoactivationAccumulator.__init__, corr.plan_coactivation

    def spy_init(self, *a, **k):
        built.append(1)
        orig_init(self, *a, **k)

    def spy_plan(*a, **k):
        plan = orig_plan(*a, **k)
        passes.append(plan.passes)
        return plan

    monkeypatch.setattr(corr.DeviceCoactivationAccumulator, "__init__", spy_init)
    monkeypatch.setattr(corr, "plan_coactivation", spy_plan)
    full = coactivation_stats(ReluCodes(23), sa, ReluCodes(19), sb, batch_size=256, progress=False)
    budget = 4 * 19 * 8 * 2 / corr.BLOCK_SHARE  # observed + shifted sums of 4 A latents
    tiny = coactivation_stats(ReluCodes(23), sa, ReluCodes(19), sb, batch_size=256, progress=False, device="cpu",
                              on_device=True, memory_bytes=budget)
    assert not built and passes == [6]
    assert tiny.kept_partners is not None
    for method in ("many_to_one", "one_to_one"):
        pd.testing.assert_frame_equal(pair_features(tiny, method, "auto"), pair_features(full, method, "auto"),
                                      check_exact=True)
    # a budget that holds the dense sums: the device accumulator runs, complete statistics
    roomy = coactivation_stats(ReluCodes(23), sa, ReluCodes(19), sb, batch_size=256, progress=False, device="cpu",
                               on_device=True, memory_bytes=1e9)
    assert len(built) == 2 and roomy.kept_partners is None
    np.testing.assert_allclose(roomy.cross.toarray(), full.cross.toarray(), rtol=1e-9, atol=1e-12)


def test_budget_test_matches_the_host_plan():
    for d_a, d_b, shifted in ((23, 19, True), (64, 10, False), (7, 7, True)):
        for budget in (100.0, 5e3, 2e4, 1e6):
            try:
                one_pass = corr.plan_coactivation(d_a, d_b, budget, shifted).passes == 1
            except MemoryError:
                one_pass = False
            assert corr.device_sums_exceed(d_a, d_b, budget, shifted) == (not one_pass), (d_a, d_b, budget)
