"""The viewer page's family mode (saegeom.viz.viewer with a families table), without a browser; the browser
test of hovering is in tests/viz/test_viewer_browser.py."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from viewer_fixtures import families_table, metric_rows, viewer_inputs

from saegeom.viz.viewer import build_viewer_html


def _data(page: str) -> dict:
    m = re.search(r'<script type="application/json" id="viewer-data">(.*?)</script>', page, re.S)
    return json.loads(m.group(1))


def _page(n: int = 60, seed: int = 0, **kw):
    ca, cb, la, lb, pairs, *_ = viewer_inputs(n=n, seed=seed)
    fam = families_table(n, pairs, seed)
    return build_viewer_html(ca, cb, la, lb, pairs, metric_rows(), names=("a", "b"), **kw, families=fam), fam


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_page_maps_each_latent_to_its_family_members_as_in_the_table(seed):
    n = 60
    page, fam = _page(n, seed)
    f = _data(page)["families"]
    assert len(f["a"]) == len(f["b"]) == n
    # reference: the B latents of each A latent's family, by a self-join of the table
    a, b = fam[fam.model == "a"], fam[fam.model == "b"]
    joined = a.merge(b, on="family", suffixes=("_a", "_b"))
    want = {i: sorted(joined.latent_b[joined.latent_a == i]) for i in range(n)}
    got = {i: sorted(j for j in range(n) if f["b"][j] == f["a"][i] >= 0) for i in range(n)}
    assert got == want
    # ... and the other direction
    want_b = {j: sorted(joined.latent_a[joined.latent_b == j]) for j in range(n)}
    assert want_b == {j: sorted(i for i in range(n) if f["a"][i] == f["b"][j] >= 0) for j in range(n)}
    # the fixture has both kinds of A latents: with and without a B family member
    assert 0 < sum(bool(v) for v in want.values()) < n
    # what the tooltip states: family id, the models holding it, its size over all three models
    size = fam.groupby("family").size()
    for i in range(n):
        fid, models, sz, _ = f["list"][f["a"][i]]
        row = a[a.latent == i].iloc[0]
        assert fid == row.family and models == row.models and sz == size[row.family] == row.n_models
    assert {m for entry in f["list"] for m in entry[1].split(",")} == {"a", "b", "c"}
    assert any(entry[2] == 3 for entry in f["list"]) and any(entry[2] == 1 for entry in f["list"])


def test_page_without_families_is_unchanged():
    ca, cb, la, lb, pairs, *_ = viewer_inputs(n=40)
    plain = build_viewer_html(ca, cb, la, lb, pairs, metric_rows(), names=("a", "b"))
    assert "families" not in _data(plain)
    assert plain == build_viewer_html(ca, cb, la, lb, pairs, metric_rows(), names=("a", "b"), families=None)
    with_fam = build_viewer_html(ca, cb, la, lb, pairs, metric_rows(), names=("a", "b"),
                                 families=families_table(40, pairs))
    assert {k: v for k, v in _data(with_fam).items() if k != "families"} == _data(plain)


def test_bad_families_table_is_named():
    ca, cb, la, lb, pairs, *_ = viewer_inputs(n=20)
    fam = families_table(20, pairs)
    with pytest.raises(ValueError, match="no latent of model 'x'"):
        build_viewer_html(ca, cb, la, lb, pairs, names=("x", "b"), families=fam)
    with pytest.raises(ValueError, match="lacks columns"):
        build_viewer_html(ca, cb, la, lb, pairs, names=("a", "b"), families=fam.drop(columns="family"))
    with pytest.raises(ValueError, match="several rows"):
        build_viewer_html(ca, cb, la, lb, pairs, names=("a", "b"), families=pd.concat([fam, fam.iloc[:1]]))
    bad = fam.copy()
    bad.loc[bad.model == "a", "latent"] += 1
    with pytest.raises(ValueError, match="outside"):
        build_viewer_html(ca, cb, la, lb, pairs, names=("a", "b"), families=bad)
    # a latent absent from the table: no family (-1), not an error
    f = _data(build_viewer_html(ca, cb, la, lb, pairs, names=("a", "b"),
                                families=fam[~((fam.model == "a") & (fam.latent == 3))]))["families"]
    assert f["a"][3] == -1 and np.all(np.array(f["a"][:3]) >= 0)
