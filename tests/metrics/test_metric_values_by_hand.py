import itertools

import numpy as np
import pytest
import torch

from saegeom.metrics import MetricUndefined, get_metric, mcc, mmcs, permutation_test
from saegeom.metrics.baselines import p_value
from saegeom.metrics.similarity import fraction_recovered


def test_mmcs_against_loops():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((7, 5)), rng.standard_normal((11, 5))
    ref = np.mean([max(np.dot(a, b) / np.linalg.norm(a) / np.linalg.norm(b) for b in y) for a in x])
    assert mmcs(x, y) == pytest.approx(ref)
    assert mmcs(torch.tensor(x), torch.tensor(y)) == pytest.approx(ref)
    assert mmcs(x, y[rng.permutation(11)]) == pytest.approx(ref)  # ignores row order of Y
    assert mmcs(x, 3.0 * y) == pytest.approx(ref)
    best = [max(np.dot(a, b) / np.linalg.norm(a) / np.linalg.norm(b) for b in y) for a in x]
    assert fraction_recovered(x, y, 0.5) == pytest.approx(np.mean(np.array(best) >= 0.5))


def test_mcc_brute_force():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((4, 5)), rng.standard_normal((6, 5))
    c = np.abs((x / np.linalg.norm(x, axis=1, keepdims=True)) @ (y / np.linalg.norm(y, axis=1, keepdims=True)).T)
    ref = max(np.mean([c[i, p[i]] for i in range(4)]) for p in itertools.permutations(range(6), 4))
    assert mcc(x, y) == pytest.approx(ref)
    assert mcc(torch.tensor(x), torch.tensor(y)) == pytest.approx(ref)


def test_widths_must_match():
    with pytest.raises(MetricUndefined, match="widths"):
        mmcs(np.ones((2, 3)), np.ones((2, 4)))


def test_p_value_definition():
    null = np.array([0.1, 0.2, 0.3, 0.4])
    assert p_value(0.35, null, higher_is_similar=True, reachable_alpha=None)[0] == pytest.approx((1 + 1) / 5)
    assert p_value(0.35, null, higher_is_similar=False, reachable_alpha=None)[0] == pytest.approx((1 + 3) / 5)
    assert p_value(1.0, null, True, reachable_alpha=None)[0] == pytest.approx(1 / 5)
    # 4 draws cannot reach 0.05 (smallest attainable p 1/5): by default no p-value, and the note says why
    p, note = p_value(1.0, null, True)
    assert np.isnan(p) and "smallest attainable p, 0.2" in note
    # a tie up to float noise is a tie (at least as extreme), not a smaller value
    assert p_value(0.4 + 1e-15, null, True, reachable_alpha=None)[0] == pytest.approx(2 / 5)


def test_random_directions_baseline_separates_recovered_from_random():
    rng = np.random.default_rng(2)
    gt = rng.standard_normal((20, 8))
    good = permutation_test("mmcs", gt, gt + 0.05 * rng.standard_normal(gt.shape), n_baseline=99,
                            baseline="random_directions", seed=0)
    bad = permutation_test("mmcs", gt, rng.standard_normal((20, 8)), n_baseline=99,
                           baseline="random_directions", seed=0)
    assert good.p_value == pytest.approx(0.01) and good.value > 0.95
    assert bad.p_value > 0.05
    assert get_metric("mmcs").pairing_sensitive is False
