"""The README's "your own SAEs" example runs as written (with fewer null draws) and stays short."""

import re
from pathlib import Path

import numpy as np
import pandas as pd

from saegeom.sae import build_training_sae

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def _block(heading: str) -> str:
    section = README.split(heading, 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_own_saes_example_is_short_and_runs(tmp_path, monkeypatch):
    code = _block("## Your own activations and SAEs")
    lines = [ln for ln in code.splitlines() if ln.strip()]
    assert len(lines) <= 10 and sum(ln.startswith(("import ", "from ")) for ln in lines) <= 3
    rng = np.random.default_rng(0)
    n, d = 70_000, 12  # more rows than shard_rows, so one shard is held out
    z = (rng.random((n, 24)) < 0.08) * rng.random((n, 24))
    acts_a = (z @ rng.standard_normal((24, d))).astype(np.float32)
    acts_b = (z @ rng.standard_normal((24, d))).astype(np.float32)
    for name in ("A", "B"):
        build_training_sae(dict(architecture="topk", d_sae=32, k=3), d_in=d, seed=1).save_inference_model(
            str(tmp_path / f"sae_{name}"))
    monkeypatch.chdir(tmp_path)
    code = code.replace("path/to/", "").replace("n_baseline=1000", "n_baseline=10")
    env = {"acts_a": acts_a, "acts_b": acts_b}
    exec(compile(code, "README", "exec"), env)
    df = env["df"]
    assert (tmp_path / "my_metrics.parquet").exists()
    assert set(df.subspace) == {"all"} and {"decoder", "activations"} <= set(df.representation)
    assert df.value.notna().any() and (df.n_tokens[df.representation == "activations"] == 1024).all()


def test_reading_the_table_block_selects_trusted_significant_rows(tmp_path, monkeypatch):
    from saegeom.compare.rows import Context, make_row
    from saegeom.io.tables import write_metrics

    code = _block("## Reading the table")
    ctx = Context(source="synthetic", world="w", model_a="a", sae_a="s", model_b="b", sae_b="s")
    rows = []
    for i, (p, q, trusted) in enumerate([(0.01, 0.02, True), (0.01, 0.02, False), (0.01, 0.2, True),
                                        (float("nan"), float("nan"), None)]):
        r = make_row(ctx, subspace=f"cluster:{i}", representation="decoder", pairing="hungarian", metric="rsa",
                     value=0.5, baseline="random_partners", baseline_mean=0.1, p_value=p, q_value=q,
                     p_value_gpd=p, n_baseline=99, n_baseline_valid=99 if p == p else 0)
        rows.append(r | {"trusted": trusted})
    (tmp_path / "results").mkdir()
    write_metrics(pd.DataFrame(rows), tmp_path / "results" / "metrics.parquet")
    monkeypatch.chdir(tmp_path)
    env: dict = {}
    exec(compile(code.replace("df.query", "selected = df.query", 1), "README", "exec"), env)
    # only the trusted row with q < 0.05 survives (the untrusted one, the q = 0.2 one and the untested one do not)
    assert env["selected"].subspace.tolist() == ["cluster:0"]
