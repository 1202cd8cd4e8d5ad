"""Outputs appear whole or not at all: a writer that dies mid-write leaves nothing under the output's name."""

import os

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from saegeom.io.atomic import atomic_path
from saegeom.io.shards import ShardWriter
from saegeom.io.tables import METRICS_SCHEMA, write_table
from saegeom.io.tensors import save_tensors


class Died(Exception):
    pass


def test_a_crash_inside_leaves_the_old_output_and_no_temporary(tmp_path):
    out = tmp_path / "out.txt"
    out.write_text("old")
    with pytest.raises(Died), atomic_path(out) as tmp:
        tmp.write_text("half")
        raise Died
    assert out.read_text() == "old"
    assert os.listdir(tmp_path) == ["out.txt"]


def test_temporaries_of_a_killed_writer_are_removed_by_the_next_one(tmp_path):
    out = tmp_path / "d"
    (tmp_path / ".d.tmp-99999").mkdir()  # what SIGKILL leaves: no cleanup ran
    (tmp_path / ".d.tmp-99999" / "x").write_text("partial")
    (tmp_path / ".other.tmp-1").write_text("not ours")
    with atomic_path(out) as tmp:
        tmp.mkdir()
    assert sorted(os.listdir(tmp_path)) == [".other.tmp-1", "d"]


def test_a_parquet_writer_dying_mid_file_leaves_nothing(tmp_path, monkeypatch):
    def dying_write(table, where, **kw):
        open(where, "wb").write(b"PAR1 partial")
        raise Died

    monkeypatch.setattr(pq, "write_table", dying_write)
    with pytest.raises(Died):
        write_table(pd.DataFrame(columns=METRICS_SCHEMA.names), tmp_path / "m.parquet", METRICS_SCHEMA)
    assert os.listdir(tmp_path) == []


def test_tensors_and_shard_sets_are_atomic(tmp_path, monkeypatch):
    from safetensors import numpy as stnp

    real = stnp.save_file
    calls = {"n": 0}

    def dying_save(arrays, where, metadata=None):
        calls["n"] += 1
        if calls["n"] == 2:
            open(where, "wb").write(b"\x00" * 10)
            raise Died
        real(arrays, where, metadata=metadata)

    monkeypatch.setattr("saegeom.io.tensors.save_file", dying_save)
    with pytest.raises(Died):
        ShardWriter(tmp_path / "acts", 4, 10).add(np.ones((25, 4), np.float32)).close()
    # the first shard is whole, the second never appeared, and without index.json the set is not a shard set
    assert sorted(os.listdir(tmp_path / "acts")) == ["shard_00000.safetensors"]
    calls["n"] = 1  # the next save dies
    with pytest.raises(Died):
        save_tensors(tmp_path / "t.safetensors", {"a": np.ones(3)}, {})
    assert not (tmp_path / "t.safetensors").exists()
