"""No silent NaN, verified SAE folders, validated shard indexes, outputs with the user's permissions."""

import json
import math
import os
import shutil
import stat
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from saegeom.io import strict_json
from saegeom.io.atomic import atomic_path
from saegeom.io.shards import INDEX, BadShardError, ShardSet, ShardWriter
from saegeom.io.tensors import CorruptFileError, save_tensors

TOPK = {"architecture": "topk", "d_sae": 16, "k": 2, "training_samples": 1200, "batch_size": 100, "lr": 0.003}


def _strict_loads(text: str):
    """A JSON parser that refuses NaN/Infinity, as browsers and jq do."""
    def bad(c):
        raise ValueError(f"not JSON: {c}")
    return json.loads(text, parse_constant=bad)


def _acts(path: Path, n: int = 600, d: int = 8, shard_rows: int = 300) -> ShardSet:
    x = np.random.default_rng(0).normal(size=(n, d)).astype(np.float32)
    return ShardWriter(path, d, shard_rows).add(x).close()


# ---- strict JSON ----------------------------------------------------------------------------------------------
def test_strict_json_writes_null_with_a_note():
    text = strict_json.dumps({"a": float("nan"), "b": [1.0, float("inf")], "c": np.float32("nan"), "d": np.int64(3)})
    out = _strict_loads(text)
    assert out["a"] is None and out["b"] == [1.0, None] and out["c"] is None and out["d"] == 3
    assert out["notes"] == ["a: nan written as null", "b[1]: inf written as null", "c: nan written as null"]
    assert _strict_loads(strict_json.dumps({"x": 1.5})) == {"x": 1.5}  # nothing to note: no notes key


def test_shard_index_and_metadata_are_strict_json(tmp_path):
    s = ShardWriter(tmp_path / "a", 2, 4, meta={"scale": float("nan")}).add(np.ones((5, 2), np.float32)).close()
    index = _strict_loads((tmp_path / "a" / INDEX).read_text())
    assert index["meta"]["scale"] is None and "meta.scale" in index["notes"][0]
    assert s.n_rows == 5


# ---- permissions ----------------------------------------------------------------------------------------------
@contextmanager
def _umask(mask: int):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o002])
def test_outputs_get_the_users_usual_permissions(tmp_path, mask):
    """safetensors creates its files 0600; every atomic output ends up 0o666 & ~umask (folders 0o777 & ~umask)."""
    with _umask(mask):
        save_tensors(tmp_path / "t.safetensors", {"x": np.zeros(3)}, {})
        s = _acts(tmp_path / "acts", n=20, d=2, shard_rows=10)
        with atomic_path(tmp_path / "folder") as tmp:
            (tmp / "sub").mkdir(parents=True)
            save_tensors(tmp / "sub" / "w.safetensors", {"x": np.zeros(3)}, {})
    files = [tmp_path / "t.safetensors", s.path / INDEX, s.path / "shard_00000.safetensors",
             tmp_path / "folder" / "sub" / "w.safetensors"]
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o666 & ~mask, f
    for d in (tmp_path / "folder", tmp_path / "folder" / "sub"):
        assert stat.S_IMODE(d.stat().st_mode) == 0o777 & ~mask, d


# ---- shard indexes --------------------------------------------------------------------------------------------
def _tamper(path: Path, **changes):
    index = json.loads((path / INDEX).read_text())
    for k, v in changes.items():
        if k == "entry0":
            index["shards"][0].update(v)
        else:
            index[k] = v
    (path / INDEX).write_text(json.dumps(index))


