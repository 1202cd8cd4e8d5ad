"""Self-contained Mapper HTML: kepler-mapper's ``visualize`` with every external resource inlined.

kepler-mapper's template loads d3 and FileSaver from CDNs, a Google Font and an imgur
favicon, so its reports are blank without a network. The scripts are shipped as package
data (``saegeom/topology/static``: d3 6.1.1 — the version kmapper's template names — and
FileSaver 2.0.2, both from the npm registry, with their licences) and inlined; the font
and favicon links are dropped. :func:`external_sources` lists whatever still points
outside the file (a test asserts it is empty).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np

from saegeom.io.atomic import atomic_path

STATIC = files("saegeom.topology") / "static"
#: CDN script → the inlined package file that replaces it
INLINE_SCRIPTS = {
    r"https?://[^\"']*/d3(?:@[\d.]+)?/[^\"']*d3(?:\.min)?\.js": "d3-6.1.1.min.js",
    r"https?://[^\"']*file-saver[^\"']*FileSaver(?:\.min)?\.js": "FileSaver-2.0.2.min.js",
}


def _script(name: str) -> str:
    text = (STATIC / name).read_text(encoding="utf-8")
    return "<script>/* inlined by saegeom: " + name + " */\n" + text.replace("</script", "<\\/script") + "\n</script>"


def inline_assets(page: str) -> str:
    """Replace kmapper's CDN scripts by inlined copies; drop external stylesheet/icon links."""
    for pattern, name in INLINE_SCRIPTS.items():
        tag = re.compile(r"<script[^>]*\ssrc=[\"']" + pattern + r"[\"'][^>]*>\s*</script>", re.I)

        def replace(_m: re.Match[str], name: str = name) -> str:
            return _script(name)

        page, n = tag.subn(replace, page)
        if n == 0:
            raise ValueError(f"kmapper template changed: no <script src> matching {pattern!r} to inline")
    return re.sub(r"<link[^>]*\shref=[\"']https?://[^>]*>", "", page, flags=re.I)


class _Sources(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        for key, value in attrs:
            if key in ("src", "href", "data", "poster", "srcset") and value and re.match(r"^\s*(https?:)?//", value):
                self.found.append(f"<{tag} {key}={value}>")


def external_sources(page: str) -> list[str]:
    """Every attribute of ``page`` that loads something over the network (src/href to http(s)://
    or //host), plus CSS ``@import``/``url(http…)``."""
    parser = _Sources()
    parser.feed(page)
    css = re.findall(r"(?:@import\s+(?:url\()?|url\()\s*[\"']?\s*(?:https?:)?//[^\"')\s]+", page, flags=re.I)
    return parser.found + css


def write_mapper_html(graph: dict[str, Any], points: np.ndarray, lens_values: np.ndarray, path: str | Path, *,
                      title: str, tooltips: np.ndarray, colors: dict[str, np.ndarray]) -> None:
    """Write the Mapper report of ``graph`` to ``path``: one colour function per entry of
    ``colors`` (name → (n,) values per point), ``tooltips`` (n,) escaped strings."""
    import html

    import kmapper as km

    if not graph["nodes"]:  # kmapper refuses to draw an empty graph; say so in a page of our own
        page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
                f"<body><h1>{html.escape(title)}</h1><p>The Mapper graph has no nodes: no cube of the cover held "
                f"a cluster of the {len(points)} points (fewer points than the clusterer's min_samples per cube). "
                "Use fewer cubes, more overlap or a smaller min_samples.</p></body></html>")
        with atomic_path(path) as tmp:
            Path(tmp).write_text(page, encoding="utf-8")
        return
    if not isinstance(tooltips, np.ndarray):
        raise TypeError("kmapper's custom_tooltips must be a numpy array")
    names = list(colors) or ["lens"]
    values = (np.column_stack([np.asarray(colors[n], dtype=np.float64) for n in names]) if colors
              else np.asarray(lens_values, dtype=np.float64)[:, :1])
    page = km.KeplerMapper(verbose=0).visualize(
        graph, path_html=None, save_file=False, title=title, X=np.asarray(points, dtype=np.float64),
        lens=np.asarray(lens_values, dtype=np.float64), custom_tooltips=tooltips, color_values=values,
        color_function_name=names, node_color_function=["mean"])
    page = inline_assets(page)
    left = external_sources(page)
    if left:
        raise ValueError(f"Mapper report still loads external resources: {left[:3]}")
    with atomic_path(path) as tmp:
        Path(tmp).write_text(page, encoding="utf-8")
