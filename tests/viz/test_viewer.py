"""Viewer page, latents table and UMAP coordinates without a browser (tests/viz/test_viewer_browser.py drives one)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from viewer_fixtures import INJECTIONS, metric_rows, viewer_inputs

from saegeom.settings import UMAP_METRICS, ViewerSettings
from saegeom.viz.viewer import build_viewer_html, script_json

REPO = Path(__file__).resolve().parents[2]


def _data(page: str) -> dict:
    m = re.search(r'<script type="application/json" id="viewer-data">(.*?)</script>', page, re.S)
    return json.loads(m.group(1))


def test_script_json_escapes_everything_that_could_end_the_element():
    obj = {"tokens": INJECTIONS, "x": [1.5, float("nan")]}
    text = script_json(obj)
    assert not set("<>&\u2028\u2029") & set(text)
    assert json.loads(text) == {"tokens": INJECTIONS, "x": [1.5, None]}


def test_page_is_self_contained_holds_both_plots_and_escapes_tokens():
    ca, cb, la, lb, pairs, ga, gb = viewer_inputs(n=50, extra_tokens=INJECTIONS)
    la.loc[3, "group"] = INJECTIONS[0]
    page = build_viewer_html(ca, cb, la, lb, pairs, metric_rows(), names=("a", "b"), title="t <i>x</i>")
    # offline: one inline data block + one inline script, no external resource of any kind
    assert page.count("<script") == 2 and "<script src" not in page
    assert not re.search(r"https?://|src=\"(?!x)|<link", page.replace(INJECTIONS[1], ""))
    assert "default-src 'none'" in page                      # CSP: the page cannot fetch anything
    for s in INJECTIONS[:3]:
        assert s not in page                                 # never literally in the HTML
    assert "<title>t &lt;i&gt;x&lt;/i&gt;</title>" in page
    data = _data(page)
    for side, coords, lat in (("a", ca, la), ("b", cb, lb)):
        d = data["sides"][side]
        assert len(d["x"]) == len(d["y"]) == len(d["label"]) == 50
        np.testing.assert_allclose(d["x"], coords[:, 0], atol=1e-4)
        assert d["tokens"][7] == list(lat.top_tokens[7])       # injection strings survive as data
    assert INJECTIONS[0] in data["groups"]
    assert set(data["pairings"]) == {"many_to_one", "hungarian"} and data["pairing"] == "hungarian"
    m2o = data["pairings"]["many_to_one"]
    assert m2o["a"] == pairs[pairs.pairing == "many_to_one"].a_idx.tolist()
    assert [r[data["metrics"]["columns"].index("value")] for r in data["metrics"]["rows"]] == [0.81, 0.4]


def test_bad_inputs_are_named():
    ca, cb, la, lb, pairs, *_ = viewer_inputs(n=20)
    with pytest.raises(ValueError, match="20 coordinates but 19 latents"):
        build_viewer_html(ca, cb, la.iloc[:19], lb, pairs)
    bad = pairs.copy()
    bad.loc[0, "b_idx"] = 20
    with pytest.raises(ValueError, match="outside"):
        build_viewer_html(ca, cb, la, lb, bad)
    with pytest.raises(ValueError, match="pairing 'one_to_one' not in the pairs table"):
        build_viewer_html(ca, cb, la, lb, pairs, settings=ViewerSettings(pairing="one_to_one"))
    with pytest.raises(ValueError, match="UMAP metric"):
        ViewerSettings(metric="manhattan")


def test_schema_viewer_block_equals_settings():
    schema = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
    block = schema["properties"]["viewer"]["properties"]
    defaults = ViewerSettings()
    assert {k: v["default"] for k, v in block.items()} == {k: getattr(defaults, k) for k in block}
    assert set(block) == set(ViewerSettings.__dataclass_fields__)
    assert tuple(block["metric"]["enum"]) == UMAP_METRICS


def test_synthetic_latents_labels_and_activation_stats(make_world_cfg, tmp_path):
    from saegeom.synthetic.world import build_world
    from saegeom.viz.latents import LATENTS_SCHEMA, read_latents, synthetic_latents, write_latents

    world = build_world("w", make_world_cfg(geometry={"kind": "blobs", "n_clusters": 3, "spread": 0.3}), seed=1)
    gt = world.gt_features("a")                                    # (32, 16): latent i = true feature owned[i]
    rng = np.random.default_rng(0)
    noise = rng.standard_normal((1, gt.shape[1]))
    decoder = np.vstack([gt, noise / np.linalg.norm(noise)])
    codes = np.zeros((4, len(decoder)))
    codes[0, 0], codes[1, 0], codes[2, 1] = 2.0, 4.0, 1.0         # latent 0 fires twice, latent 1 once
    df = synthetic_latents(world, "a", decoder, codes, gt_threshold=0.99)
    owned, shared = world.models["a"].owned, set(world.shared.tolist())
    for i in (0, 5, 17):
        f = owned[i]
        c = world.labels["cluster"][f]
        assert df.label[i] == f"gt {f} · {'shared' if f in shared else 'private'} · cluster {c}"
        assert df.group[i] == f"cluster {c}"
    assert df.label.iloc[-1].startswith("no gt feature") and pd.isna(df.group.iloc[-1])
    assert df.frequency[0] == 0.5 and df.mean_activation[0] == 3.0 and df.max_activation[0] == 4.0
    assert df.frequency[1] == 0.25 and np.isnan(df.mean_activation[2]) and df.max_activation[2] == 0.0
    assert df.is_concept.all() and all(len(t) == 0 for t in df.top_tokens)
    path = tmp_path / "latents.parquet"
    write_latents(df, path)
    back = read_latents(path)
    assert list(back.columns) == LATENTS_SCHEMA.names and back.label.tolist() == df.label.tolist()
    with pytest.raises(ValueError, match="latent ids"):
        write_latents(df.iloc[1:], path)


def test_anchor_relations_are_one_to_one_best_first():
    from saegeom.viz.umap_coords import aligned_coordinates, anchor_relations

    pairs = pd.DataFrame({"a_idx": [0, 0, 1, 2], "b_idx": [5, 6, 5, 7], "score": [0.5, 0.9, 0.8, 0.1]})
    assert anchor_relations(pairs) == {0: 6, 1: 5, 2: 7}
    x = np.zeros((8, 3))
    with pytest.raises(ValueError, match="3 SAEs need 2 pair tables"):
        aligned_coordinates([x, x, x], [pairs])
    with pytest.raises(ValueError, match="at least one pair"):
        aligned_coordinates([x, x], [pairs.iloc[:0]])


def test_umap_separates_clusters_and_is_seeded():
    """Three tight direction clusters must stay apart in 2-D (kNN label agreement), same seed = same map."""
    from saegeom.viz.umap_coords import umap_coordinates

    rng = np.random.default_rng(0)
    centres = rng.standard_normal((3, 24))
    labels = np.repeat(np.arange(3), 30)
    x = centres[labels] + 0.15 * rng.standard_normal((90, 24))
    emb = umap_coordinates(x, seed=3)
    assert emb.shape == (90, 2) and emb.dtype == np.float32
    np.testing.assert_array_equal(emb, umap_coordinates(x, seed=3))
    d = np.linalg.norm(emb[:, None] - emb[None], axis=-1)
    np.fill_diagonal(d, np.inf)
    knn = np.argsort(d, axis=1)[:, :5]
    assert (labels[knn] == labels[:, None]).mean() > 0.95
