"""Topology stage: persistence on planted shapes, Mapper purity, the lens trap, offline reports,
MSID / Geometry Score against independent references, metrics rows."""

from __future__ import annotations

import sys
import types
from dataclasses import fields
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import yaml
from safetensors.numpy import save_file

from saegeom import settings as S
from saegeom.io.tables import read_metrics
from saegeom.metrics import mmcs
from saegeom.sae.load import WEIGHTS_FILE
from saegeom.synthetic.world import build_world
from saegeom.topology import cloud_diagrams, ground_truth_cloud, lifetimes, sae_cloud
from saegeom.topology.analysis import topology_comparison, topology_report
from saegeom.topology.geometry_score import geometry_score, mean_rlt, relative_living_times
from saegeom.topology.mapper import component_purity, compute_lens, mapper_graph
from saegeom.topology.msid import (
    DEFAULT_TIMES,
    heat_trace_exact,
    heat_trace_slq,
    knn_graph,
    msid_distance,
    normalized_laplacian,
)
from saegeom.topology.persistence import distance_matrix, farthest_point_indices, unit_rows
from saegeom.topology.report import external_sources, inline_assets

REPO = Path(__file__).resolve().parents[2]
SNAKEFILE = str(REPO / "workflow" / "Snakefile")
FIRING = {"kind": "correlated", "mean_active": 3, "decay": 0.99, "correlation": None}


def circles_world(seed: int, n_circles: int = 4, size: int = 8, d: int = 64):
    cfg = dict(d_world=d, n_features_per_model=n_circles * size, shared_fraction=1.0, firing=FIRING,
               geometry={"kind": "circles", "circle_size": size}, models={"a": {"basis": "identity"}})
    return build_world("circles", cfg, seed)


def blobs_world(seed: int, n_clusters: int = 6, models=None, n_features: int = 96):
    cfg = dict(d_world=32, n_features_per_model=n_features, shared_fraction=1.0, firing=FIRING,
               geometry={"kind": "blobs", "n_clusters": n_clusters, "spread": 0.5},
               models=models or {"a": {"basis": "identity"}})
    return build_world("blobs", cfg, seed)


def long_bars(lengths: np.ndarray) -> tuple[int, float]:
    """(count, gap): bars at least half as long as the longest, and how much longer the shortest of
    them is than the next bar."""
    lengths = np.r_[lengths, 0.0]
    count = int((lengths >= lengths[0] / 2).sum())
    return count, float(lengths[count - 1] / max(lengths[count], 1e-12))


def save_decoder(path: Path, w_dec: np.ndarray) -> Path:
    """A saved SAE folder as far as the topology stage reads it (SAELens' weights file, ``W_dec``)."""
    path.mkdir(parents=True)
    save_file({"W_dec": np.ascontiguousarray(w_dec, dtype=np.float32)}, str(path / WEIGHTS_FILE))
    return path


# ---- persistence: planted shapes --------------------------------------------------------------
# Measured over seeds 0-9 (Rips, cosine): exactly 4 long H1 bars, the 4th/5th ratio 1.73-3.34 for the true
# features and 1.74-3.29 for a recovering SAE (MMCS 0.97); blobs: 5 long H0 bars for seeds 0-8 (5th/6th
# ratio 2.0-2.7; seed 9 has two close cluster centres), Mapper purity 1.0 on all ten.
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_circles_h1_has_one_long_bar_per_circle_for_truth_and_a_recovering_sae(tmp_path, seed):
    world = circles_world(seed)
    gt = world.gt_features("a")
    count, gap = long_bars(lifetimes(cloud_diagrams(gt)[0][1]))
    assert count == 4 and gap > 1.3
    # an SAE that recovers the truth: every feature once plus 16 duplicates, all perturbed
    rng = np.random.default_rng(seed)
    src = np.r_[np.arange(len(gt)), rng.choice(len(gt), 16)]
    dec = unit_rows(gt[src] + 0.25 * rng.standard_normal((len(src), gt.shape[1])) / np.sqrt(gt.shape[1]))
    cloud = sae_cloud(save_decoder(tmp_path / "sae", dec * 3.0), world=world, model="a")
    assert mmcs(gt, cloud.points) >= 0.9
    count, gap = long_bars(lifetimes(cloud_diagrams(cloud.points)[0][1]))
    assert count == 4 and gap > 1.3
    # every circle is a subspace of the SAE cloud, and each alone has exactly one long H1 bar
    for c in range(4):
        sub = cloud.points[cloud.subspaces[f"circle:{c}"]]
        h1 = lifetimes(cloud_diagrams(sub)[0][1])
        assert len(h1) >= 1 and h1[0] > 0.3 and (len(h1) == 1 or h1[0] > 2 * h1[1])


