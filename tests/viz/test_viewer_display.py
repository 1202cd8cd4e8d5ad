"""What the viewer page shows, in chromium: p-values, selections across pairings, the search box,
group colours, long and broken strings, the header, the metrics filter, token chips.

The page's Content-Security-Policy forbids eval, so waiting is done by polling ``page.evaluate``
(:func:`_until`) rather than ``wait_for_function``. Colour checks use CIELAB ΔE (CIE 1976), a
colour space independent of the OKLab the palette is built in.
"""

from __future__ import annotations

import re
import time

import numpy as np
import pandas as pd
import pytest
from test_viewer_browser import browser  # noqa: F401  (module-scoped chromium fixture)
from viewer_fixtures import GROUP_TOKENS, demo_like_inputs, metric_rows, viewer_inputs

from saegeom.compare.rows import Context, make_row
from saegeom.viz.viewer import build_viewer_html, write_viewer
from saegeom.viz.viewer_palette import NO_GROUP_GREY, group_palette, hex_to_rgb, oklab

VIEWPORT = {"width": 1400, "height": 1100}


def _until(page, js: str, timeout: float = 5.0):
    """Poll ``js`` (an expression) with page.evaluate until it is truthy; return its value."""
    end = time.monotonic() + timeout
    while True:
        value = page.evaluate(js)
        if value or time.monotonic() > end:
            return value
        time.sleep(0.05)


def _open(browser, tmp_path, html: str, name: str = "page.html"):  # noqa: F811
    path = tmp_path / name
    write_viewer(path, html)
    page = browser.new_page(viewport=VIEWPORT)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri())
    assert _until(page, "window.viewer !== undefined && window.viewer.ready")
    return page, errors


def _client(page, side: str, i: int) -> tuple[float, float]:
    c = page.evaluate(f"viewer.toClient('{side}', {i})")
    return c["x"], c["y"]


def cielab(rgb: np.ndarray) -> np.ndarray:
    """CIELAB (D65) of sRGB (n, 3) in [0, 1]: the textbook formulas, independent of viewer_palette."""
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    xyz = lin @ np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]).T
    t = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(t > (6 / 29) ** 3, np.cbrt(t), t / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], axis=1)


def _distances(colours: list[str]) -> tuple[float, float]:
    """(min pairwise ΔE76, min ΔE76 to the no-group grey) of ``#rrggbb`` colours."""
    lab, grey = cielab(hex_to_rgb(colours)), cielab(hex_to_rgb([NO_GROUP_GREY]))
    d = np.linalg.norm(lab[:, None] - lab[None], axis=-1)
    np.fill_diagonal(d, np.inf)
    return float(d.min()), float(np.linalg.norm(lab - grey, axis=1).min())


# ---------------------------------------------------------------- without a browser

def test_palette_is_distinct_past_20_groups_and_never_grey():
    # The palette is deterministic; measured: 40 colours have min pairwise ΔE76 11.5, min ΔE76 to the grey
    # 34.2, min OKLab distance 0.097 (the bounds below leave ≥ 10 % margin). tab20 had ΔE 0.36 to the grey.
    p40 = group_palette(40)
    assert len(set(p40)) == 40 and group_palette(20) == p40[:20]          # one colour per group, stable prefix
    pairwise, to_grey = _distances(p40)
    assert pairwise > 10 and to_grey > 30                                  # 2.3 is a just-noticeable ΔE
    ok = oklab(hex_to_rgb(p40))
    d = np.linalg.norm(ok[:, None] - ok[None], axis=-1)
    np.fill_diagonal(d, np.inf)
    assert d.min() > 0.09
    assert len(set(group_palette(300))) == 300                             # never repeats for big pages


def test_lone_surrogates_null_tokens_and_labels_build_and_write(tmp_path):
    ca, cb, la, lb, pairs, *_ = viewer_inputs(n=12)
    la = _objects(la)
    la.at[0, "top_tokens"] = ["ok", "bad\udc80half", "\ud83d"]          # lone surrogates (invalid UTF-8)
    la.at[1, "top_tokens"] = None
    la.at[2, "label"] = None
    la.at[3, "label"] = float("nan")
    la.at[4, "group"] = "grp\ud800"
    path = tmp_path / "page.html"
    write_viewer(path, build_viewer_html(ca, cb, la, lb, pairs, names=("a\udfff", "b"), title="t\ud800"))
    page = path.read_text(encoding="utf-8")
    data = re.search(r'id="viewer-data">(.*?)</script>', page, re.S).group(1)
    import json

    d = json.loads(data)
    assert d["sides"]["a"]["tokens"][0] == ["ok", "bad\ufffdhalf", "\ufffd"]
    assert d["sides"]["a"]["tokens"][1] == [] and d["sides"]["a"]["name"] == "a\ufffd"
    assert d["sides"]["a"]["label"][2] == d["sides"]["a"]["label"][3] == ""
    assert "grp\ufffd" in d["groups"] and "<title>t\ufffd</title>" in page


