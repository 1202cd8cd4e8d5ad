"""The paper figures (saegeom.viz.figures) on hand-made tables: what each marks, reproducible files, the
registry's contract. Expectations come from the input tables (tests/viz/figure_fixtures.py), never from the
figure code; marks are found through the artists of the returned Figure (gids), not pixels."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from figure_fixtures import calibration_table, layer_table, metrics_table, training_table

from saegeom.viz import figures
from saegeom.viz.figures.style import GID_BEST, GID_NO_DATA, GID_SIGNIFICANT

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def upstream(tmp_path_factory) -> dict[str, dict[str, object]]:
    """Upstream tables on disk and the inputs of each figure's ``table``."""
    d = tmp_path_factory.mktemp("upstream")
    layer_table(0).to_parquet(d / "layers.parquet")
    training_table(0).to_parquet(d / "training.parquet")
    metrics_table().to_parquet(d / "metrics.parquet")
    calibration_table().to_parquet(d / "calibration.parquet")
    pd.DataFrame({"level": ["all", "all", "pairs"], "statistic": ["recall", "precision", "recall"],
                  "value": [0.9, 0.8, 0.5], "n": [19, 20, 30], "world": "nested", "sae": "s"}
                 ).to_parquet(d / "families.parquet")
    from saegeom.widths import VALIDATION_SCHEMA

    pd.DataFrame([dict(zip(VALIDATION_SCHEMA.names, [w, w // 2, w, w // 4, w // 2, w // 8, w // 8, 0, 6, 5, 4, 0.8,
                                                    0.5, 0.5, 3, 0.5, 1.0, 1.0], strict=True)) for w in (16, 32)]
                 ).assign(ladder="l").to_parquet(d / "widths.parquet")
    return {
        "families": {"validation": [d / "families.parquet"], "metrics": d / "metrics.parquet"},
        "width_families": {"validation": [d / "widths.parquet"]},
        "layer_heatmaps": {"tables": [d / "layers.parquet"]},
        "semantic_subspaces": {"tables": [d / "layers.parquet"]},
        "features_over_training": {"tables": [d / "training.parquet"]},
        "trust": {"metrics": d / "metrics.parquet", "calibration": d / "calibration.parquet"},
        "synthetic_overview": {"metrics": d / "metrics.parquet"},
    }


def gid_artists(fig, gid: str) -> list:
    return [a for a in fig.findobj() if a.get_gid() == gid]


def offsets(ax, gid: str) -> set[tuple[float, float]]:
    """(x, y) of every point of the scatter collections of ``ax`` with ``gid``."""
    out = set()
    for c in ax.collections:
        if c.get_gid() == gid:
            out |= {(round(float(x), 6), round(float(y), 6)) for x, y in c.get_offsets()}
    return out


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---- the registry's contract ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(figures.FIGURES))
def test_each_figure_module_has_the_contract_and_its_report_caption(name):
    mod = figures.module(name)
    for attr in ("TITLE", "CAPTION", "SOURCES"):
        assert isinstance(getattr(mod, attr), str) and getattr(mod, attr).strip(), attr
    assert callable(mod.table) and callable(mod.draw)
    # the report's caption is the module's caption (docs and report say the same); to refresh them:
    # python -m saegeom.viz.figures workflow/report
    rst = (REPO / "workflow" / "report" / f"{name}.rst").read_text()
    assert mod.CAPTION in rst and rst == figures.report_caption(name)


def test_unknown_figure_is_named():
    with pytest.raises(ValueError, match="unknown figure 'nope'.*layer_heatmaps"):
        figures.module("nope")


# ---- reproducible files ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(figures.FIGURES))
def test_two_draws_write_byte_identical_png_and_pdf(tmp_path, upstream, name):
    mod = figures.module(name)
    figures.write_table(mod.table(**upstream[name]), tmp_path / "t.parquet")
    for run in ("1", "2"):
        fig = mod.draw(figures.read_table(tmp_path / "t.parquet"))
        figures.save(fig, tmp_path / f"{run}.png", tmp_path / f"{run}.pdf")
    assert (tmp_path / "1.png").read_bytes()[:4] == b"\x89PNG" and (tmp_path / "1.pdf").read_bytes()[:4] == b"%PDF"
    assert digest(tmp_path / "1.png") == digest(tmp_path / "2.png")
    assert digest(tmp_path / "1.pdf") == digest(tmp_path / "2.pdf")
    assert b"CreationDate" not in (tmp_path / "1.pdf").read_bytes()


