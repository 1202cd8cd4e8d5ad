"""Comparisons end to end on planted worlds: pairing → subspaces → metrics with baselines."""

import numpy as np
import pandas as pd
import pytest

from saegeom.compare.pairwise import CompareSettings, SAEView, matrices_rows
from saegeom.compare.rows import Context
from saegeom.compare.synthetic import (
    PairingSettings,
    compute_pairs,
    eval_codes,
    latent_ground_truth,
    pair_subspaces,
    synthetic_comparison_rows,
)
from saegeom.io.tables import validate_metrics
from saegeom.metrics import permutation_test
from saegeom.metrics.baselines import make_sampler
from saegeom.sae.train import decoder_directions, load_sae, train_sae
from saegeom.synthetic.world import build_world, write_paired_shards

CTX = Context("synthetic", "planted", "a", "topk", "b", "topk", 0, "h")
HEADLINE = ["svcca", "linear_cka", "rsa", "mutual_knn"]


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """Two models sharing 50% of their features, in rotated bases, with trained TopK SAEs."""
    tmp = tmp_path_factory.mktemp("planted")
    cfg = dict(d_world=16, n_features_per_model=48, shared_fraction=0.5, geometry={"kind": "sphere"},
               firing={"kind": "correlated", "mean_active": 2.5, "decay": 0.995, "correlation": None},
               models={"a": {"basis": "identity"}, "b": {"basis": "rotation"}})
    world = build_world("planted", cfg, seed=3)
    write_paired_shards(world, tmp / "acts", n_samples=80_000, shard_rows=20_000)
    spec = dict(architecture="topk", d_sae=96, k=3, lr=3e-3, training_samples=600_000, batch_size=512)
    saes = {}
    for m in "ab":
        train_sae(tmp / "acts" / m, spec, tmp / m, seed=1)
        saes[m] = load_sae(tmp / m)
    return world, tmp / "acts", saes


def test_planted_shared_subspace_is_significant_private_is_not(planted):
    world, acts, saes = planted
    pairs = compute_pairs(world, "a", "b", saes["a"], saes["b"], acts, PairingSettings(methods=["hungarian"]))
    codes = eval_codes(saes["a"], saes["b"], acts, "a", "b", 256)
    views = {m: SAEView(decoder_directions(saes[m]), c) for m, c in zip("ab", codes, strict=True)}
    settings = CompareSettings(metrics={"decoder": HEADLINE, "activations": HEADLINE},
                               baselines={"decoder": ["shuffle"], "activations": ["shuffle"]},
                               metric_options={"mutual_knn": {"k": 5}}, n_baseline=200)
    df = validate_metrics(pd.DataFrame(synthetic_comparison_rows(CTX, world, "a", "b", views["a"], views["b"],
                                                                 pairs, settings, gt_threshold=0.7)))
    for rep in ("decoder", "activations"):
        sub = df[(df.representation == rep) & (df.pairing == "hungarian")].set_index(["subspace", "metric"])
        for metric in HEADLINE:
            assert sub.loc[("shared", metric), "n_features"] >= 20
            assert sub.loc[("shared", metric), "p_value"] < 0.01, (rep, metric)
            for private in ("private_a", "private_b"):
                assert sub.loc[(private, metric), "n_features"] >= 10
                assert sub.loc[(private, metric), "p_value"] >= 0.01, (rep, metric, private)


def test_pairings_and_subspaces_follow_ground_truth(planted):
    world, acts, saes = planted
    pairs = compute_pairs(world, "a", "b", saes["a"], saes["b"], acts, PairingSettings())
    assert set(pairs.method) == {"many_to_one", "one_to_one", "hungarian", "decoder_cosine", "ground_truth"}
    dec = {m: decoder_directions(saes[m]) for m in "ab"}
    gt = {m: latent_ground_truth(world, m, dec[m], 0.7)[0] for m in "ab"}
    for method, agree in (("one_to_one", 0.9), ("hungarian", 0.85), ("ground_truth", 0.9)):
        p = pairs[pairs.method == method].reset_index(drop=True)
        subs = pair_subspaces(world, "a", "b", gt["a"], gt["b"], p)
        shared = subs["shared"]
        # activation pairing of shared latents finds the same true feature on both sides
        same = gt["a"][p.a_idx[shared]] == gt["b"][p.b_idx[shared]]
        assert same.mean() >= agree, method
    gtp = pairs[pairs.method == "ground_truth"]
    assert len(gtp) >= 0.9 * len(world.shared) and (gtp.score >= 0.7).all()


def test_too_few_pairs_give_nan_rows_with_a_note():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((10, 4)), rng.standard_normal((10, 4))
    subs = {"all": np.ones(10, bool), "cluster:0": np.arange(10) < 2, "cluster:1": np.arange(10) >= 2}
    rows = matrices_rows(CTX, "decoder", x, y, 0, "one_to_one", subs,
                         CompareSettings(metrics={"decoder": ["linear_cka", "mutual_knn"]}, n_baseline=5))
    df = validate_metrics(pd.DataFrame(rows))
    small = df[df.subspace == "cluster:0"]
    assert small.value.isna().all() and small.note.str.contains("too few").all()
    knn = df[(df.subspace == "cluster:1") & (df.metric == "mutual_knn")]
    assert knn.value.isna().all() and knn.note.str.contains("k-NN").all()  # k=10 > 8 items: undefined, noted
    assert set(df[df.subspace == "cluster:1"].baseline) == {"shuffle", "random_subset", "mismatched"}
    assert "random_subset" not in set(df[df.subspace == "all"].baseline)


def test_baseline_samplers():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((6, 3)), rng.standard_normal((6, 3))
    pool = (rng.standard_normal((20, 9)), rng.standard_normal((20, 9)))
    cols = make_sampler("random_subset", pool[0][:, :4], pool[1][:, :4], pool=pool, axis=1)(rng)
    assert cols[0].shape == (20, 4)
    src = {tuple(c) for c in pool[0].T}
    assert all(tuple(c) in src for c in cols[0].T)  # columns come from the pool, paired with B's same columns
    idx = [next(i for i in range(9) if np.array_equal(pool[0][:, i], c)) for c in cols[0].T]
    np.testing.assert_array_equal(cols[1], pool[1][:, idx])
    sparse = np.where(rng.random((400, 50)) < 0.1, rng.random((400, 50)), 0.0)
    _, ys = make_sampler("random_sparse", x, sparse)(rng)
    assert ys.shape == sparse.shape and abs((ys != 0).mean() - 0.1) < 0.02
    assert set(np.unique(ys[ys != 0])) <= set(np.unique(sparse[sparse != 0]))
    other = rng.standard_normal((4, 3))
    xm, ym = make_sampler("mismatched", x, y, others=[other])(rng)
    assert len(xm) == len(ym) == 4
    with pytest.raises(ValueError, match="unknown baseline"):
        permutation_test("linear_cka", x, y, baseline="nope", n_baseline=2)


def test_distance_p_values_count_the_lower_tail():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((40, 5))
    close = permutation_test("orthogonal_procrustes", x, x @ np.linalg.qr(rng.standard_normal((5, 5)))[0],
                             n_baseline=99, seed=0)
    assert close.value < close.baseline_mean and close.p_value == pytest.approx(0.01)