@pytest.mark.parametrize("seed", [0, 1])
def test_blobs_h0_has_n_minus_one_long_finite_bars(seed):
    n = 6
    gt = blobs_world(seed, n).gt_features("a")
    diagrams, _ = cloud_diagrams(gt)
    assert np.isinf(diagrams[0][:, 1]).sum() == 1  # one essential class
    count, gap = long_bars(lifetimes(diagrams[0]))
    assert count == n - 1 and gap > 1.4


def test_farthest_point_indices_match_gudhi_coordinates():
    from gudhi.subsampling import choose_n_farthest_points

    x = np.random.default_rng(0).standard_normal((60, 5))
    idx = farthest_point_indices(distance_matrix(x, "euclidean"), 12, start=3)
    ref = np.asarray(choose_n_farthest_points(points=x, nb_points=12, starting_point=3, fast=False))
    np.testing.assert_allclose(x[idx], ref)  # gudhi returns coordinates; ours are the rows' indices


def test_alpha_complex_sees_the_loop_of_a_circle():
    t = np.linspace(0, 2 * np.pi, 40, endpoint=False)
    circle = np.c_[np.cos(t), np.sin(t), np.zeros_like(t)]
    h1 = lifetimes(cloud_diagrams(circle, complex="alpha", distance="euclidean")[0][1])
    assert h1[0] > 0.8 and (len(h1) == 1 or h1[1] < 0.1)


# ---- Mapper ------------------------------------------------------------------------------------
def test_mapper_separates_blobs():
    cloud = ground_truth_cloud(blobs_world(0), "a")
    graph = mapper_graph(cloud.points, compute_lens(cloud.points, "pca"))
    purity, per = component_purity(graph, cloud.label_codes("cluster"))
    assert purity >= 0.9 and min(per) >= 0.9 and len(per) >= 6


def test_a_lens_that_raises_fails_the_rule_with_its_error(tmp_path, monkeypatch):
    import kmapper as km

    def bad_lens(points):
        raise RuntimeError("lens exploded on purpose")

    # the trap: kmapper's fit_transform swallows the projection's error and returns the data unchanged
    class Projection:
        def fit_transform(self, x):
            raise RuntimeError("lens exploded on purpose")

    x = np.random.default_rng(0).standard_normal((20, 3))
    out = km.KeplerMapper(verbose=0).fit_transform(x, projection=Projection(), scaler=None)
    assert out.shape == x.shape
    # ours: the rule's function fails with the lens's own error, before writing anything
    module = types.ModuleType("saegeom_test_lenses")
    module.bad = bad_lens
    monkeypatch.setitem(sys.modules, "saegeom_test_lenses", module)
    world = blobs_world(0)
    world.save(tmp_path / "world.safetensors")
    with pytest.raises(RuntimeError, match="lens exploded on purpose"):
        topology_report(None, tmp_path / "out", world=tmp_path / "world.safetensors", model="a",
                        settings={"mapper": {"lens": "saegeom_test_lenses:bad"}})
    with pytest.raises(KeyError, match="no_such_column"):
        compute_lens(x, "column:no_such_column", table=pd.DataFrame({"frequency": np.ones(20)}))
    assert not (tmp_path / "out").exists()