def test_table_files_are_byte_identical(tmp_path, upstream):
    mod = figures.module("semantic_subspaces")
    figures.write_table(mod.table(**upstream["semantic_subspaces"]), tmp_path / "1.parquet")
    figures.write_table(mod.table(**upstream["semantic_subspaces"]), tmp_path / "2.parquet")
    assert digest(tmp_path / "1.parquet") == digest(tmp_path / "2.parquet")


DRAW_ALL = """
import sys
from pathlib import Path
import matplotlib as mpl
mpl.rcParams["font.family"] = "serif"          # a user's style must not leak into the figures
from saegeom.viz import figures
out = Path(sys.argv[1])
for name in figures.FIGURES:
    mod = figures.module(name)
    figures.save(mod.draw(figures.read_table(out / f"{name}.parquet")), out / f"{name}.png", out / f"{name}.pdf")
"""


@pytest.mark.slow
def test_figures_are_byte_identical_across_processes_with_different_hash_seeds(tmp_path, upstream):
    for name in figures.FIGURES:
        figures.write_table(figures.module(name).table(**upstream[name]), tmp_path / f"{name}.parquet")
    digests = []
    for seed in ("1", "2"):
        run = tmp_path / seed
        run.mkdir()
        for name in figures.FIGURES:
            (run / f"{name}.parquet").write_bytes((tmp_path / f"{name}.parquet").read_bytes())
        env = {"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg", "HOME": str(tmp_path)}
        r = subprocess.run([sys.executable, "-c", DRAW_ALL, str(run)], env=env, capture_output=True, text=True,
                           timeout=300)
        assert r.returncode == 0, r.stderr[-2000:]
        digests.append({p.name: digest(p) for p in sorted(run.glob("*.p[nd][gf]"))})
    assert len(digests[0]) == 2 * len(figures.FIGURES)
    assert digests[0] == digests[1]


# ---- figure 1: layer x layer heatmaps --------------------------------------------------------------------
def test_layer_heatmaps_marks_exactly_the_significant_cells_and_the_best_layers(upstream):
    mod = figures.module("layer_heatmaps")
    t = mod.table(**upstream["layer_heatmaps"])
    src = layer_table(0)
    # subspace all, one pairing (hungarian is preferred over one_to_one)
    assert set(t.subspace) == {"all"} and set(t.pairing) == {"hungarian"}
    assert len(t) == len(src[(src.subspace == "all") & (src.pairing == "hungarian")])
    fig = mod.draw(t)
    # one subfigure per (comparison, representation), titled "comparison · representation · pairing"
    panels = {ax.get_title() + "|" + ax.figure._suptitle.get_text().split(" · ")[1]: ax
              for ax in fig.axes if ax.get_title()}
    assert len(panels) == 2 * 2  # 2 representations x 2 metrics
    sel = src[(src.subspace == "all") & (src.pairing == "hungarian")]
    n_sig = n_best = 0
    for (rep, metric), cell in sel.groupby(["representation", "metric"]):
        ax = panels[f"{metric}|{rep}"]
        want = {(float(b), float(a)) for a, b in zip(cell.layer_a, cell.layer_b, strict=True)}
        sig = {(float(r.layer_b), float(r.layer_a)) for r in cell.itertuples() if r.q_value < 0.05}
        assert offsets(ax, GID_SIGNIFICANT) == sig and sig <= want
        best = {(float(r.layer_b), float(r.layer_a)) for r in cell.itertuples() if r.best}
        outlined = {(p.get_x() + 0.5, p.get_y() + 0.5) for p in ax.patches if p.get_gid() == GID_BEST}
        assert outlined == best
        assert len(best) == cell.layer_a.nunique()  # one best layer of B per layer of A
        n_sig, n_best = n_sig + len(sig), n_best + len(best)
    assert n_sig > 0 and n_sig < len(sel)  # the fixture has both kinds of cells
    assert len(gid_artists(fig, GID_BEST)) == n_best


def test_a_unit_without_a_layer_number_goes_last_labelled_by_its_hook(tmp_path):
    src = layer_table(0, n_a=2, n_b=2)
    extra = src[src.layer_b == 0].assign(layer_b=pd.NA, hook_b="hook_embed", best=False)
    src = pd.concat([src, extra], ignore_index=True).astype({"layer_b": "Int64"})
    src.to_parquet(tmp_path / "l.parquet")
    for name in ("layer_heatmaps", "semantic_subspaces"):
        mod = figures.module(name)
        fig = mod.draw(mod.table(tables=[tmp_path / "l.parquet"]))
        labels = [[t.get_text() for t in ax.get_xticklabels()] for ax in fig.axes if ax.get_xticklabels()]
        if name == "layer_heatmaps":
            assert ["0", "1", "hook_embed"] in labels
        else:
            assert any(lab[-3:] == ["1→0", "1→1", "1→hook_embed"] for lab in labels), labels


