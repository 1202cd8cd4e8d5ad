import itertools
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from saegeom.io.shards import ShardWriter
from saegeom.pairing import coactivation_stats, decoder_cosine_pairs, pair_features

# np.corrcoef on the reference side divides by zero for the dead latents on purpose
pytestmark = pytest.mark.filterwarnings("ignore:invalid value encountered in divide")


class ReluCodes(torch.nn.Module):
    """Stand-in SAE whose codes are relu(x): lets tests write the codes directly."""

    def __init__(self, d):
        super().__init__()
        self.cfg = SimpleNamespace(d_sae=d)

    def encode(self, x):
        return torch.relu(x)


def sparse_codes(n, d, p, rng):
    return (rng.random((n, d)) < p) * rng.random((n, d))


def write(tmp, name, x, mask=None):
    w = ShardWriter(tmp / name, x.shape[1], 300)
    w.add(x, None if mask is None else {"mask": mask.astype(np.uint8)})
    return w.close()


@pytest.fixture
def codes():
    rng = np.random.default_rng(0)
    za = sparse_codes(1000, 12, 0.2, rng)
    zb = np.concatenate([za[:, :6] * 2 + 0.05 * (za[:, :6] > 0) * rng.random((1000, 6)),  # B0-5 follow A0-5
                         za[:, [0]] * 0.5 + sparse_codes(1000, 1, 0.1, rng),              # B6 also follows A0
                         sparse_codes(1000, 3, 0.2, rng),                                 # B7-9 independent
                         np.zeros((1000, 1))], axis=1)                                    # B10 dead
    za[:, 11] = 0                                                                         # A11 dead
    return za, zb


def test_streaming_correlation_equals_dense_corrcoef(tmp_path, codes):
    za, zb = codes
    stats = coactivation_stats(ReluCodes(12), write(tmp_path, "a", za), ReluCodes(11), write(tmp_path, "b", zb),
                               batch_size=128, progress=False)
    ref = np.corrcoef(za.T, zb.T)[:12, 12:]
    dense = stats.correlation_dense()
    live = np.ix_(stats.alive_a, stats.alive_b)
    np.testing.assert_allclose(dense[live], ref[live], atol=1e-5)
    assert np.isnan(dense[11]).all() and np.isnan(dense[:, 10]).all()
    sparse = stats.correlation_sparse().toarray()
    cofire = (za.T > 0).astype(int) @ (zb > 0).astype(int) > 0
    np.testing.assert_allclose(sparse[cofire], ref[cofire], atol=1e-5)


def test_masked_rows_are_left_out(tmp_path, codes):
    za, zb = codes
    mask = np.random.default_rng(1).random(1000) > 0.3
    garbage = np.where(mask[:, None], zb, 5.0)  # masked rows hold junk that must not count
    stats = coactivation_stats(ReluCodes(12), write(tmp_path, "a", za, mask), ReluCodes(11),
                               write(tmp_path, "b", garbage), progress=False)
    assert stats.n == mask.sum()
    ref = np.corrcoef(za[mask].T, zb[mask].T)[:12, 12:]
    live = np.ix_(stats.alive_a, stats.alive_b)
    np.testing.assert_allclose(stats.correlation_dense()[live], ref[live], atol=1e-5)


def test_pairings(tmp_path, codes):
    za, zb = codes
    stats = coactivation_stats(ReluCodes(12), write(tmp_path, "a", za), ReluCodes(11), write(tmp_path, "b", zb),
                               progress=False)
    corr = np.corrcoef(za.T, zb.T)[:12, 12:]
    corr[11], corr[:, 10] = np.nan, np.nan

    m2o = pair_features(stats, "many_to_one")
    for _, r in m2o.iterrows():
        assert r.a_idx == np.nanargmax(corr[:, r.b_idx])
        assert r.score == pytest.approx(np.nanmax(corr[:, r.b_idx]), abs=1e-5)
    assert 10 not in set(m2o.b_idx) and 11 not in set(m2o.a_idx)  # dead latents never paired
    assert m2o.set_index("b_idx").loc[6, "a_idx"] == 0  # B6 → A0 as well as B0 → A0

    o2o = pair_features(stats, "one_to_one")
    assert o2o.a_idx.is_unique
    assert o2o.set_index("a_idx").loc[0, "b_idx"] == 0  # B0 correlates better with A0 than B6 does
    # best-correlated partner wins even when it has the larger index: swap the roles of B0 and B6
    swapped = pair_features(coactivation_stats(ReluCodes(12), write(tmp_path, "a2", za), ReluCodes(11),
                                               write(tmp_path, "b2", zb[:, [6, 1, 2, 3, 4, 5, 0, 7, 8, 9, 10]]),
                                               progress=False), "one_to_one")
    assert swapped.set_index("a_idx").loc[0, "b_idx"] == 6

    hung = pair_features(stats, "hungarian")
    assert hung.a_idx.is_unique and hung.b_idx.is_unique
    # on a 5×5 core the assignment is the brute-force optimum (minus pairs with r <= 0, which are dropped)
    core_a, core_b = [0, 1, 2, 3, 4], [0, 1, 2, 3, 6]
    c5 = corr[np.ix_(core_a, core_b)]
    best = max(itertools.permutations(range(5)), key=lambda p: sum(c5[i, p[i]] for i in range(5)))
    expected = {(core_a[i], core_b[best[i]]) for i in range(5) if c5[i, best[i]] > 0}
    from saegeom.pairing.correlation import CoactivationStats

    s5 = CoactivationStats(stats.n, stats.sum_a[core_a], stats.sumsq_a[core_a], stats.count_a[core_a],
                           stats.sum_b[core_b], stats.sumsq_b[core_b], stats.count_b[core_b],
                           stats.cross[core_a][:, core_b])
    got = pair_features(s5, "hungarian")
    assert {(core_a[a], core_b[b]) for a, b in zip(got.a_idx, got.b_idx, strict=True)} == expected

    strict = pair_features(stats, "many_to_one", min_corr=0.5)
    assert (strict.score >= 0.5).all() and len(strict) < len(m2o)
    with pytest.raises(ValueError, match="min_corr"):
        pair_features(stats, "many_to_one", min_corr=-0.1)


