import numpy as np
import pytest

from saegeom.io.shards import ShardSet
from saegeom.synthetic.world import World, build_world, write_paired_shards


def test_ownership_and_bases(make_world_cfg):
    w = build_world("w", make_world_cfg(models={"a": {"basis": "identity"}, "b": {"basis": "rotation"},
                                                "c": {"basis": "linear", "d_model": 24}}), seed=0)
    assert len(w.shared) == 16 and w.n_features == 16 + 3 * 16
    for m in "abc":
        assert len(w.models[m].owned) == 32
        assert set(w.shared) <= set(w.models[m].owned)
    private = [set(w.models[m].owned) - set(w.shared) for m in "abc"]
    assert not (private[0] & private[1]) and not (private[1] & private[2])
    fb, eb = w.features[w.models["b"].owned], w.embedding("b")
    np.testing.assert_allclose(fb @ fb.T, eb @ eb.T, atol=1e-10)  # rotation preserves the geometry
    np.testing.assert_array_equal(w.embedding("a"), w.features[w.models["a"].owned])  # identity
    assert w.gt_features("c").shape == (32, 24)
    assert (w.feature_role("a") == "shared").sum() == 16


def test_save_load_roundtrip(tmp_path, make_world_cfg):
    w = build_world("w", make_world_cfg(geometry={"kind": "blobs", "n_clusters": 3}), seed=5)
    w.save(tmp_path / "w.safetensors")
    v = World.load(tmp_path / "w.safetensors")
    np.testing.assert_array_equal(w.features, v.features)
    np.testing.assert_array_equal(w.labels["cluster"], v.labels["cluster"])
    np.testing.assert_array_equal(w.models["b"].basis, v.models["b"].basis)
    assert v.config == w.config


def test_paired_shards_are_row_aligned(tmp_path, make_world_cfg):
    # all features shared: model b's activations are model a's rotated, row by row
    w = build_world("w", make_world_cfg(shared_fraction=1.0), seed=1)
    paths = write_paired_shards(w, tmp_path, n_samples=2500, shard_rows=1000, batch_size=700)
    a, b = ShardSet(paths["a"]), ShardSet(paths["b"])
    assert [s["n_rows"] for s in a.index["shards"]] == [1000, 1000, 500]
    xa, xb = a.read(), b.read()
    rot = w.models["b"].basis
    np.testing.assert_allclose(xa @ rot, xb, atol=1e-5)
    assert not np.allclose(np.roll(xa, 1, axis=0) @ rot, xb, atol=1e-3)


def test_partially_shared_models_agree_on_shared_features(tmp_path, make_world_cfg):
    w = build_world("w", make_world_cfg(models={"a": {"basis": "identity"}, "b": {"basis": "identity"}}), seed=2)
    paths = write_paired_shards(w, tmp_path, n_samples=3000, shard_rows=3000)
    xa, xb = ShardSet(paths["a"]).read(), ShardSet(paths["b"]).read()
    # least-squares codes of each model's activations on its own features
    ca = np.linalg.lstsq(w.embedding("a").T, xa.T, rcond=None)[0].T
    cb = np.linalg.lstsq(w.embedding("b").T, xb.T, rcond=None)[0].T
    sa = np.isin(w.models["a"].owned, w.shared)
    sb = np.isin(w.models["b"].owned, w.shared)
    r = [np.corrcoef(ca[:, i], cb[:, j])[0, 1] for i, j in zip(np.where(sa)[0], np.where(sb)[0], strict=True)]
    assert np.mean(r) > 0.5  # same samples: shared features co-fire


def test_bad_world_config(make_world_cfg):
    with pytest.raises(ValueError, match="identity"):
        build_world("w", make_world_cfg(models={"a": {"basis": "identity", "d_model": 7}}), seed=0)


def test_label_masks(make_world_cfg):
    w = build_world("w", make_world_cfg(geometry={"kind": "blobs", "n_clusters": 3}), seed=4)
    feats = np.array([0, 5, -1, 7, 5])
    masks = w.label_masks(feats)
    assert sorted(masks) == ["cluster:0", "cluster:1", "cluster:2"]
    lab = w.labels["cluster"]
    for c in range(3):
        expected = [f >= 0 and lab[f] == c for f in feats]
        np.testing.assert_array_equal(masks[f"cluster:{c}"], expected)
    assert build_world("s", make_world_cfg(), seed=0).label_masks(feats) == {}


def test_nested_sharing_plants_the_pattern_exactly(make_world_cfg):
    # 3 models, 40 features each: 12 shared by all (0.3), 6 per pair (0.15), 40 - 12 - 2 x 6 = 16 private
    cfg = make_world_cfg(n_features_per_model=40, sharing={"all": 0.3, "pairs": 0.15},
                         models={"a": {"basis": "identity"}, "b": {"basis": "rotation"}, "c": {"basis": "identity"}})
    w = build_world("nested", cfg, seed=3)
    owners = w.owners()
    assert owners.shape == (12 + 3 * 6 + 3 * 16, 3) and w.n_features == 78
    level = owners.sum(1)
    assert (level == 3).sum() == 12 and (level == 2).sum() == 18 and (level == 1).sum() == 48
    for j, k in [(0, 1), (0, 2), (1, 2)]:  # each pair owns exactly 6 features nobody else owns
        assert (owners[:, j] & owners[:, k] & (level == 2)).sum() == 6
    for j, m in enumerate("abc"):
        assert len(w.models[m].owned) == 40 and (owners[:, j] & (level == 1)).sum() == 16
    np.testing.assert_array_equal(np.sort(np.flatnonzero(level == 3)), w.shared)
    np.testing.assert_array_equal(w.sharing_level(), level)


def test_nested_sharing_leaves_two_model_worlds_alone(make_world_cfg):
    cfg = make_world_cfg()
    w, v = build_world("w", cfg, seed=4), build_world("w", {**cfg, "sharing": None}, seed=4)
    np.testing.assert_array_equal(w.features, v.features)
    np.testing.assert_array_equal(w.models["b"].owned, v.models["b"].owned)
    with pytest.raises(ValueError, match="n_features_per_model"):
        build_world("w", make_world_cfg(sharing={"all": 0.8, "pairs": 0.5}), seed=4)