def test_report_is_offline_and_escapes_labels(tmp_path):
    from saegeom.features import write_latents

    world = blobs_world(0)
    world.save(tmp_path / "world.safetensors")
    latents = pd.DataFrame({"latent": np.arange(96, dtype=np.int32), "frequency": np.linspace(0, 0.1, 96),
                            "label": ["<script>alert(1)</script> & co"] * 96, "group": ["days of week"] * 96,
                            "is_concept": [True] * 96, "mean_activation": 1.0, "max_activation": 2.0,
                            "top_tokens": [["<b>"]] * 96})
    write_latents(latents, tmp_path / "latents.parquet")  # the feature-cache schema (saegeom.features)
    dec = world.gt_features("a")
    sae = save_decoder(tmp_path / "sae", dec)
    from saegeom.pairing import write_pairs
    from saegeom.topology.analysis import partner_scores

    pairs = pd.DataFrame({"a_idx": [0, 1, 1, 5], "b_idx": [3, 4, 2, 0], "score": [0.9, 0.5, 0.7, 0.2],
                          "pairing": ["hungarian", "hungarian", "hungarian", "one_to_one"], "min_score": 0.1})
    write_pairs(pairs, tmp_path / "pairs.parquet")
    score = partner_scores(96, [(tmp_path / "pairs.parquet", "a")])
    assert score[0] == 0.9 and score[1] == 0.7 and np.isnan(score[5]) and np.isnan(score[2])  # hungarian preferred
    summary = topology_report(sae, tmp_path / "out", world=tmp_path / "world.safetensors", model="a",
                              latents=tmp_path / "latents.parquet", names={"world": "blobs", "model": "a", "sae": "x"},
                              pairs=[(tmp_path / "pairs.parquet", "a")])
    out = tmp_path / "out"
    assert {"mapper.html", "mapper.json", "mapper_summary.parquet", "diagrams.parquet", "persistence.png"} <= {
        p.name for p in out.iterdir()}
    page = (out / "mapper.html").read_text()
    assert external_sources(page) == []
    assert "<script>alert(1)" not in page  # labels are data: escaped
    assert "d3.forceSimulation" in page or "forceSimulation" in page  # kmapper's script is there
    assert "inlined by saegeom: d3-6.1.1.min.js" in page and "inlined by saegeom: FileSaver" in page
    assert "partner_score" in page and "frequency" in page  # colour functions offered in the report
    # the dead latent (frequency 0) is dropped; group subspace named without whitespace
    assert summary.n_points.iloc[0] == 95
    diagrams = pd.read_parquet(out / "diagrams.parquet")
    assert {"all", "group:days_of_week", "cluster:0"} <= set(diagrams.subspace)
    # the check itself can fail: kmapper's own page loads from CDNs
    import kmapper as km

    cloud = ground_truth_cloud(world, "a")
    graph = mapper_graph(cloud.points, compute_lens(cloud.points, "pca"))
    raw = km.KeplerMapper(verbose=0).visualize(graph, path_html=None, save_file=False, X=cloud.points,
                                               lens=compute_lens(cloud.points, "pca"))
    assert len(external_sources(raw)) >= 3 and external_sources(inline_assets(raw)) == []


# ---- MSID and Geometry Score against references ------------------------------------------------
def test_slq_heat_trace_matches_exact_eigendecomposition():
    x = np.random.default_rng(0).standard_normal((200, 6))
    lap = normalized_laplacian(knn_graph(x, 5))
    exact = heat_trace_exact(lap)
    est = heat_trace_slq(lap, m=12, n_vectors=400, seed=1)
    assert np.max(np.abs(est - exact) / exact) < 0.03  # measured 0.004-0.02 over seeds
    # closed form: complete graph K_n has normalised-Laplacian eigenvalues 0 and n/(n-1) (n-1 times)
    n = 15
    k_n = normalized_laplacian(sp.csr_matrix(np.ones((n, n)) - np.eye(n)))
    closed = 1 + (n - 1) * np.exp(-DEFAULT_TIMES * n / (n - 1))
    np.testing.assert_allclose(heat_trace_exact(k_n), closed, rtol=1e-10)
    np.testing.assert_allclose(heat_trace_slq(k_n, n_vectors=2000, seed=0), closed, rtol=0.06)