def test_rows_must_align(tmp_path, codes):
    za, zb = codes
    with pytest.raises(ValueError, match="row-aligned"):
        coactivation_stats(ReluCodes(12), write(tmp_path, "a", za), ReluCodes(11), write(tmp_path, "b", zb[:900]),
                           progress=False)


def test_decoder_cosine_pairs_brute_force():
    rng = np.random.default_rng(3)
    da = rng.standard_normal((20, 8))
    db = rng.standard_normal((15, 8))
    da /= np.linalg.norm(da, axis=1, keepdims=True)
    db /= np.linalg.norm(db, axis=1, keepdims=True)
    alive_a = np.ones(20, bool)
    alive_a[3] = False
    df = decoder_cosine_pairs(da, db, alive_a=alive_a, chunk=4)
    for _, r in df.iterrows():
        cos = [da[i] @ db[r.b_idx] if alive_a[i] else -np.inf for i in range(20)]
        assert r.a_idx == int(np.argmax(cos)) and r.score == pytest.approx(max(cos))
    assert len(df) == 15
    with pytest.raises(ValueError, match="widths"):
        decoder_cosine_pairs(da, rng.standard_normal((4, 9)))


def test_accumulator_folding_does_not_change_the_sums():
    import scipy.sparse as sp

    from saegeom.pairing.correlation import CoactivationAccumulator

    rng = np.random.default_rng(4)
    za, zb = sparse_codes(600, 30, 0.1, rng), sparse_codes(600, 20, 0.1, rng)
    eager, lazy = CoactivationAccumulator(30, 20, dense_bytes=0), CoactivationAccumulator(30, 20, dense_bytes=0)
    dense = CoactivationAccumulator(30, 20)
    assert eager.dense is None and dense.dense is not None
    eager.fold_factor, eager.fold_min_nnz = 0, 0  # fold after every batch
    for start in range(0, 600, 50):
        for acc in (eager, lazy, dense):
            acc.update(sp.csr_matrix(za[start : start + 50]), sp.csr_matrix(zb[start : start + 50]))
    for acc in (eager, lazy, dense):
        np.testing.assert_allclose(acc.stats().cross.toarray(), za.T @ zb, atol=1e-9)
    assert eager.stats().n == lazy.stats().n == dense.stats().n == 600


def test_masked_rows_are_skipped_when_streaming_and_pairing_eval_rows(tmp_path, codes):
    from saegeom.compare import held_out_codes

    za, zb = codes
    rng = np.random.default_rng(7)
    mask_a, mask_b = rng.random(1000) > 0.2, rng.random(1000) > 0.2
    sa = write(tmp_path / "acts", "a", za, mask_a)
    write(tmp_path / "acts", "b", zb, mask_b)
    np.testing.assert_array_equal(sa.read(), za[mask_a].astype(np.float32))  # streaming views drop masked rows
    held = held_out_codes(tmp_path / "acts" / "a", tmp_path / "acts" / "b", ReluCodes(12), ReluCodes(11), n_tokens=50)
    ca, cb = held.codes_a, held.codes_b
    held_out = np.arange(900, 1000)  # last shard of 300-row shards
    both = held_out[mask_a[held_out] & mask_b[held_out]][:50]
    np.testing.assert_allclose(ca, za[both], atol=1e-6)  # same tokens on both sides, in order
    np.testing.assert_allclose(cb, zb[both], atol=1e-6)