def test_layer_table_missing_a_column_is_named(tmp_path):
    layer_table(0).drop(columns=["q_value"]).to_parquet(tmp_path / "bad.parquet")
    with pytest.raises(ValueError, match=r"bad.parquet lacks columns \['q_value'\]"):
        figures.module("layer_heatmaps").table(tables=[tmp_path / "bad.parquet"])


@pytest.mark.parametrize("name", ["layer_heatmaps", "semantic_subspaces", "features_over_training"])
def test_a_figure_without_input_tables_draws_a_labelled_no_data_panel(name):
    mod = figures.module(name)
    t = mod.table(tables=[])
    assert t.empty and {"value", "subspace"} <= set(t.columns)
    fig = mod.draw(t)
    (text,) = gid_artists(fig, GID_NO_DATA)
    assert text.get_text().startswith("no data")
    assert not gid_artists(fig, GID_SIGNIFICANT)


# ---- figure 2: semantic subspaces ------------------------------------------------------------------------
def test_semantic_subspaces_best_pair_is_the_highest_excess_on_all(upstream):
    mod = figures.module("semantic_subspaces")
    t = mod.table(**upstream["semantic_subspaces"])
    src = layer_table(0)
    src = src[src.pairing == "hungarian"]
    for (rep, metric), g in src[src.subspace == "all"].groupby(["representation", "metric"]):
        top = g.loc[g.excess.idxmax()]  # oriented upstream (+ = more similar, distances included)
        chosen = t[(t.representation == rep) & (t.metric == metric) & t.best_pair]
        assert set(zip(chosen.layer_a, chosen.layer_b, strict=True)) == {(top.layer_a, top.layer_b)}
        assert set(chosen.subspace) == set(src.subspace)  # every group is shown at that pair


def test_semantic_subspaces_marks_significance_in_both_panels(upstream):
    mod = figures.module("semantic_subspaces")
    t = mod.table(**upstream["semantic_subspaces"])
    fig = mod.draw(t)
    bands = [ax for ax in fig.axes if " at " in ax.get_title()]
    maps = [ax for ax in fig.axes if ax.get_xlabel() == "layer pair (A→B)"]
    assert len(bands) == len(maps) == 4  # 2 representations x 2 metrics
    for ax_band, ax_map in zip(bands, maps, strict=True):
        _, rep, rest = ax_band.get_title().split(" · ")
        metric = rest.split(" at ")[0]
        g = t[(t.representation == rep) & (t.metric == metric)]
        best = g[g.best_pair]
        subs = [lab.get_text() for lab in ax_band.get_xticklabels()]
        want = {float(subs.index(s)) for s, q in zip(best.subspace, best.q_value, strict=True) if q < 0.05}
        assert {x for x, _ in offsets(ax_band, GID_SIGNIFICANT)} == want
        assert len(offsets(ax_map, GID_SIGNIFICANT)) == int((g.q_value < 0.05).sum())
        (outline,) = [p for p in ax_map.patches if p.get_gid() == GID_BEST]
        pair_labels = [lab.get_text() for lab in ax_map.get_xticklabels()]
        a, b = int(best.layer_a.iloc[0]), int(best.layer_b.iloc[0])
        assert outline.get_x() + 0.5 == pair_labels.index(f"{a}→{b}")


# ---- figure 3: features over training --------------------------------------------------------------------
def test_features_over_training_fills_exactly_the_significant_checkpoints(upstream):
    from scipy.stats import false_discovery_control

    mod = figures.module("features_over_training")
    t = mod.table(**upstream["features_over_training"])
    src = training_table(0)
    assert len(t) == len(src)
    # no q in the input: BH within one checkpoint x representation (every subspace and metric of it)
    src["q_value"] = src.groupby(["step", "representation"]).p_value.transform(
        lambda p: false_discovery_control(p.to_numpy(), method="bh"))
    fig = mod.draw(t)
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert len(panels) == 2 * 2
    for ax in panels:
        metric = ax.get_title().split("\n")[0]
        rep = ax.get_title().split(" · ")[1]
        g = src[(src.metric == metric) & (src.representation == rep)]
        want = {(float(s), round(float(v), 6)) for s, v, q in zip(g.step, g.value, g.q_value, strict=True) if q < 0.05}
        assert offsets(ax, GID_SIGNIFICANT) == want and 0 < len(want) < len(g)
        assert {ln.get_label() for ln in ax.lines} == set(src.subspace)


