"""Training checkpoints: safe on disk (no pickle), and a resumed run ends where an uninterrupted one does."""

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file

from saegeom.io.shards import ShardWriter
from saegeom.io.state import load_state, save_state
from saegeom.sae import train as train_module
from saegeom.sae import train_sae
from saegeom.sae.checkpoint import CheckpointPolicy

SPEC = {"architecture": "topk", "d_sae": 24, "k": 3, "lr": 3e-3, "training_samples": 256 * 40, "batch_size": 256}


def test_state_round_trip_keeps_structure_and_types(tmp_path):
    state = {"opt": {"state": {0: {"step": torch.tensor(3.0), "exp_avg": torch.randn(4, 2)}},
                     "param_groups": [{"betas": (0.9, 0.999), "lr": 1e-3, "params": [0, 1], "foreach": None}]},
             "flags": [True, False], "n": 7, "name": "x", "rng": torch.get_rng_state()}
    save_state(tmp_path / "ck", state)
    back = load_state(tmp_path / "ck")
    assert back["opt"]["param_groups"][0]["betas"] == (0.9, 0.999)
    assert list(back["opt"]["state"]) == [0]  # int keys stay ints (torch optimizers need them)
    assert torch.equal(back["opt"]["state"][0]["exp_avg"], state["opt"]["state"][0]["exp_avg"])
    assert torch.equal(back["rng"], state["rng"])
    assert {k: back[k] for k in ("flags", "n", "name")} == {"flags": [True, False], "n": 7, "name": "x"}
    with pytest.raises(TypeError, match="cannot store a object"):
        save_state(tmp_path / "bad", {"x": object()})


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    x = np.random.default_rng(0).exponential(size=(12_000, 8)).astype(np.float32)
    x *= np.random.default_rng(1).random(size=x.shape) < 0.3
    return ShardWriter(tmp_path_factory.mktemp("ck") / "acts", 8, 4000).add(x).close().path


class Killed(Exception):
    pass


def _dying_stream(after: int):
    real = train_module.shard_batches

    def stream(*a, **kw):
        for i, batch in enumerate(real(*a, **kw)):
            if i == after:
                raise Killed
            yield batch

    return stream


POLICY = CheckpointPolicy(every_steps=10, every_minutes=1e9)


def _train_until_killed(shards, out, ck, monkeypatch, after: int) -> None:
    """Train with checkpoints to ``ck`` until the data stream dies after ``after`` batches."""
    with monkeypatch.context() as m:
        m.setattr(train_module, "shard_batches", _dying_stream(after=after))
        with pytest.raises(Killed):
            train_sae(shards, SPEC, out, seed=5, device="cpu", checkpoint_dir=ck, checkpoint=POLICY)


def test_resumed_training_ends_with_the_weights_of_an_uninterrupted_run(tmp_path, shards, monkeypatch):
    straight = train_sae(shards, SPEC, tmp_path / "straight", seed=5, device="cpu")
    ck, policy = tmp_path / "ck", POLICY
    _train_until_killed(shards, tmp_path / "resumed", ck, monkeypatch, after=25)
    assert not (tmp_path / "resumed").exists()  # nothing half-written
    assert load_state(ck)["n_training_steps"] == 20
    resumed = train_sae(shards, SPEC, tmp_path / "resumed", seed=5, device="cpu", checkpoint_dir=ck,
                        checkpoint=policy)
    assert resumed["resumed_from_step"] == 20 and straight["resumed_from_step"] is None
    assert not ck.exists()  # removed once the SAE is written
    w1 = load_file(str(tmp_path / "straight" / "sae_weights.safetensors"))
    w2 = load_file(str(tmp_path / "resumed" / "sae_weights.safetensors"))
    assert w1.keys() == w2.keys()
    for k in w1:
        np.testing.assert_array_equal(w1[k], w2[k], err_msg=k)
    timing = {"train_seconds", "resumed_from_step"}
    same = [k for k in straight if k not in timing]
    assert {k: resumed[k] for k in same} == {k: straight[k] for k in same}