@pytest.mark.parametrize("changes, named", [
    ({"n_rows": 999_999}, "n_rows = 999999 but the shards hold 300 rows"),
    ({"shard_rows": 50}, "do not hold shard_rows = 50 rows"),
    ({"shard_rows": 200}, "do not hold shard_rows = 200 rows"),
    ({"entry0": {"file": "../victim/shard_00000.safetensors"}}, "is not a file name inside the shard folder"),
    ({"entry0": {"file": "/etc/passwd"}}, "is not a file name inside the shard folder"),
    ({"entry0": {"n_rows": -1}}, "is not {'file': name, 'n_rows': count}"),
    ({"d": 0}, "d = 0 is not a positive integer"),
])
def test_shard_index_is_checked_against_what_it_describes(tmp_path, changes, named):
    _acts(tmp_path / "acts", n=300, d=4, shard_rows=100)
    _tamper(tmp_path / "acts", **changes)
    with pytest.raises(BadShardError) as e:
        ShardSet(tmp_path / "acts")
    assert named in str(e.value) and str(tmp_path / "acts" / INDEX) in str(e.value)


def test_a_mask_of_the_wrong_length_is_named(tmp_path):
    s = ShardWriter(tmp_path / "acts", 2, 4).add(np.ones((4, 2), np.float32), {"mask": np.ones(4, np.uint8)}).close()
    save_tensors(s.path / "shard_00000.safetensors", {"activations": np.ones((4, 2), np.float32),
                                                      "mask": np.ones(3, np.uint8)}, {})
    with pytest.raises(BadShardError, match=r"shard_00000.safetensors: per-row arrays \{'mask': 3\}"):
        ShardSet(s.path).shard_valid(0)


# ---- SAE training that diverges ---------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("lr", [math.inf, 1e30])
def test_a_diverged_training_writes_no_sae(tmp_path, lr):
    from saegeom.sae.checkpoint import CheckpointPolicy, TrainingDivergedError
    from saegeom.sae.train import train_sae

    acts = _acts(tmp_path / "acts")
    spec = {"architecture": "standard", "d_sae": 16, "l1_coefficient": 1.0, "training_samples": 1200,
            "batch_size": 100, "lr": lr}
    # a checkpoint due after every step: the weights are checked before it is saved (step 1), else the loss (step 2)
    with pytest.raises(TrainingDivergedError, match=r"SAE training diverged: (non-finite weights .* after step 1|"
                                                     r"loss nan at step 2)") as e:
        train_sae(acts.path, spec, tmp_path / "sae", device="cpu", checkpoint_dir=tmp_path / "ck",
                  checkpoint=CheckpointPolicy(every_steps=1))
    assert f"lr` (now {lr})" in str(e.value)
    assert not (tmp_path / "sae").exists() and not (tmp_path / "ck").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["acts"]  # no temporary left either


# ---- SAE folders ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from saegeom.sae.train import train_sae

    root = tmp_path_factory.mktemp("sae")
    acts = _acts(root / "acts")
    train_sae(acts.path, TOPK, root / "sae", device="cpu")
    return root / "sae"


def _copy(src: Path, dst: Path, **cfg_changes) -> Path:
    shutil.copytree(src, dst)
    if cfg_changes:
        cfg = json.loads((dst / "cfg.json").read_text())
        for k, v in cfg_changes.items():
            if v is None:
                cfg.pop(k, None)
            else:
                cfg[k] = v
        (dst / "cfg.json").write_text(json.dumps(cfg))
    return dst


