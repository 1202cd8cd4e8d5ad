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
    (dict(p_value=0.5, baseline_mean=0.1, n_baseline=9, n_baseline_valid=9, q_value=1.5), "q_value"),
    (dict(q_value=0.2), "q_value"),  # a q without a p
    (dict(p_value_gpd=0.2), "p_value_gpd"),
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


def test_collect_metrics_fills_q_values_per_family(tmp_path):
    from saegeom.rules.compare import metrics as collect_metrics

    def table(model_b, ps):
        ctx = Context(source="synthetic", world="w", model_a="a", sae_a="relu", model_b=model_b, sae_b="relu")
        return pd.DataFrame([make_row(ctx, subspace=f"cluster:{i}", representation="decoder", pairing="hungarian",
                                      metric="mmcs", value=0.5, baseline="random_partners", baseline_mean=0.1,
                                      p_value=p, n_baseline=99, n_baseline_valid=99) for i, p in enumerate(ps)])

    write_metrics(table("b", [0.01, 0.04, 0.03, 0.005]), tmp_path / "b.parquet")
    write_metrics(table("c", [0.01]), tmp_path / "c.parquet")
    collect_metrics(tables=[tmp_path / "b.parquet", tmp_path / "c.parquet"], out=tmp_path / "all.parquet")
    df = read_metrics(tmp_path / "all.parquet").set_index(["model_b", "subspace"]).q_value
    # family b by hand: p·m/rank over sorted 0.005, 0.01, 0.03, 0.04 = 0.02, 0.02, 0.04, 0.04; family c alone
    assert df["b"].tolist() == pytest.approx([0.02, 0.04, 0.04, 0.02]) and df[("c", "cluster:0")] == pytest.approx(0.01)
