"""Low-rank correlated firing (SAELens' low-rank matrix) and the unchanged default stream."""

import math

import numpy as np
import pytest
import torch
from test_firing_fast import _plain_sample

from saegeom.synthetic.firing import CorrelatedFiring, FeatureGroupFiring, make_firing

LOW = dict(rank=3, correlation_scale=0.45)  # rank · scale² = 0.6: strong copula correlations at G = 30


def test_requested_matrix_is_saelens_low_rank_matrix():
    from sae_lens.synthetic import generate_random_low_rank_correlation_matrix

    f = CorrelatedFiring(40, 4, correlation=LOW, seed=3)
    ref = generate_random_low_rank_correlation_matrix(40, 3, 0.45, seed=3)
    want = (ref.correlation_factor.double() @ ref.correlation_factor.double().T
            + torch.diag(ref.correlation_diag.double())).numpy()
    np.testing.assert_allclose(f.requested_correlation(), want, atol=1e-6)
    np.testing.assert_allclose(np.diag(f.requested_correlation()), 1, atol=1e-6)
    assert f.chol is None  # no G × G factor
    with pytest.raises(ValueError, match="full-rank"):
        CorrelatedFiring(10, 2, correlation=dict(rank=2, positive_ratio=0.5))


@pytest.mark.slow
@pytest.mark.parametrize("seed", [5, 6])
def test_low_rank_sampler_matches_the_plain_sampler_of_the_requested_matrix(seed):
    """The candidate-only low-rank sampler vs an MVN draw with the full requested matrix C = F Fᵀ + D
    (numpy, eigh), Φ, Bernoulli, independent U(0, 1): mean active count, marginal firing rates (also
    against the exact ``firing_probabilities``) and all 435 pairwise firing correlations, within sampling
    error. Measured over seeds 5-9: largest gaps 1.55 (bound 4), 2.91 (4.5), 3.71 (5) and 3.32 (5.5)
    standard errors; structure correlation 0.974-0.982 (bound 0.9)."""
    n = 60_000
    f = CorrelatedFiring(30, mean_active=6, decay=0.97, correlation=LOW, seed=seed)
    fast = f.sample(n).numpy().astype(np.float64)
    plain = _plain_sample(f, f.requested_correlation(), n, seed + 100)
    fa, pa = fast > 0, plain > 0
    assert abs(fa.sum(1).mean() - pa.sum(1).mean()) < 4 * np.sqrt(2 * pa.sum(1).var() / n)
    se = np.sqrt(2 * pa.mean(0) * (1 - pa.mean(0)) / n)
    assert (np.abs(fa.mean(0) - pa.mean(0)) < 4.5 * se).all()
    p = f.firing_probabilities()
    assert (np.abs(fa.mean(0) - p) < 5 * np.sqrt(p * (1 - p) / n)).all()
    iu = np.triu_indices(30, 1)
    cf, cp = np.corrcoef(fa.T)[iu], np.corrcoef(pa.T)[iu]
    assert np.abs(cf - cp).max() < 5.5 * np.sqrt(2 / n)
    assert np.corrcoef(cf, cp)[0, 1] > 0.9  # structure reproduced (~0 if it were not)
    assert fast[fa].mean() == pytest.approx(0.5, abs=0.01) and fast[fa].max() <= 1 and fast.min() >= 0


def test_low_rank_mean_active_and_groups():
    f = make_firing(dict(mean_active=5.0, decay=0.99, correlation=dict(rank=8)), 400, np.arange(400), seed=1)
    assert (f.sample(20_000) > 0).sum(1).float().mean().item() == pytest.approx(5.0, rel=0.03)
    g = FeatureGroupFiring(60, mean_active=3.0, n_groups=4, decay=0.98, correlation=LOW, seed=2)
    active = g.sample(40_000) > 0
    assert active.sum(1).float().mean().item() == pytest.approx(3.0, rel=0.05)
    group = torch.from_numpy(g.group)
    per_row = (active[:, :, None] & (group[None, :, None] == torch.arange(4))).any(1).sum(1)
    assert per_row.max().item() <= 1  # each sample fires within a single group


def _original_stream(f: CorrelatedFiring, n: int, groups: int | None = None) -> torch.Tensor:
    """The full-rank/independent sampler as first written (out of place, erf), same generator calls."""
    z = torch.randn(n, f.n_features, generator=f.generator)
    if f.chol is not None:
        z = z @ f.chol.T
    p = torch.clamp(0.5 * (1 + torch.erf(z / math.sqrt(2))) * f._scales, max=1.0)
    if groups is not None:
        chosen = torch.randint(groups, (n, 1), generator=f.generator)
        p = p * (torch.from_numpy(f.group)[None, :] == chosen)
    fire = torch.rand(p.shape, generator=f.generator) < p
    return torch.rand(p.shape, generator=f.generator) * fire


@pytest.mark.parametrize("correlation", [None, dict(positive_ratio=0.5, uncorrelated_ratio=0.5,
                                                    min_correlation_strength=0.1, max_correlation_strength=0.3)])
def test_default_streams_unchanged_bit_for_bit(correlation):
    a, b = CorrelatedFiring(25, 3, 0.97, correlation=correlation, seed=4), \
        CorrelatedFiring(25, 3, 0.97, correlation=correlation, seed=4)
    assert torch.equal(a.sample(300), _original_stream(b, 300))
    a, b = (FeatureGroupFiring(24, 2, 3, 0.97, correlation=correlation, seed=4) for _ in range(2))
    assert torch.equal(a.sample(300), _original_stream(b, 300, groups=3))