# ---------------------------------------------------------------- in chromium

@pytest.fixture(scope="module")
def demo_html():
    ca, cb, la, lb, pairs, rows = demo_like_inputs()
    return build_viewer_html(ca, cb, la, lb, pairs, rows, names=("lm_a/s", "lm_b/s"), title="lm:lm_a/s~lm_b/s"), rows


def _p_cells(page) -> list[tuple[str, bool]]:
    return page.evaluate("Array.from(document.querySelectorAll('#metrics tbody tr'), (r) => "
                         "[r.children[6].textContent, r.children[6].classList.contains('sig')])")


def test_p_values_bold_only_below_001_and_the_minimum_shown_as_a_bound(browser, tmp_path):  # noqa: F811
    ctx = Context(source="synthetic", world="w", model_a="a", sae_a="s", model_b="b", sae_b="s")
    # (p, valid null draws, expected text, bold): texts worked out by hand from the rule in viewer.js
    cases = [(float("nan"), 0, "–", False), (1 / 101, 100, "< 0.01", True), (1 / 100, 99, "≤ 0.01", False),
             (1 / 1001, 1000, "< 0.001", True), (0.0099, 9999, "0.0099", True), (0.00995, 9999, "< 0.01", True),
             (0.2, 100, "0.2", False), (0.012345, 9999, "0.013", False), (2 / 101, 100, "0.02", False)]
    rows = pd.DataFrame([make_row(ctx, subspace=f"s{k}", representation="decoder", pairing="hungarian",
                                  metric="linear_cka", value=0.5, baseline="random_partners", p_value=p,
                                  n_baseline=n, n_baseline_valid=n, n_pairs=10)
                         for k, (p, n, _, _) in enumerate(cases)])
    ca, cb, la, lb, pairs, *_ = viewer_inputs(n=20)
    page, errors = _open(browser, tmp_path, build_viewer_html(ca, cb, la, lb, pairs, rows))
    assert _p_cells(page) == [[text, bold] for _, _, text, bold in cases]
    page.close()
    assert not errors


def test_demo_page_never_bolds_an_undefined_or_large_p_value(browser, tmp_path, demo_html):  # noqa: F811
    html, rows = demo_html
    page, errors = _open(browser, tmp_path, html)
    cells = _p_cells(page)
    assert len(cells) == len(rows) and any(b for _, b in cells) and any(t == "–" for t, _ in cells)
    for (text, bold), p in zip(cells, rows.p_value, strict=True):
        assert bold == bool(p < 0.01)                      # NaN < 0.01 is False
        if bold:
            assert text == "< 0.01"                        # the only p < 0.01 with 100 draws is 1/101
        elif np.isfinite(p):
            assert float(text) >= p and float(text) >= 0.01
    page.close()
    assert not errors


def test_metrics_filter_and_header_say_what_is_shown(browser, tmp_path, demo_html):  # noqa: F811
    html, rows = demo_html
    page, errors = _open(browser, tmp_path, html)
    about = page.locator("#about").inner_text()
    assert "UMAP of its decoder direction" in about and "n_neighbors 15" in about and "min_dist 0.01" in about
    assert "metric cosine" in about and "Pearson correlation" in about and "hungarian" in about
    assert "lasso" in about and "Hover" in about and "Search" in about
    page.select_option("#pairing", "many_to_one")
    assert "best-correlated" in page.locator("#about-score").inner_text()
    page.select_option("#pairing", "hungarian")
    n_all = page.evaluate("viewer.metricRows()")
    assert n_all == len(rows)
    page.fill("#metrics-filter", "Topic 3 RSA")             # every word, any case, any column
    text = (rows.subspace + " " + rows.representation + " " + rows.metric + " " + rows.baseline + " " + rows.note)
    expect = rows[[all(w in t.lower() for w in ("topic", "3", "rsa")) for t in text]]
    shown = page.evaluate("Array.from(document.querySelectorAll('#metrics tbody tr'), "
                          "(r) => [r.children[0].textContent, r.children[2].textContent])")
    assert shown == expect[["subspace", "metric"]].values.tolist() and 0 < len(shown) < n_all
    assert f"{len(shown)} of {n_all} rows" in page.locator("#metrics-caption").inner_text()
    page.fill("#metrics-filter", "")
    assert page.evaluate("viewer.metricRows()") == n_all
    page.close()
    assert not errors


