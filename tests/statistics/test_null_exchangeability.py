"""Nulls under true nulls drawn fresh many times: P(p < 0.05) stays in its binomial 99% interval.

Every case here shares nothing by construction (X and the B side are drawn independently), so a
calibrated null rejects at α = 0.05 in Binomial(n_cases, 0.05) of them; the bounds are that
distribution's central 99% interval (scipy.stats.binom), not numbers from one run. Cases that the
null cannot test (NaN p) are counted apart and never as non-rejections.
"""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binom

from saegeom.compare.core import frequency_bins
from saegeom.features.cache import latent_groups
from saegeom.lm.groups import GroupLabels
from saegeom.metrics import permutation_test
from saegeom.metrics.baselines import NullPools

ALPHA, N_BASELINE = 0.05, 99


def _interval(n_cases: int) -> tuple[float, float]:
    return binom.interval(0.99, n_cases, ALPHA)


def _assert_calibrated(ps: list[float], n_cases: int, lower: bool = True) -> None:
    ps = np.asarray(ps)
    assert np.isfinite(ps).all(), f"{np.isnan(ps).sum()} untested cases"
    hits = int((ps < ALPHA).sum())
    lo, hi = _interval(n_cases)
    assert hits <= hi and (not lower or hits >= lo), f"{hits}/{n_cases} rejections, 99% interval [{lo}, {hi}]"


def _sparse_codes(rng, n_tokens: int, n_latents: int) -> np.ndarray:
    """Sparse, heavy-tailed activations with heterogeneous firing rates (2%-40%), like SAE codes."""
    rate = np.exp(rng.uniform(np.log(0.02), np.log(0.4), n_latents))
    fire = rng.random((n_tokens, n_latents)) < rate
    return fire * rng.standard_exponential((n_tokens, n_latents)) ** 2


def _activation_pvalues(n_pool: int, n_partners: int, n_cases: int, metric: str, seed: int,
                        fast: bool = True) -> list[float]:
    """Activations (columns are pairs): A's partners' codes X independent of B's live latents; the
    partners are a random set of B latents, the null draws from every live one, frequency-matched."""
    ps = []
    for case in range(n_cases):
        rng = np.random.default_rng([seed, case])
        x = _sparse_codes(rng, 64, n_partners)
        pool = _sparse_codes(rng, 64, n_pool)
        live = pool[:, (pool != 0).any(0)]
        bins = frequency_bins((live != 0).mean(0))
        idx = rng.choice(live.shape[1], n_partners, replace=False)
        pools = NullPools(axis=1, b_pool=live, b_pool_bins=bins, y_pool_idx=idx, y_bins=bins[idx])
        r = permutation_test(metric, x, live[:, idx], n_baseline=N_BASELINE, baseline="random_partners",
                             seed=case, pools=pools, fast=fast)
        ps.append(r.p_value)
    return ps


@pytest.mark.parametrize("metric", ["linear_cka", "orthogonal_procrustes"])
def test_activations_8_partners_among_80(metric):
    _assert_calibrated(_activation_pvalues(80, 8, 120, metric, seed=1), 120)


def test_activations_3_partners_among_70():
    _assert_calibrated(_activation_pvalues(70, 3, 120, "linear_cka", seed=2), 120)


def test_fast_and_plain_random_partners_give_the_same_p_values():
    """Both paths draw through the same index sampler: same draws, same p on a fixed seed."""
    for fast in (True, False):
        ps = _activation_pvalues(40, 6, 4, "linear_cka_debiased", seed=3, fast=fast)
        if fast:
            fast_ps = ps
    np.testing.assert_allclose(fast_ps, ps, rtol=1e-12)