def test_a_checkpoint_of_another_run_is_ignored(tmp_path, shards, monkeypatch):
    ck = tmp_path / "ck"
    _train_until_killed(shards, tmp_path / "a", ck, monkeypatch, after=15)
    assert ck.exists()
    out = train_sae(shards, {**SPEC, "lr": 1e-3}, tmp_path / "a", seed=5, device="cpu", checkpoint_dir=ck,
                    checkpoint=POLICY)
    assert out["resumed_from_step"] is None


def test_disabled_checkpoints_write_nothing(tmp_path, shards):
    ck = tmp_path / "ck"
    train_sae(shards, SPEC, tmp_path / "a", seed=5, device="cpu", checkpoint_dir=ck,
              checkpoint=CheckpointPolicy(enabled=False, every_steps=5))
    assert not ck.exists()


@pytest.mark.parametrize("snapshot_steps", [(), (6, 22)])
def test_a_resumed_toy_lm_ends_with_the_weights_of_an_uninterrupted_run(tmp_path, monkeypatch, snapshot_steps):
    """Killed after step 16 and resumed; with weight snapshots at steps 6 (taken before the kill, kept in the
    checkpoint state) and 22 (after it), the resumed run's snapshots equal the uninterrupted run's too."""
    from saegeom import rules as R
    from saegeom.lm import models as lm_models

    R.lm_corpus(n_stories=200, heldout_fraction=0.25, seed=0, out=tmp_path / "corpus")
    R.lm_tokenizer(corpus=tmp_path / "corpus", out=tmp_path / "tok.json")
    spec = {"source": "toy", "hook": "blocks.0.hook_resid_post", "n_layers": 1, "d_model": 16, "n_heads": 2,
            "d_mlp": 32, "n_ctx": 32, "steps": 30, "batch_size": 8, "eval_every": 5}
    args = dict(corpus=tmp_path / "corpus", tokenizer=tmp_path / "tok.json", spec=spec, seed=3, device="cpu",
                snapshot_steps=list(snapshot_steps))
    straight = R.train_lm(**args, out=tmp_path / "straight")
    ck, policy = tmp_path / "ck", {"every_steps": 4, "every_minutes": 1e9}
    real, calls = lm_models.pad_batch, {"n": 0}

    def dying(*a, **kw):
        calls["n"] += 1
        if calls["n"] == 19:
            raise Killed
        return real(*a, **kw)

    with monkeypatch.context() as m:
        m.setattr(lm_models, "pad_batch", dying)
        with pytest.raises(Killed):
            R.train_lm(**args, out=tmp_path / "resumed", checkpoint_dir=ck, checkpoint=policy)
    assert load_state(ck)["step"] == 16 and not (tmp_path / "resumed").exists()
    resumed = R.train_lm(**args, out=tmp_path / "resumed", checkpoint_dir=ck, checkpoint=policy)
    assert not ck.exists()
    assert resumed["loss_curve"] == straight["loss_curve"]
    dirs = ["", *(f"steps/{n}/" for n in snapshot_steps)]
    assert sorted((tmp_path / "resumed").rglob("model.safetensors")) == sorted(
        tmp_path / "resumed" / f"{d}model.safetensors" for d in dirs)
    for d in dirs:
        w1 = load_file(str(tmp_path / "straight" / f"{d}model.safetensors"))
        w2 = load_file(str(tmp_path / "resumed" / f"{d}model.safetensors"))
        for k in w1:
            np.testing.assert_array_equal(w1[k], w2[k], err_msg=d + k)
    if snapshot_steps:  # the snapshots differ from each other: a snapshot of the wrong step would have failed
        a = load_file(str(tmp_path / "straight" / "steps/6/model.safetensors"))
        assert any(not np.array_equal(a[k], w1[k]) for k in a)
