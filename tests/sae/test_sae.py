import json

import numpy as np
import pytest
import torch

from saegeom.io.shards import ShardSet, ShardWriter
from saegeom.metrics import mmcs
from saegeom.sae import build_training_sae, decoder_directions, load_sae, train_sae
from saegeom.sae.evaluate import evaluate_sae
from saegeom.synthetic.world import build_world, write_paired_shards


@pytest.fixture(scope="module")
def sphere_shards(tmp_path_factory):
    """Sphere world, independent firing, G = 2h per model."""
    cfg = dict(d_world=16, n_features_per_model=32, shared_fraction=0.5, geometry={"kind": "sphere"},
               firing={"kind": "correlated", "mean_active": 2.5, "decay": 0.995, "correlation": None},
               models={"a": {"basis": "identity"}, "b": {"basis": "rotation"}})
    world = build_world("s", cfg, seed=0)
    out = tmp_path_factory.mktemp("acts")
    return world, write_paired_shards(world, out, n_samples=60_000, shard_rows=20_000)


@pytest.mark.parametrize("spec", [
    dict(architecture="standard", d_sae=64, l1_coefficient=0.3, lr=3e-3, training_samples=400_000, batch_size=512),
    dict(architecture="topk", d_sae=64, k=3, lr=3e-3, training_samples=400_000, batch_size=512),
])
def test_sae_recovers_ground_truth(tmp_path, sphere_shards, spec):
    world, paths = sphere_shards
    metrics = train_sae(paths["a"], spec, tmp_path / "sae", seed=0, device="cpu")
    sae = load_sae(tmp_path / "sae")
    assert mmcs(world.gt_features("a"), decoder_directions(sae)) >= 0.95
    on_disk = json.loads((tmp_path / "sae" / "metrics.json").read_text())
    assert on_disk["eval_held_out"] and on_disk["d_sae"] == 64
    assert on_disk["explained_variance"] == pytest.approx(metrics["explained_variance"])
    assert 0.5 < metrics["explained_variance"] <= 1 and 0 < metrics["l0"] < 64


def test_bad_spec_fails_before_training(tmp_path, sphere_shards):
    _, paths = sphere_shards
    with pytest.raises(ValueError, match="l2_coefficient"):
        train_sae(paths["a"], dict(architecture="standard", d_sae=8, l2_coefficient=1.0), tmp_path / "x")
    with pytest.raises(ValueError, match="unknown SAE architecture"):
        train_sae(paths["a"], dict(architecture="nope", d_sae=8), tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_evaluate_sae_matches_hand_computation(tmp_path):
    sae = build_training_sae(dict(architecture="standard", d_sae=6), d_in=4, seed=3)
    with torch.no_grad():
        sae.b_enc.copy_(torch.tensor([0.5, -0.2, 0.1, -5.0, 0.3, 0.0]))
    x = np.random.default_rng(0).standard_normal((50, 4)).astype(np.float32)
    w = ShardWriter(tmp_path, 4, 20)
    w.add(x)
    got = evaluate_sae(sae, ShardSet(w.close().path).iter_batches(7))
    # independent reference: the SAE's own forward pass on all rows at once, float64 sums
    with torch.no_grad():
        z = sae.encode(torch.from_numpy(x)).double().numpy()
        xh = sae.decode(torch.from_numpy(z).float()).double().numpy()
    err = ((xh - x) ** 2).sum()
    assert got["l0"] == pytest.approx((z != 0).sum(1).mean())
    assert got["normalized_mse"] == pytest.approx(err / (x.astype(np.float64) ** 2).sum(), rel=1e-5)
    assert got["explained_variance"] == pytest.approx(1 - err / ((x - x.mean(0)) ** 2).sum(), rel=1e-5)
    assert got["dead_latents"] == int((~(z != 0).any(0)).sum())


def test_building_an_sae_leaves_the_callers_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    a = build_training_sae(dict(architecture="topk", d_sae=8, k=2), d_in=4, seed=7)
    assert torch.equal(torch.rand(3), expected)  # the caller's stream continues as if nothing happened
    b = build_training_sae(dict(architecture="topk", d_sae=8, k=2), d_in=4, seed=7)
    assert torch.equal(a.W_dec, b.W_dec)  # and the SAE's initialisation is still seeded


def test_decoder_directions_from_disk_match_the_loaded_sae(tmp_path):
    sae = build_training_sae(dict(architecture="standard", d_sae=6), d_in=4, seed=2)
    sae.save_inference_model(str(tmp_path / "s"))
    np.testing.assert_allclose(decoder_directions(tmp_path / "s"), decoder_directions(load_sae(tmp_path / "s")))
    assert np.allclose(np.linalg.norm(decoder_directions(tmp_path / "s"), axis=1), 1.0)
