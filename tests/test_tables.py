import pandas as pd
import pytest

from saegeom.compare.rows import Context, make_row
from saegeom.io.tables import TableSchemaError, read_metrics, write_metrics

CTX = Context(source="synthetic", world="w", model_a="a", sae_a="relu", model_b="b", sae_b="relu", config_hash="abc")


def _rows(**over):
    r = make_row(CTX, subspace="all", representation="decoder", pairing="decoder_cosine", metric="mmcs", value=0.5)
    r.update(over)
    return pd.DataFrame([r])


def test_roundtrip(tmp_path):
    write_metrics(_rows(), tmp_path / "m.parquet")
    df = read_metrics(tmp_path / "m.parquet")
    assert df.loc[0, "comparison"] == "w:a/relu~b/relu" and df.loc[0, "value"] == 0.5


@pytest.mark.parametrize("bad, msg", [
    (dict(representation="weights"), "representation"),
    (dict(pairing="greedy"), "pairing"),
    (dict(subspace="some features"), "subspace"),
    (dict(p_value=0.0), "p_value"),
    (dict(baseline="shuffle"), "baseline"),
    (dict(p_value=0.01, n_baseline=100, n_baseline_valid=0), "without defined null draws"),
])
def test_bad_rows_rejected_and_nothing_written(tmp_path, bad, msg):
    with pytest.raises(TableSchemaError, match=msg):
        write_metrics(_rows(**bad), tmp_path / "m.parquet")
    assert not list(tmp_path.iterdir())


def test_missing_column_named(tmp_path):
    with pytest.raises(TableSchemaError, match="note"):
        write_metrics(_rows().drop(columns=["note"]), tmp_path / "m.parquet")


def test_duplicate_keys_rejected(tmp_path):
    with pytest.raises(TableSchemaError, match="unique"):
        write_metrics(pd.concat([_rows(), _rows(value=0.7)]), tmp_path / "m.parquet")
