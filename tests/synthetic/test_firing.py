import numpy as np
import pytest
import torch

from saegeom.synthetic.firing import CorrelatedFiring, FeatureGroupFiring, _expected_active, calibrate_scale

CORR = dict(positive_ratio=0.5, uncorrelated_ratio=0.5, min_correlation_strength=0.3, max_correlation_strength=0.6)


def test_expected_active_matches_monte_carlo():
    rng = np.random.default_rng(0)
    u = rng.random(400_000)
    for a in (0.3, 1.0, 2.5, 10.0):
        assert _expected_active(np.array([a]))[0] == pytest.approx(np.minimum(1, a * u).mean(), abs=3e-3)


@pytest.mark.parametrize("correlation", [None, CORR])
@pytest.mark.parametrize("mean_active", [2.0, 6.0])
def test_mean_active_count_within_5_percent(correlation, mean_active):
    f = CorrelatedFiring(64, mean_active=mean_active, decay=0.97, correlation=correlation, seed=1)
    c = f.sample(40_000)
    assert (c > 0).sum(1).float().mean().item() == pytest.approx(mean_active, rel=0.05)
    assert c.min() >= 0 and c.max() <= 1  # magnitudes are U(0, 1)


def test_group_variant_mean_active_and_exclusivity():
    f = FeatureGroupFiring(60, mean_active=3.0, n_groups=4, decay=0.98, seed=2)
    c = f.sample(40_000)
    active = c > 0
    assert active.sum(1).float().mean().item() == pytest.approx(3.0, rel=0.05)
    group = torch.from_numpy(f.group)
    groups_per_row = [(active[i][:, None] & (group[:, None] == torch.arange(4))).any(0).sum().item()
                      for i in range(500)]
    assert max(groups_per_row) <= 1  # each sample fires within a single group


def test_frequencies_decay_with_rank():
    rank = np.random.default_rng(3).permutation(50)
    f = CorrelatedFiring(50, mean_active=4, decay=0.95, rank=rank, correlation=CORR, seed=3)
    freq = (f.sample(60_000) > 0).float().mean(0).numpy()
    by_rank = freq[np.argsort(rank)]
    # monotone up to sampling noise: the rank order is recovered
    from scipy.stats import spearmanr

    assert spearmanr(np.arange(50), by_rank).statistic < -0.95
    assert by_rank[:10].mean() > 2 * by_rank[-10:].mean()
    np.testing.assert_allclose(freq, f.firing_probabilities(), atol=0.01)


def test_correlated_pairs_fire_with_the_configured_sign():
    f = CorrelatedFiring(40, mean_active=8, decay=1.0, correlation=CORR, seed=4)
    corr = (f.chol.double() @ f.chol.double().T).numpy()
    fired = (f.sample(60_000) > 0).double().numpy()
    emp = np.corrcoef(fired.T)
    iu = np.triu_indices(40, 1)
    pos, neg = corr[iu] > 0.3, corr[iu] < -0.3
    assert pos.sum() > 10 and neg.sum() > 10
    assert (emp[iu][pos] > 0).mean() > 0.95
    assert (emp[iu][neg] < 0).mean() > 0.95


def test_same_seed_same_draws_and_bad_input():
    a = CorrelatedFiring(20, 3, seed=7).sample(100)
    b = CorrelatedFiring(20, 3, seed=7).sample(100)
    assert torch.equal(a, b)
    with pytest.raises(ValueError, match="mean_active"):
        calibrate_scale(np.ones(5), 5.0)
    with pytest.raises(ValueError, match="decay"):
        CorrelatedFiring(5, 1, decay=1.5)
