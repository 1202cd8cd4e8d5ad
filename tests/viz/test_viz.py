import pandas as pd
import pytest


def test_comparison_summary_effect_sizes(tmp_path):
    from saegeom.compare.rows import Context, make_row
    from saegeom.viz.summary import plot_comparison_summary

    ctx = Context(source="synthetic", world="w", model_a="a", sae_a="s", model_b="b", sae_b="s")
    rows = [make_row(ctx, subspace=sub, representation="decoder", pairing="hungarian", metric=m, value=v,
                     baseline="random_partners", baseline_mean=mu, baseline_std=sd, p_value=p, n_baseline=10,
                     n_baseline_valid=10)
            for sub, m, v, mu, sd, p in [("all", "linear_cka", 0.9, 0.5, 0.1, 0.01),
                                         ("shared", "linear_cka", 0.6, 0.5, 0.2, 0.3),
                                         ("all", "orthogonal_procrustes", 0.2, 1.0, 0.4, 0.01),
                                         ("shared", "orthogonal_procrustes", 1.2, 1.0, 0.1, 0.9)]]
    rows.append(make_row(ctx, subspace="all", representation="decoder", pairing="one_to_one", metric="linear_cka",
                         value=0.0, baseline="random_partners", baseline_mean=1.0, baseline_std=1.0, p_value=1.0,
                         n_baseline_valid=10))
    tables = plot_comparison_summary(pd.DataFrame(rows), tmp_path / "c.png")
    (z, p), = tables.values()
    assert list(z.index) == ["all", "shared"]
    assert z.loc["all", "dec:linear_cka"] == pytest.approx(4.0)
    assert z.loc["shared", "dec:linear_cka"] == pytest.approx(0.5)
    assert z.loc["all", "dec:orthogonal_procrustes"] == pytest.approx(2.0)   # distance below the null: positive
    assert z.loc["shared", "dec:orthogonal_procrustes"] == pytest.approx(-2.0)
    assert p.loc["all", "dec:linear_cka"] == pytest.approx(0.01)
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"