def test_hungarian_maximises_positive_correlation_only():
    """r = [[0.861, 0.323], [-0.279, -0.934]]: letting the negative entries into the objective picks
    (a0, b1) + (a1, b0) (total 0.044 > -0.073) and then drops (a1, b0), keeping r = 0.323; the best
    positive one-to-one match is (a0, b0) with r = 0.861."""
    from saegeom.pairing import assign_positive

    r = np.array([[0.861, 0.323], [-0.279, -0.934]])
    rows, cols = assign_positive(r)
    kept = {(int(i), int(j)) for i, j in zip(rows, cols, strict=True) if r[i, j] > 0}
    assert kept == {(0, 0)}
    # against brute force over every one-to-one matching of a random matrix with negatives
    rng = np.random.default_rng(5)
    m = rng.uniform(-1, 1, (5, 5))
    best = max(itertools.permutations(range(5)), key=lambda p: sum(max(m[i, p[i]], 0) for i in range(5)))
    rows, cols = assign_positive(m)
    assert sum(max(m[i, j], 0) for i, j in zip(rows, cols, strict=True)) == pytest.approx(
        sum(max(m[i, best[i]], 0) for i in range(5)))


def _shifted_fixture(tmp_path, rng, n=6000, d=40, related=20):
    """A: independent sparse codes; B: the first ``related`` latents copy A's (noisy), the rest independent."""
    za = sparse_codes(n, d, 0.05, rng)
    zb = sparse_codes(n, d, 0.05, rng)
    zb[:, :related] = za[:, :related] * (1 + 0.1 * rng.random((n, related)))
    return coactivation_stats(ReluCodes(d), write(tmp_path, "a", za), ReluCodes(d), write(tmp_path, "b", zb),
                              batch_size=1024, progress=False)


def test_auto_min_corr_drops_chance_partners_and_keeps_real_ones(tmp_path):
    from saegeom.pairing import calibrated_min_corr

    stats = _shifted_fixture(tmp_path, np.random.default_rng(6))
    assert stats.shifted is not None and stats.shifted.n == stats.n
    # the shift keeps every latent's marginals
    np.testing.assert_allclose(stats.shifted.sum_b, stats.sum_b)
    np.testing.assert_allclose(stats.shifted.sumsq_b, stats.sumsq_b)
    thr = calibrated_min_corr(stats, 0.99)
    # chance correlations of independent sparse codes over 6000 tokens are O(1/sqrt(n)) ~ 0.013;
    # the best of 40 is a few times that; real pairs sit near 1
    assert 0.0 < thr < 0.2
    loose = pair_features(stats, "hungarian", min_corr=0.0)
    auto = pair_features(stats, "hungarian", min_corr="auto")
    assert (auto.min_score == thr).all() and (auto.score >= thr).all()
    real = set(zip(range(20), range(20), strict=True))
    assert real <= set(zip(auto.a_idx, auto.b_idx, strict=True))  # every planted pair survives
    chance = len(loose) - 20
    assert chance >= 10  # with min_corr 0, independent latents get noise partners ...
    assert len(auto) - 20 <= 3  # ... which the calibrated threshold removes (quantile .99 of 20 nulls)


def test_pair_saes_table_and_skips(tmp_path):
    from saegeom.pairing import PAIRS_SCHEMA, pair_saes
    from saegeom.settings import PairingSettings

    rng = np.random.default_rng(8)
    za = sparse_codes(1500, 8, 0.2, rng)
    write(tmp_path, "a", za)
    write(tmp_path, "b", za[:, ::-1].copy())

    class Dec(ReluCodes):
        def __init__(self, d, width):
            super().__init__(d)
            self.W_dec = torch.randn(d, width)

    extra = {"ground_truth": pair_features(coactivation_stats(ReluCodes(8), write(tmp_path, "a2", za), ReluCodes(8),
                                                              write(tmp_path, "b2", za), progress=False), "one_to_one")}
    pairs = pair_saes(tmp_path / "a", tmp_path / "b", Dec(8, 6), Dec(8, 7),
                      PairingSettings(pairings=["hungarian", "decoder_cosine", "ground_truth"]), extra=extra)
    assert list(pairs.columns) == PAIRS_SCHEMA.names
    assert set(pairs.pairing) == {"hungarian", "ground_truth"}  # decoder_cosine: widths 6 and 7 differ
    hung = pairs[pairs.pairing == "hungarian"]
    assert set(zip(hung.a_idx, hung.b_idx, strict=True)) == {(i, 7 - i) for i in range(8)}


def test_single_shard_set_warns_that_held_out_tokens_are_reused(tmp_path, codes, caplog):
    from saegeom.compare import held_out_codes

    za, zb = codes
    a = ShardWriter(tmp_path / "a", 12, 5000).add(za).close()  # one shard: nothing can be held out
    b = ShardWriter(tmp_path / "b", 11, 5000).add(zb).close()
    with caplog.at_level("WARNING"):
        held = held_out_codes(a, b, ReluCodes(12), ReluCodes(11), n_tokens=20)
    assert held.codes_a.shape == (20, 12) and "single shard" in caplog.text