def _shapes(rng, n=600):
    def circle(m, centre=(0.0, 0.0)):
        t = rng.uniform(0, 2 * np.pi, m)
        return np.c_[centre[0] + np.cos(t), centre[1] + np.sin(t)] + 0.02 * rng.standard_normal((m, 2))

    return dict(circle=circle(n), circle2=circle(n), eight=np.r_[circle(n // 2, (-1, 0)), circle(n // 2, (1, 0))],
                blob=0.5 * rng.standard_normal((n, 2)))


def test_geometry_score_tells_circle_figure_eight_and_blob_apart():
    s = _shapes(np.random.default_rng(0))
    mrlt = {k: mean_rlt(v, n_landmarks=64, gamma=0.05, n_repeats=10, seed=1) for k, v in s.items()}
    assert np.argmax(mrlt["circle"]) == 1 and np.argmax(mrlt["eight"]) == 2 and np.argmax(mrlt["blob"]) == 0
    gs = lambda a, b: float(((mrlt[a] - mrlt[b]) ** 2).sum())
    assert gs("circle", "circle2") < 0.05 < min(gs("circle", "eight"), gs("circle", "blob"))
    assert geometry_score(s["circle"], s["circle"], gamma=0.05, n_repeats=3) < 0.05
    # RLT by hand: one interval [0, 0.5) of alpha_max 1 -> half the time one hole, half none
    np.testing.assert_allclose(relative_living_times(np.array([[0.0, 0.5]]), 1.0, 3), [0.5, 0.5, 0.0])
    np.testing.assert_allclose(relative_living_times(np.zeros((0, 2)), 1.0, 3), [1.0, 0.0, 0.0])


def test_msid_orders_shapes():
    s = _shapes(np.random.default_rng(1), n=300)
    same = msid_distance(s["circle"], s["circle2"])  # exact heat traces (300 points)  # exact heat traces
    assert same < msid_distance(s["circle"], s["eight"])
    assert same < msid_distance(s["circle"], s["blob"])


# ---- rows of results/metrics.parquet -----------------------------------------------------------
def test_comparison_rows_are_valid_metrics_rows(tmp_path):
    world = blobs_world(0, n_clusters=3, models={"a": {"basis": "identity"}, "b": {"basis": "rotation"}},
                        n_features=60)
    world.save(tmp_path / "world.safetensors")
    settings = {"n_baseline": 5, "n_points": 40, "geometry_score": {"n_repeats": 2}, "msid": {"n_vectors": 20}}
    ctx = dict(source="synthetic", world="blobs", model_a="a", sae_a="ground_truth", model_b="b",
               sae_b="ground_truth")
    df = topology_comparison(None, None, tmp_path / "t.parquet", model_a="a", model_b="b",
                             world=tmp_path / "world.safetensors", settings=settings, context=ctx)
    df = read_metrics(tmp_path / "t.parquet")
    assert set(df.metric) == set(S.TOPOLOGY_METRICS) and set(df.pairing) == {"none"}
    assert set(df.representation) == {"ground_truth"}
    assert set(df[df.subspace == "all"].baseline) == {"random_directions"}
    assert {"cluster:0", "cluster:1", "cluster:2"} <= set(df.subspace)
    assert set(df[df.subspace == "cluster:0"].baseline) == {"random_subset", "random_directions"}
    assert df.value.notna().all()
    # 5 draws cannot reach p < 0.05 (smallest attainable 1/6): no p-value, and the note says why
    assert df.p_value.isna().all() and df.note.str.contains("smallest attainable p").all()
    # a rotated copy has the same shape: every diagram distance of `all` is ~0
    whole = df[(df.subspace == "all") & df.metric.str.startswith(("bottleneck", "wasserstein"))]
    assert (whole.value < 1e-6).all() and (whole.baseline_mean > 1e-3).all()


def test_topology_settings_match_the_schema():
    schema = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
    props = schema["properties"]["topology"]["properties"]
    assert props["worlds"]["default"] is None  # workflow key (rules/topology.smk), not a settings field
    for f in fields(S.TopologySettings):
        default = f.default_factory() if callable(f.default_factory) else f.default
        if isinstance(default, dict):
            assert {k: v["default"] for k, v in props[f.name]["properties"].items()} == default, f.name
        else:
            assert props[f.name]["default"] == default, f.name
    assert props["metrics"]["items"]["enum"] == list(S.TOPOLOGY_METRICS)
    assert props["baselines"]["items"]["enum"] == list(S.TOPOLOGY_NULLS)
    with pytest.raises(ValueError, match="unknown topology metrics"):
        S.TopologySettings(metrics=["betti_curve"])
    with pytest.raises(ValueError, match="topology.mapper keys"):
        S.TopologySettings(mapper={"n_cube": 3})


def test_workflow_runs_topology_for_every_cloud_and_feeds_metrics():
    """The plan of the tiny config (in process): a report per (world, model, SAE or ground truth), a
    comparison per model pair and SAE, and `rule metrics` reads the comparisons."""
    from saegeom.workflow.plan import Plan

    tiny = yaml.safe_load((REPO / "tests" / "data" / "tiny_config.yaml").read_text())
    plan = Plan.from_config(tiny, str(REPO / "workflow" / "schemas" / "config.schema.yaml"))
    assert len(plan.topology_reports()) == 2 * 3 and len(plan.topology_tables()) == 3
    assert "results/topology/compare/tiny/ground_truth/a~b.parquet" in plan.topology_tables()
    assert set(plan.topology_tables()) <= set(plan.metrics_tables())