def test_group_colours_in_page_are_distinct_and_not_grey(browser, tmp_path, demo_html):  # noqa: F811
    html, _ = demo_html
    page, errors = _open(browser, tmp_path, html)
    swatches = page.evaluate("Array.from(document.querySelectorAll('#legend-a .swatch'), "
                             "(s) => [s.parentElement.textContent, getComputedStyle(s).backgroundColor])")
    to_hex = {t: "#" + "".join(f"{int(v):02x}" for v in re.findall(r"\d+", c)[:3]) for t, c in swatches}
    grey = to_hex.pop("no group", None)
    pairwise, to_grey = _distances(list(to_hex.values()))
    assert pairwise > 10 and to_grey > 30                  # measured 11.5 / 34.2, see the palette test
    assert len(to_hex) == 40 and all(t.startswith("topic ") for t in to_hex) and grey == NO_GROUP_GREY
    page.close()
    assert not errors


def test_box_selection_follows_a_pairing_switch(browser, tmp_path):  # noqa: F811
    ca, cb, la, lb, pairs, *_ = viewer_inputs(n=300)
    page, errors = _open(browser, tmp_path, build_viewer_html(ca, cb, la, lb, pairs, metric_rows()))
    page.select_option("#pairing", "many_to_one")
    page.check("input[name=mode][value=box]")
    box = page.locator("#plot-a").bounding_box()
    x0, y0, x1, y1 = (box["x"] + 0.05 * box["width"], box["y"] + 0.45 * box["height"],
                      box["x"] + 0.45 * box["width"], box["y"] + 0.98 * box["height"])
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x1, y1, steps=4)
    page.mouse.up()
    h = page.evaluate("viewer.highlighted()")
    members = set(h["a_members"])
    assert h["kind"] == "selection" and len(members) > 20
    by = {name: p for name, p in pairs.groupby("pairing")}
    assert set(h["b_partners"]) == set(by["many_to_one"].b_idx[by["many_to_one"].a_idx.isin(members)])
    page.select_option("#pairing", "hungarian")
    h = page.evaluate("viewer.highlighted()")
    assert h["kind"] == "selection" and set(h["a_members"]) == members
    assert set(h["b_partners"]) == set(by["hungarian"].b_idx[by["hungarian"].a_idx.isin(members)])
    page.wait_for_timeout(150)                                # the table re-renders on a 60 ms timer
    rows = page.evaluate("viewer.tableRows()")
    assert rows and all(r["a"] in members for r in rows)
    page.close()
    assert not errors


def test_search_box_keeps_the_text_as_typed(browser, tmp_path):  # noqa: F811
    ca, cb, la, lb, pairs, ga, gb = viewer_inputs(n=60)
    page, errors = _open(browser, tmp_path, build_viewer_html(ca, cb, la, lb, pairs))
    page.type("#search", "PeAr ", delay=220)                # slower than the 150 ms search debounce
    page.wait_for_timeout(300)
    assert page.input_value("#search") == "PeAr "
    fruit = list(GROUP_TOKENS).index("fruit")
    assert page.evaluate("viewer.highlighted()")["a_members"] == np.flatnonzero(ga == fruit).tolist()
    page.fill("#search", "   ")
    page.wait_for_timeout(300)
    assert page.input_value("#search") == "   " and page.evaluate("viewer.highlighted()")["kind"] is None
    page.close()
    assert not errors


def _objects(df: pd.DataFrame) -> pd.DataFrame:
    """Text columns as Python objects, so a test can put None, NaN or lone surrogates in them."""
    return df.astype({"top_tokens": object, "label": object, "group": object})


def _isolate(coords: np.ndarray, *ids: int) -> None:
    """Move latents ``ids`` far from every other point (and each other), so hovering/clicking one picks it alone."""
    corner = coords.max(0) + 6.0
    for k, i in enumerate(ids):
        coords[i] = corner + [0.0, 8.0 * k]


