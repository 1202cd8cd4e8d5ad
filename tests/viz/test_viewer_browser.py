"""The viewer page in a real browser: Playwright driving Debian's chromium, headless.

``make test`` installs both (``make browser-deps``: playwright from PyPI, chromium from apt); where
chromium cannot be installed these tests skip with the reason, and tests/viz/test_viewer.py still checks
the HTML. A screenshot goes to ``test-artifacts/viewer.png`` (or ``$SAEGEOM_TEST_ARTIFACTS``).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from viewer_fixtures import GROUP_TOKENS, INJECTIONS, families_table, metric_rows, viewer_inputs

from saegeom.viz.viewer import build_viewer_html

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("SAEGEOM_TEST_ARTIFACTS", REPO / "test-artifacts"))
HOVER_RGB = [255, 45, 0]  # viewer.js HOVER


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (make browser-deps installs it from PyPI); "
                    "tests/viz/test_viewer.py still checks the HTML")
    exe = _chromium()
    if exe is None:
        pytest.skip("chromium is not installed and `make browser-deps` could not install it "
                    "(apt-get install chromium); tests/viz/test_viewer.py still checks the HTML")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, headless=True, args=["--no-sandbox"])
        yield b
        b.close()


def _open(browser, tmp_path: Path, page_html: str, name: str = "viewer.html"):
    path = tmp_path / name
    path.write_text(page_html, encoding="utf-8")
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri())
    page.wait_for_function("window.viewer && window.viewer.ready")
    return page, errors


@pytest.fixture
def small(browser, tmp_path):
    ca, cb, la, lb, pairs, ga, gb = viewer_inputs(n=300)
    html = build_viewer_html(ca, cb, la, lb, pairs, metric_rows(), names=("model a", "model b"), title="w:a/s~b/s")
    page, errors = _open(browser, tmp_path, html)
    page.evaluate("viewer.setPairing('many_to_one')")
    yield page, (ca, cb, la, lb, pairs, ga, gb)
    assert not errors
    page.close()


def _hover(page, side: str, i: int) -> None:
    c = page.evaluate(f"viewer.toClient('{side}', {i})")
    page.mouse.move(c["x"], c["y"])


def _free_point(page, side: str, coords: np.ndarray, cands) -> int:
    """A latent whose nearest neighbour on screen is > 8 px away (so hovering it cannot pick another)."""
    pts = np.array([list(page.evaluate(f"viewer.toClient('{side}', {i})").values()) for i in range(len(coords))])
    for i in cands:
        d = np.linalg.norm(pts - pts[i], axis=1)
        d[i] = np.inf
        if d.min() > 9:
            return int(i)
    raise AssertionError("no isolated point")


def test_hover_highlights_partners_both_ways_with_tooltip(small):
    page, (ca, cb, la, lb, pairs, ga, gb) = small
    m2o = pairs[pairs.pairing == "many_to_one"]
    i = _free_point(page, "a", ca, range(150))
    _hover(page, "a", i)
    h = page.evaluate("viewer.hovered()")
    expected = sorted(m2o.b_idx[m2o.a_idx == i])
    assert h["side"] == "a" and h["id"] == i and sorted(h["partners"]) == expected == [2 * i, 2 * i + 1]
    for j in expected:  # what the user sees: the partner's pixel in plot B is the hover colour
        assert page.evaluate(f"viewer.pixel('b', {j})")[:3] == HOVER_RGB
    tip = page.locator("#tooltip")
    assert tip.is_visible()
    text = tip.inner_text()
    assert f"feature {i}" in text and " · ".join(la.top_tokens[i]) in text
    assert f"#{expected[0]}" in text and f"#{expected[1]}" in text
    page.screenshot(path=str(_artifact("viewer.png")))
    # the other direction: a B latent shows its one A partner
    j = _free_point(page, "b", cb, range(0, 300, 3))
    _hover(page, "b", j)
    h = page.evaluate("viewer.hovered()")
    assert h["side"] == "b" and h["partners"] == [j // 2]
    assert page.evaluate(f"viewer.pixel('a', {j // 2})")[:3] == HOVER_RGB
    assert " · ".join(lb.top_tokens[j]) in tip.inner_text()


def test_keyword_search_highlights_and_zooms_in_both(small):
    page, (ca, cb, la, lb, pairs, ga, gb) = small
    page.fill("#search", "pear")
    page.press("#search", "Enter")
    h = page.evaluate("viewer.highlighted()")
    fruit = list(GROUP_TOKENS).index("fruit")
    assert h["kind"] == "search"
    assert h["a_members"] == np.flatnonzero(ga == fruit).tolist()
    assert h["b_members"] == np.flatnonzero(gb == fruit).tolist()
    for side, members in (("a", h["a_members"]), ("b", h["b_members"])):
        view, home = page.evaluate(f"viewer.view('{side}')"), page.evaluate(f"viewer.home('{side}')")
        assert view["x1"] - view["x0"] < 0.7 * (home["x1"] - home["x0"])     # zoomed in ...
        assert all(page.evaluate(f"viewer.inView('{side}', {i})") for i in members)  # ... onto every match
    assert "in model a" in page.locator("#search-count").inner_text()
    page.fill("#search", "ATOK299")   # a latent-specific token, case-insensitive: exactly one latent of A
    page.press("#search", "Enter")
    h = page.evaluate("viewer.highlighted()")
    assert h["a"] == [299] and h["b"] == []


def test_group_and_box_selection_light_up_partners(small):
    page, (ca, cb, la, lb, pairs, ga, gb) = small
    m2o = pairs[pairs.pairing == "many_to_one"]
    page.select_option("#group", "tools")
    h = page.evaluate("viewer.highlighted()")
    tools = list(GROUP_TOKENS).index("tools")
    members_a, members_b = set(np.flatnonzero(ga == tools)), set(np.flatnonzero(gb == tools))
    partners_b = set(m2o.b_idx[m2o.a_idx.isin(members_a)]) - members_b
    partners_a = set(m2o.a_idx[m2o.b_idx.isin(members_b)]) - members_a
    assert set(h["a_members"]) == members_a and set(h["b_members"]) == members_b
    assert set(h["b_partners"]) == partners_b and set(h["a_partners"]) == partners_a
    # box selection in plot A: a rectangle around the lower-left blob
    page.check("input[name=mode][value=box]")
    box = page.locator("#plot-a").bounding_box()
    x0, y0 = box["x"] + 0.05 * box["width"], box["y"] + 0.45 * box["height"]
    x1, y1 = box["x"] + 0.45 * box["width"], box["y"] + 0.98 * box["height"]
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move((x0 + x1) / 2, (y0 + y1) / 2, steps=3)
    page.mouse.move(x1, y1, steps=3)
    page.mouse.up()
    pts = [page.evaluate(f"viewer.toClient('a', {i})") for i in range(len(ca))]
    inside = {i for i, p in enumerate(pts) if x0 <= p["x"] <= x1 and y0 <= p["y"] <= y1}
    h = page.evaluate("viewer.highlighted()")
    assert len(inside) > 20 and h["kind"] == "selection"
    assert set(h["a_members"]) == inside
    assert set(h["b_partners"]) == set(m2o.b_idx[m2o.a_idx.isin(inside)])
    assert set(h["b_members"]) == set()
    j = h["b_partners"][0]
    assert page.evaluate(f"viewer.pixel('b', {j})")[3] == 255   # partners drawn opaque over the dimmed map
    # the table now lists only pairs touching the selection
    rows = page.evaluate("viewer.tableRows()")
    assert rows and all(r["a"] in inside for r in rows)
    # lasso in plot B: a quadrilateral; members = the points inside it (matplotlib's point-in-polygon as reference)
    from matplotlib.path import Path as PolygonPath

    page.check("input[name=mode][value=lasso]")
    box = page.locator("#plot-b").bounding_box()
    poly = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in
           [(0.02, 0.02), (0.6, 0.05), (0.98, 0.98), (0.1, 0.9)]]
    page.mouse.move(*poly[0])
    page.mouse.down()
    for p in (*poly[1:], poly[0]):
        page.mouse.move(*p, steps=4)
    page.mouse.up()
    pts = np.array([list(page.evaluate(f"viewer.toClient('b', {i})").values()) for i in range(len(cb))])
    inside_b = set(np.flatnonzero(PolygonPath(poly).contains_points(pts)))
    h = page.evaluate("viewer.highlighted()")
    assert 20 < len(inside_b) < len(cb) and set(h["b_members"]) == inside_b
    assert set(h["a_partners"]) == set(m2o.a_idx[m2o.b_idx.isin(inside_b)])


def test_table_row_click_focuses_both_plots_and_sorts(small):
    page, (ca, cb, la, lb, pairs, ga, gb) = small
    page.click("#pairs th[data-key=score]")            # toggle to ascending score
    rows = page.evaluate("viewer.tableRows()")
    scores = [r["score"] for r in rows]
    assert scores == sorted(scores) and len(rows) == 200
    target = rows[5]
    page.click("#pairs tbody tr >> nth=5")
    assert page.evaluate("viewer.focused()") == {"a": target["a"], "b": target["b"]}
    for side, i in (("a", target["a"]), ("b", target["b"])):
        view, home = page.evaluate(f"viewer.view('{side}')"), page.evaluate(f"viewer.home('{side}')")
        assert view["x1"] - view["x0"] <= 0.16 * (home["x1"] - home["x0"])
        centre = page.evaluate(f"viewer.toClient('{side}', {i})")
        b = page.locator(f"#plot-{side}").bounding_box()
        assert abs(centre["x"] - (b["x"] + b["width"] / 2)) < 3 and abs(centre["y"] - (b["y"] + b["height"] / 2)) < 3
    assert page.locator("#pairs tbody tr.focused").count() == 1


def test_16k_points_per_side_hover_round_trip_under_a_second(browser, tmp_path):
    n = 16_384
    ca, cb, la, lb, pairs, ga, gb = viewer_inputs(n=n, seed=1)
    html = build_viewer_html(ca, cb, la, lb, pairs, metric_rows(), names=("a", "b"))
    t0 = time.perf_counter()
    page, errors = _open(browser, tmp_path, html, "big.html")
    load_s = time.perf_counter() - t0
    assert page.evaluate("viewer.pairing()") == "hungarian"   # one partner per A latent
    assert page.evaluate("viewer.n()") == {"a": n, "b": n}
    times, handler_ms = [], []
    for i in (11, 5000, 12000, 16000):
        c = page.evaluate(f"viewer.toClient('a', {i})")
        page.mouse.move(1, 1)                            # leave the plot: nothing hovered
        assert page.evaluate("viewer.hovered()") is None
        t0 = time.perf_counter()
        page.mouse.move(c["x"], c["y"])
        page.wait_for_function("() => { const h = viewer.hovered(); return h && h.partners.length > 0; }",
                               timeout=5000)
        times.append(time.perf_counter() - t0)
        h = page.evaluate("viewer.hovered()")
        expected = sorted(pairs[(pairs.pairing == "hungarian") & (pairs.a_idx == h["id"])].b_idx)
        assert sorted(h["partners"]) == expected
        handler_ms.append(h["ms"])
    # a search matching a third of each map (highlight, zoom, redraw), timed in the page
    search_s = page.evaluate("() => { const t = performance.now(); viewer.search('apple'); "
                             "return (performance.now() - t) / 1000; }")
    assert len(page.evaluate("viewer.highlighted()")["a"]) == int((ga == 0).sum())
    print(f"16k/side: load {load_s:.2f} s, hover round trips {[round(t, 3) for t in times]} s, "
          f"in-page handler {[round(m, 1) for m in handler_ms]} ms, search {search_s:.3f} s")
    assert max(times) < 1.0 and search_s < 1.0
    assert not errors
    page.close()


def test_injection_strings_run_no_script_and_add_no_nodes(browser, tmp_path):
    ca, cb, la, lb, pairs, ga, gb = viewer_inputs(n=60, extra_tokens=INJECTIONS)
    la.loc[0, "label"] = INJECTIONS[1]
    la.loc[1, "group"] = INJECTIONS[0]
    html = build_viewer_html(ca, cb, la, lb, pairs, metric_rows(), names=(INJECTIONS[1], "b"), title=INJECTIONS[0])
    path = tmp_path / "inject.html"
    path.write_text(html, encoding="utf-8")
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    dialogs, errors = [], []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri())
    page.wait_for_function("window.viewer && window.viewer.ready")
    count = "document.querySelectorAll('script, img, iframe, object, embed, b, [onerror]').length"
    before = page.evaluate(count)
    assert before == 2  # the data block and the viewer script
    _hover(page, "a", 0)
    assert INJECTIONS[1] in page.locator("#tooltip").inner_text()      # shown as text
    page.fill("#search", "onerror")
    page.press("#search", "Enter")
    assert len(page.evaluate("viewer.highlighted()")["a"]) == 60
    page.select_option("#group", INJECTIONS[0])
    page.evaluate("viewer.setColour('group')")
    page.wait_for_timeout(150)  # the table re-renders on a timer
    cells = page.locator("#pairs tbody td.text")   # tokens as chips; the cell's title holds the full text
    assert any(INJECTIONS[0] in (cells.nth(k).get_attribute("title") or "") for k in range(cells.count()))
    chip_texts = page.evaluate("Array.from(document.querySelectorAll('#pairs tbody .tok'), (e) => e.textContent)")
    assert "↵x" in chip_texts and "<!--" in chip_texts    # shown as text (U+2028 made visible), not markup
    assert page.title() == INJECTIONS[0] and INJECTIONS[1] in page.locator("#name-a").inner_text()
    assert page.evaluate(count) == before
    assert page.evaluate("window.__pwned") is None and not dialogs and not errors
    page.close()


def test_family_mode_hover_marks_exactly_the_family_in_the_other_map(browser, tmp_path):
    n = 120
    ca, cb, la, lb, pairs, ga, gb = viewer_inputs(n=n, seed=3)
    fam = families_table(n, pairs, seed=3)
    html = build_viewer_html(ca, cb, la, lb, pairs, metric_rows(), names=("a", "b"), families=fam)
    page, errors = _open(browser, tmp_path, html, "families.html")
    assert page.evaluate("viewer.hoverMode()") == "family" and page.locator("#hover-mode").count() == 1
    a, b = fam[fam.model == "a"].set_index("latent"), fam[fam.model == "b"]
    size = fam.groupby("family").size()
    # reference from the table: the B latents sharing each A latent's family
    members = {i: sorted(b.latent[b.family == a.family[i]]) for i in range(n)}
    with_b = [i for i in range(n) if members[i]]
    partners_differ = [i for i in with_b if members[i] != [2 * i, 2 * i + 1]]  # many_to_one partners are 2i, 2i+1
    page.evaluate("viewer.setPairing('many_to_one')")
    i = _free_point(page, "a", ca, partners_differ)
    _hover(page, "a", i)
    h = page.evaluate("viewer.hovered()")
    assert h["side"] == "a" and h["id"] == i and h["mode"] == "family" and sorted(h["partners"]) == members[i]
    for j in range(n):  # exactly the family's B latents carry the hover colour (the others are dimmed)
        assert (page.evaluate(f"viewer.pixel('b', {j})")[:3] == HOVER_RGB) == (j in members[i]), j
    text = page.locator("#tooltip").inner_text()
    f = int(a.family[i])
    assert f"family {f} · held by {', '.join(a.models[i].split(','))} · size {size[f]}" in text
    page.screenshot(path=str(_artifact("viewer_families.png")))
    # an A latent whose family holds no B latent marks nothing in B
    lone = _free_point(page, "a", ca, [k for k in range(n) if not members[k]])
    _hover(page, "a", lone)
    assert page.evaluate("viewer.hovered()")["partners"] == []
    assert "family members in b: none" in page.locator("#tooltip").inner_text()
    # the partners mode: the page behaves as without families (the pairing's partners)
    page.select_option("#hover-mode", "partners")
    _hover(page, "a", i)
    assert sorted(page.evaluate("viewer.hovered()")["partners"]) == [2 * i, 2 * i + 1]
    assert not errors
    page.close()


def test_page_without_families_has_no_family_mode(small):
    page, (ca, cb, la, lb, pairs, ga, gb) = small
    assert page.evaluate("viewer.hoverMode()") == "partners" and page.locator("#hover-mode").count() == 0
    assert page.evaluate("viewer.family('a', 0)") is None
    i = _free_point(page, "a", ca, range(150))
    _hover(page, "a", i)
    assert "family" not in page.locator("#tooltip").inner_text()
    assert sorted(page.evaluate("viewer.hovered()")["partners"]) == [2 * i, 2 * i + 1]


def _artifact(name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / name