# ---- figure 4: trust ------------------------------------------------------------------------------------
def test_trust_table_holds_recovery_with_null_bands_and_rates_with_intervals(upstream):
    t = figures.module("trust").table(**upstream["trust"])
    rec = t[t.panel == "recovery"]
    m = metrics_table()
    gt = m[(m.model_b == "ground_truth") & m.subspace.isin(["all", "shared", "private_a"])]
    assert len(rec) == len(gt) and set(rec.label) == {"w/s/a"}
    np.testing.assert_allclose(rec.low, 0.2 - 2 * 0.05)
    np.testing.assert_allclose(rec.high, 0.2 + 2 * 0.05)
    c = calibration_table()
    at = c[(c.alpha == 0.05) & c.statistic.isin(["fpr", "power"])]
    rates = t[t.panel.isin(["fpr", "power"])]
    assert len(rates) == len(at)
    for r in rates.itertuples():
        rep, pairing, null, metric = r.label.split(" · ")
        src = at[(at.statistic == r.panel) & (at.baseline == null) & (at.metric == metric)].iloc[0]
        assert (r.value, r.low, r.high) == (src.value, src.ci_low, src.ci_high)
        assert r.trusted == (1.0 if null == "random_partners" else 0.0)


def test_trust_marks_untrusted_nulls(upstream):
    mod = figures.module("trust")
    t = mod.table(**upstream["trust"])
    fig = mod.draw(t)
    untrusted = [a for a in fig.findobj() if a.get_gid() == mod.GID_UNTRUSTED]
    n = sum(len(c.get_offsets()) for c in untrusted)
    assert n == int(((t.panel.isin(["fpr", "power"])) & (t.trusted == 0.0)).sum()) == 4


# ---- figure 5: synthetic overview ------------------------------------------------------------------------
def test_synthetic_overview_z_by_hand_and_stars_where_q_below_005(upstream):
    mod = figures.module("synthetic_overview")
    t = mod.table(**upstream["synthetic_overview"])
    assert set(t.comparison) == {"w:a/s~b/s"}  # no LM rows, no ground-truth rows
    assert set(t.pairing) == {"hungarian"} and set(t.baseline) == {"random_partners"}
    z = t.set_index(["subspace", "column"]).z
    assert z[("all", "dec:linear_cka")] == pytest.approx(4.0)              # (0.9 - 0.5) / 0.1
    assert z[("all", "dec:orthogonal_procrustes")] == pytest.approx(2.0)   # distance below its null: +
    assert z[("shared", "act:orthogonal_procrustes")] == pytest.approx(-2.0)
    fig = mod.draw(t)
    (ax,) = [a for a in fig.axes if a.get_title().startswith("w:a/s~b/s")]
    rows = [lab.get_text() for lab in ax.get_yticklabels()]
    cols = [lab.get_text() for lab in ax.get_xticklabels()]
    want = {(float(cols.index(c)), float(rows.index(s))) for s, c, q in zip(t.subspace, t.column, t.q_value,
                                                                             strict=True) if q < 0.05}
    assert offsets(ax, GID_SIGNIFICANT) == want and len(want) == 4


def test_each_figure_has_one_rule_whose_outputs_are_the_registry_paths():
    import re

    from saegeom.workflow.plan import Plan

    smk = (REPO / "workflow" / "rules" / "figures.smk").read_text()
    blocks = dict(re.findall(r"^rule (\w+):\n((?:    .*\n|\n)*)", smk, re.M))
    assert set(blocks) == {f"figure_{name}" for name in figures.FIGURES} | {"figures"}
    for name in figures.FIGURES:
        block = blocks[f"figure_{name}"]
        files = Plan.figure_files(None, name)  # type: ignore[arg-type]  # needs no config
        assert f'table="{files["table"]}"' in block and f'pdf="{files["pdf"]}"' in block
        assert f'"{files["png"]}"' in block and f'caption="../report/{name}.rst"' in block
        assert f'"../scripts/figure_{name}.py"' in block
    assert "plan.figure_targets()" in blocks["figures"]