def test_long_strings_are_truncated_with_the_full_text_on_click(browser, tmp_path):  # noqa: F811
    ca, cb, la, lb, pairs, *_ = viewer_inputs(n=40)
    k = 7
    _isolate(ca, k)
    big_label, big_token = "L" * 100_000, "T" * 100_000 + "\U0001F600"
    la = _objects(la)
    la.at[k, "label"] = big_label
    la.at[k, "top_tokens"] = ["short", big_token]
    hun = pairs[pairs.pairing == "hungarian"]
    page, errors = _open(browser, tmp_path, build_viewer_html(ca, cb, la, lb, pairs))
    page.mouse.move(*_client(page, "a", k))
    assert _until(page, "viewer.hovered() !== null && viewer.hovered().id")  == k
    size = page.evaluate("[document.getElementById('tooltip').offsetHeight, viewer.tooltip().length]")
    assert size[0] < 0.6 * VIEWPORT["height"] + 1 and size[1] < 2_000
    tip = page.evaluate("viewer.tooltip()")
    assert "[+99,961 chars]" in tip   # the token cut at 40 characters (emoji = 1)
    # the table cell is short; its title carries the full text
    page.fill("#search", "short")
    page.press("#search", "Enter")
    page.wait_for_timeout(150)
    partner = int(hun.b_idx[hun.a_idx == k].iloc[0])
    assert [(r["a"], r["b"]) for r in page.evaluate("viewer.tableRows()")] == [(k, partner)]
    cell = page.locator("#pairs tbody td.text").first
    assert cell.bounding_box()["height"] < 80 and big_token in cell.get_attribute("title")
    assert page.evaluate("viewer.details()") is None
    page.mouse.click(*_client(page, "a", k))
    details = _until(page, "viewer.details()")
    assert big_label in details and big_token in details
    assert page.locator("#details").bounding_box()["height"] < 300
    page.close()
    assert not errors


def test_broken_and_null_strings_are_shown_as_markers(browser, tmp_path):  # noqa: F811
    ca, cb, la, lb, pairs, *_ = viewer_inputs(n=40)
    la = _objects(la)
    _isolate(ca, 3, 5)
    la.at[3, "top_tokens"] = ["caf\udce9", "ok"]
    la.at[3, "label"] = None
    la.at[5, "top_tokens"] = None
    la.at[5, "label"] = float("nan")
    page, errors = _open(browser, tmp_path, build_viewer_html(ca, cb, la, lb, pairs))
    page.mouse.move(*_client(page, "a", 3))
    assert _until(page, "viewer.hovered() !== null && viewer.hovered().id") == 3
    chips = page.evaluate("Array.from(document.querySelectorAll('#tooltip .tok'), (e) => e.textContent)")
    assert chips[:2] == ["caf\ufffd", "ok"]
    label = page.evaluate("document.querySelector('#tooltip .label').textContent")
    assert label == "—"
    page.mouse.move(*_client(page, "a", 5))
    assert _until(page, "viewer.hovered() !== null && viewer.hovered().id") == 5
    tip = page.evaluate("viewer.tooltip()")
    assert "top tokens" not in tip and "nan" not in tip.lower() and "None" not in tip
    assert page.evaluate("document.querySelector('#tooltip .label').textContent") == "—"
    page.close()
    assert not errors


def test_tokens_are_chips_with_visible_whitespace(browser, tmp_path):  # noqa: F811
    ca, cb, la, lb, pairs, *_ = viewer_inputs(n=40)
    k = 9
    _isolate(ca, k)
    la = _objects(la)
    la.at[k, "top_tokens"] = [" the", ",", ".", "\n", "a b", "\t", "", "·"]
    page, errors = _open(browser, tmp_path, build_viewer_html(ca, cb, la, lb, pairs))
    page.mouse.move(*_client(page, "a", k))
    assert _until(page, "viewer.hovered() !== null && viewer.hovered().id") == k
    chips = page.evaluate("Array.from(document.querySelectorAll('#tooltip .tok'), (e) => e.textContent)")
    assert chips[:8] == ["␣the", ",", ".", "↵", "a␣b", "⇥", "∅", "·"]     # one chip per token, whitespace shown
    # each chip is its own box: separated on screen, none overlapping the next
    boxes = page.evaluate("Array.from(document.querySelectorAll('#tooltip .tok')).slice(0, 8).map((e) => "
                          "{ const r = e.getBoundingClientRect(); return [r.left, r.right, r.top]; })")
    for (_, r0, t0), (l1, _, t1) in zip(boxes, boxes[1:], strict=False):
        assert l1 >= r0 + 2 or t1 > t0                        # a gap, or wrapped to the next line
    page.close()
    assert not errors
