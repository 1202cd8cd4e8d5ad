"""Bad data is caught where it enters, with an error naming the file (and row), or a NaN row with a note."""

import json

import numpy as np
import pytest
import torch

from saegeom.compare import CompareSettings, Context, compare_saes
from saegeom.io.shards import BadShardError, ShardSet, ShardWriter
from saegeom.io.tensors import CorruptFileError, load_tensors, save_tensors
from saegeom.pairing import pair_saes
from saegeom.sae import build_training_sae, decoder_directions, load_sae
from saegeom.settings import PairingSettings

D = 8


def _shards(path, rows=3000, d=D, shard_rows=1000, seed=0):
    x = np.random.default_rng(seed).exponential(size=(rows, d)).astype(np.float32)
    ShardWriter(path, d, shard_rows).add(x).close()
    return ShardSet(path)


def _saved_sae(path, d_in=D, d_sae=16, dead=False, seed=0):
    sae = build_training_sae({"architecture": "standard", "d_sae": d_sae}, d_in, seed=seed)
    with torch.no_grad():
        if dead:  # a ReLU SAE whose pre-activations are always negative never fires
            sae.b_enc.fill_(-1e4)
    sae.save_inference_model(str(path))
    return path


@pytest.mark.parametrize("cut", [0, 5, 0.5, -1])
def test_truncated_safetensors_names_the_file(tmp_path, cut):
    f = tmp_path / "x.safetensors"
    save_tensors(f, {"a": np.ones((64, 4), np.float32)}, {"k": 1})
    data = f.read_bytes()
    f.write_bytes(data[: int(len(data) * cut) if isinstance(cut, float) else cut])
    with pytest.raises(CorruptFileError, match=str(f)):
        load_tensors(f)


def test_garbage_where_a_shard_should_be_names_the_shard(tmp_path):
    s = _shards(tmp_path / "acts")
    bad = tmp_path / "acts" / s.index["shards"][1]["file"]
    bad.write_bytes(b"not a safetensors file" * 3)
    with pytest.raises(CorruptFileError, match=bad.name):
        s.shard_arrays(1)
    s.shard_arrays(0)  # the others still read


def test_corrupt_index_names_it(tmp_path):
    _shards(tmp_path / "acts")
    (tmp_path / "acts" / "index.json").write_text('{"d": 8, "n_rows"')
    with pytest.raises(CorruptFileError, match="index.json"):
        ShardSet(tmp_path / "acts")


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_nan_or_inf_in_a_shard_names_shard_and_row(tmp_path, value):
    x = np.ones((30, D), np.float32)
    x[17, 3] = value
    s = ShardWriter(tmp_path / "acts", D, 10).add(x).close()
    with pytest.raises(BadShardError, match=r"shard_00001.*row 7 \(global row 17\)"):
        list(s.iter_shards())


def test_a_shard_of_another_width_than_its_index_names_both(tmp_path):
    s = _shards(tmp_path / "acts")
    index = json.loads((tmp_path / "acts" / "index.json").read_text())
    index["d"] = D + 1
    (tmp_path / "acts" / "index.json").write_text(json.dumps(index))
    with pytest.raises(BadShardError, match=r"shard_00000.*\(1000, 9\)"):
        ShardSet(s.path).shard(0)


def test_an_sae_of_another_width_than_the_shards_is_refused_naming_both(tmp_path):
    acts = _shards(tmp_path / "acts")
    wide = load_sae(_saved_sae(tmp_path / "sae12", d_in=12))
    ok = load_sae(_saved_sae(tmp_path / "sae8"))
    with pytest.raises(ValueError, match=r"d_in=12.*acts.*width 8"):
        pair_saes(acts, acts, ok, wide, PairingSettings(pairings=["hungarian"]))
    with pytest.raises(ValueError, match=r"d_in=12.*width 8"):
        compare_saes(acts, acts, wide, ok, settings=CompareSettings(n_baseline=5))


@pytest.mark.parametrize("name", ["sae_weights.safetensors", "cfg.json"])
def test_a_damaged_saved_sae_names_the_file(tmp_path, name):
    path = _saved_sae(tmp_path / "sae")
    f = path / name
    f.write_bytes(f.read_bytes()[:20])
    with pytest.raises(CorruptFileError, match=str(path)):
        load_sae(path)
    if name.endswith("safetensors"):
        with pytest.raises(CorruptFileError, match=name):
            decoder_directions(path)


def test_an_sae_with_no_live_latents_gives_rows_with_a_note(tmp_path):
    acts = _shards(tmp_path / "acts")
    live = load_sae(_saved_sae(tmp_path / "live"))
    dead = load_sae(_saved_sae(tmp_path / "dead", dead=True))
    settings = CompareSettings(metrics={"decoder": ["mmcs", "linear_cka"], "activations": ["linear_cka"]},
                               baselines={"decoder": ["random_partners"], "activations": ["random_partners"]},
                               n_baseline=5, n_tokens=64)
    df = compare_saes(acts, acts, live, dead, settings=settings, context=Context(),
                      pairing=PairingSettings(pairings=["one_to_one", "hungarian"]))
    assert len(df) > 0
    assert df["value"].isna().all()
    assert df["note"].str.startswith("no live latents").all()
    assert set(df["pairing"]) >= {"one_to_one", "hungarian"}
    assert set(df["representation"]) == {"decoder", "activations"}


@pytest.mark.parametrize("fast", [True, False])
def test_a_same_width_metric_on_different_widths_is_undefined_not_a_crash(fast):
    from saegeom.compare.rows import row_with_null
    from saegeom.metrics.baselines import NullPools, permutation_test
    from saegeom.metrics.registry import MetricUndefined

    rng = np.random.default_rng(0)
    x, y, pool = rng.normal(size=(20, 8)), rng.normal(size=(20, 10)), rng.normal(size=(40, 10))
    pools = NullPools(axis=0, pairs_x=x, pairs_y=y, b_pool=pool, y_pool_idx=np.arange(20))
    with pytest.raises(MetricUndefined, match="widths 8 and 10 differ"):
        permutation_test("mmcs", x, y, n_baseline=5, baseline="random_partners", pools=pools, fast=fast)
    row = row_with_null(Context(), x, y, metric="mmcs", subspace="all", representation="decoder", pairing="hungarian",
                        n_baseline=5, baseline="random_partners", seed=0, n_pairs=20, pools=pools)
    assert np.isnan(row["value"]) and "widths 8 and 10 differ" in row["note"]