@pytest.mark.slow
def test_sae_folders_are_verified_on_load(trained, tmp_path):
    from saegeom.sae.load import SAEFolderError, load_sae

    assert load_sae(trained).cfg.d_sae == 16  # the untouched folder loads
    # TopK weights labelled standard (SAELens would drop k silently and load a ReLU SAE)
    with pytest.raises(SAEFolderError, match=r"architecture 'standard' has no field\(s\) \['k'"):
        load_sae(_copy(trained, tmp_path / "std", architecture="standard"))
    # d_in / d_sae that contradict the weights: named, with the folder
    for key, val in (("d_sae", 20), ("d_in", 9)):
        with pytest.raises(SAEFolderError, match=f"says .*{key}={val}.*tensor shapes disagree") as e:
            load_sae(_copy(trained, tmp_path / key, **{key: val}))
        assert str(tmp_path / key) in str(e.value)
    # cfg.json that is not JSON is reported as cfg.json, not as the weights
    bad = _copy(trained, tmp_path / "cfg")
    (bad / "cfg.json").write_text("{architecture: topk")
    with pytest.raises(CorruptFileError, match=r"cfg\.json: cannot read this SAE config"):
        load_sae(bad)
    # truncated weights: named
    cut = _copy(trained, tmp_path / "cut")
    w = cut / "sae_weights.safetensors"
    w.write_bytes(w.read_bytes()[: w.stat().st_size // 2])
    with pytest.raises(CorruptFileError, match=r"sae_weights\.safetensors: cannot read"):
        load_sae(cut)


@pytest.mark.slow
def test_non_finite_weights_are_refused_naming_the_folder(trained, tmp_path):
    from safetensors.numpy import load_file, save_file

    from saegeom.sae.load import NonFiniteSAEError, decoder_directions, load_sae

    nan = _copy(trained, tmp_path / "nan")
    weights = load_file(str(nan / "sae_weights.safetensors"))
    weights["W_dec"][3, 1] = np.nan
    save_file(weights, str(nan / "sae_weights.safetensors"))
    with pytest.raises(NonFiniteSAEError, match="W_dec: 1 values") as e:
        load_sae(nan)
    assert str(nan) in str(e.value)
    with pytest.raises(NonFiniteSAEError, match="W_dec holds NaN/Inf in 1 rows"):
        decoder_directions(nan)


@pytest.mark.slow
def test_a_pretrained_sae_of_another_model_or_hook_is_refused_unless_allowed(trained, tmp_path):
    from saegeom.sae.load import SAEFolderError, load_sae_source

    folder = _copy(trained, tmp_path / "p")
    cfg = json.loads((folder / "cfg.json").read_text())
    cfg["metadata"].update(model_name="pythia-70m-deduped", hook_name="blocks.3.hook_resid_post")
    (folder / "cfg.json").write_text(json.dumps(cfg))
    ok = {"model_name": "EleutherAI/pythia-70m-deduped", "hook": "blocks.3.hook_resid_post"}  # alias = same model
    assert load_sae_source({"path": str(folder)}, **ok).cfg.d_sae == 16
    with pytest.raises(SAEFolderError, match="trained on hook 'blocks.3.hook_resid_post'.*'blocks.2.hook_resid_post'"):
        load_sae_source({"path": str(folder)}, **{**ok, "hook": "blocks.2.hook_resid_post"})
    with pytest.raises(SAEFolderError, match="trained on model 'pythia-70m-deduped'.*'gpt2'.*allow_model_mismatch"):
        load_sae_source({"path": str(folder)}, **{**ok, "model_name": "gpt2"})
    sae = load_sae_source({"path": str(folder), "allow_model_mismatch": True}, model_name="gpt2", hook="x")
    assert sae.cfg.d_sae == 16


# ---- matryoshka ---------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_matryoshka_sae_trains_and_loads(tmp_path):
    from saegeom.sae.load import load_sae
    from saegeom.sae.train import train_sae

    acts = _acts(tmp_path / "acts")
    spec = {**TOPK, "architecture": "matryoshka_batchtopk", "matryoshka_widths": [4, 8, 16]}
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # SAELens warns when it has to append d_sae to the widths
        metrics = train_sae(acts.path, spec, tmp_path / "sae", device="cpu")
    assert metrics["architecture"] == "matryoshka_batchtopk" and metrics["spec"]["matryoshka_widths"] == [4, 8, 16]
    sae = load_sae(tmp_path / "sae")  # saved by SAELens as its inference class (JumpReLU)
    assert sae.W_dec.shape == (16, 8) and np.isfinite(sae.W_dec.detach().numpy()).all()
    _strict_loads((tmp_path / "sae" / "metrics.json").read_text())