@pytest.mark.parametrize("metric", ["mmcs", "linear_cka"])
def test_decoder_partners_filling_half_of_b(metric):
    """Decoder rows (rows are pairs): 36 partners among 72 live B latents in 10 frequency bins."""
    ps = []
    for case in range(120):
        rng = np.random.default_rng([4, case])
        pool = rng.standard_normal((72, 16))
        pool /= np.linalg.norm(pool, axis=1, keepdims=True)
        x = rng.standard_normal((36, 16))
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        bins = frequency_bins(rng.random(72))
        idx = rng.choice(72, 36, replace=False)
        pools = NullPools(axis=0, b_pool=pool, b_pool_bins=bins, y_pool_idx=idx, y_bins=bins[idx])
        r = permutation_test(metric, x, pool[idx], n_baseline=N_BASELINE, baseline="random_partners", seed=case,
                             pools=pools)
        ps.append(r.p_value)
    _assert_calibrated(ps, 120)


def _mismatched_pvalues(n_siblings: int, n_cases: int) -> tuple[list[float], list[str]]:
    ps, notes = [], []
    for case in range(n_cases):
        rng = np.random.default_rng([5, n_siblings, case])
        x, y, *others = (rng.standard_normal((10, 16)) for _ in range(2 + n_siblings))
        r = permutation_test("mmcs", x, y, n_baseline=N_BASELINE, baseline="mismatched_subspace", seed=case,
                             pools=NullPools(axis=0, others=others))
        ps.append(r.p_value)
        notes.append(r.note)
    return ps, notes


def test_mmcs_with_few_sibling_subspaces_gives_no_p_value():
    """4 siblings: the observed subspace is one of 5 configurations, so p >= 0.2 at best: no p-value."""
    ps, notes = _mismatched_pvalues(4, 100)
    assert np.isnan(ps).all() and all("4 other configurations" in n for n in notes)


def test_mmcs_with_many_sibling_subspaces_is_calibrated():
    """24 siblings: one of 25 configurations; rejects when above all of them (rate 1/25 = 0.04)."""
    ps, _ = _mismatched_pvalues(24, 120)
    _assert_calibrated(ps, 120)


def _word_group_case(rng, n_words=40, n_tokens=240):
    """Two SAEs of word detectors on the same random tokens. A latent i detects word i; its B partner
    detects the same word in half of the pairs (a good pair) and another random word otherwise. A random
    category of 10 words, with no relation to which pairs are good, labels the latents through the
    project's group rule (a latent's top tokens); the subspace is tested against ``random_subset``."""
    words = [f"w{i}" for i in range(n_words)]
    tokens = rng.integers(n_words, size=n_tokens)
    good = rng.random(n_words) < 0.5
    b_word = np.where(good, np.arange(n_words), rng.integers(n_words, size=n_words))
    a_codes = (tokens[:, None] == np.arange(n_words)[None]) * rng.lognormal(size=(n_tokens, n_words))
    b_codes = (tokens[:, None] == b_word[None]) * rng.lognormal(size=(n_tokens, n_words))
    category = {"cat": [words[i] for i in rng.choice(n_words, 10, replace=False)]}
    top = lambda word_of: [[words[w]] * 5 for w in word_of]  # noqa: E731 - top tokens: its word
    latents = lambda word_of: pd.DataFrame({"latent": np.arange(n_words),  # noqa: E731
                                            "group": latent_groups(top(word_of), category, 0.5),
                                            "is_concept": True})
    labels = GroupLabels(latents(np.arange(n_words)), latents(b_word), ["cat"])
    idx = np.arange(n_words)  # pair i = (A latent i, B latent i)
    return a_codes, b_codes, labels.masks(idx, idx)


def test_random_word_groups_are_calibrated():
    """Word categories with no meaning: the group is no more alike than a random subset of the pairs.
    (Labelled by both ends, the group keeps only pairs whose latents already agree, and rejects.)"""
    ps = []
    for case in range(120):
        rng = np.random.default_rng([6, case])
        a, b, masks = _word_group_case(rng)
        m = masks["group:cat"]
        pools = NullPools(axis=1, pairs_x=a[:, masks["all"]], pairs_y=b[:, masks["all"]])
        r = permutation_test("linear_cka_debiased", a[:, m], b[:, m], n_baseline=N_BASELINE,
                             baseline="random_subset", seed=case, pools=pools)
        ps.append(r.p_value)
    _assert_calibrated(ps, 120)
