"""One self-contained, offline HTML page per comparison: two linked UMAP scatter plots of SAE latents.

``build_viewer_html`` is a pure function of its tables and returns the page as a string; the
page inlines its JavaScript and CSS (``viewer_assets/``) and loads nothing from the network (its
Content-Security-Policy forbids it). Hovering a latent in one plot highlights its partners in the
other (pairs table, both directions, many-to-one shown) with a tooltip; keyword search, group
selector, box/lasso selection, colour modes and a sortable table of the pairs in view are described
in the README section "Viewer".

Families (``saegeom.families``): given the study's families table, the page also offers a "family"
hover mode: hovering a latent marks every latent of the other map in the same family, and the tooltip
lists the family id, the models that hold it and its size (member latents over all models of the study).
Without a families table the page is exactly as before (no ``families`` key in its data).

Rendering is a small hand-written 2-D canvas renderer rather than plotly.js: a plotly bundle is
~4.6 MB to inline into every page (and would have to be vendored, since pages must build offline),
while 2 × 16k points draw in a few milliseconds on a canvas, and the highlight, hover and
selection state stays plain JavaScript that tests can query (``window.viewer``).

Strings are made displayable at build time: a lone surrogate (not encodable as UTF-8, e.g. half of
an emoji cut by a tokenizer) becomes U+FFFD "�", a null label shows as "—" and a null
``top_tokens`` as no tokens. The page truncates long strings in the tooltip and the pairs table
and shows the full text of a clicked latent in its details box.

Escaping: every data string (token, label, group, metric note) travels inside one
``<script type="application/json">`` block with ``<``, ``>``, ``&`` and U+2028/U+2029 written as
JSON ``\\uXXXX`` escapes, and the page puts it into the DOM only via ``textContent`` — never as HTML.
"""

from __future__ import annotations

import html
import json
import math
import re
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from saegeom.settings import HEADLINE_NULLS, PAIRING_PREFERENCE, PAIRINGS, ViewerSettings
from saegeom.viz.viewer_palette import NO_GROUP_GREY, group_palette

ASSETS = "viewer_assets"
METRIC_COLUMNS = ("pairing", "subspace", "representation", "metric", "value", "baseline", "baseline_mean",
                  "baseline_std", "p_value", "n_baseline_valid", "n_pairs", "note")
# what the ``score`` column of each pairing's pairs means (saegeom.pairing, saegeom.compare.worlds)
PAIRING_SCORES = {
    "many_to_one": "Pearson correlation of the two latents' activations on the same tokens; each B latent "
                   "→ its best-correlated A latent (several may share one)",
    "one_to_one": "Pearson correlation of activations; many_to_one keeping only each A latent's best B latent",
    "hungarian": "Pearson correlation of activations; optimal one-to-one assignment maximising total positive "
                 "correlation",
    "decoder_cosine": "cosine of the two decoder directions; each B latent → the A latent with the highest cosine",
    "ground_truth": "smaller of the two latents' decoder cosines with the shared ground-truth feature both "
                    "recover best",
}
_SURROGATE = re.compile("[\ud800-\udfff]")
_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def _asset(name: str) -> str:
    return resources.files("saegeom.viz").joinpath(ASSETS).joinpath(name).read_text(encoding="utf-8")


def script_json(obj: Any) -> str:
    """JSON text safe inside a ``<script>`` element: no ``<``, ``>`` or ``&`` appears literally, so no
    data string can close the element or open a comment; NaN/inf become ``null``."""
    text = json.dumps(_finite(obj), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return "".join(_JSON_ESCAPES.get(c, c) for c in text)


def clean_text(s: str) -> str:
    """``s`` with every lone surrogate replaced by U+FFFD, so it can be written as UTF-8.

    (In a Python ``str`` a valid astral character is one code point, so any code point in
    U+D800..U+DFFF is a lone surrogate, e.g. from bytes decoded with ``surrogateescape``.)"""
    return _SURROGATE.sub("\ufffd", s)


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, str):
        return clean_text(obj)
    if isinstance(obj, dict):
        return {clean_text(str(k)): _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


def _side(name: str, coords: np.ndarray, latents: pd.DataFrame, groups: list[str]) -> dict[str, Any]:
    coords = np.asarray(coords, dtype=np.float64)
    if coords.ndim != 2 or coords.shape[1] != 2:
        raise ValueError(f"{name}: coordinates must be (n_latents, 2), got {coords.shape}")
    if len(latents) != len(coords):
        raise ValueError(f"{name}: {len(coords)} coordinates but {len(latents)} latents")
    if not np.isfinite(coords).all():
        raise ValueError(f"{name}: coordinates contain NaN or inf")
    latents = latents.sort_values("latent")
    if not np.array_equal(latents.latent.to_numpy(), np.arange(len(latents))):
        raise ValueError(f"{name}: latent ids must be 0..{len(latents) - 1}")
    index = {g: i for i, g in enumerate(groups)}
    return {"name": name, "x": np.round(coords[:, 0], 4).tolist(), "y": np.round(coords[:, 1], 4).tolist(),
            "label": [_text_or_empty(v) for v in latents.label], "tokens": [_tokens(ts) for ts in latents.top_tokens],
            "group": [index.get(g, -1) if isinstance(g, str) else -1 for g in latents.group],
            "freq": [float("nan") if _missing(v) else float(v) for v in latents.frequency]}


def _missing(v: Any) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float | np.floating) and not math.isfinite(v))


def _text_or_empty(v: Any) -> str:
    """A label: null/NaN → "" (the page shows "—"), anything else as text."""
    return "" if _missing(v) else str(v)


def _tokens(ts: Any) -> list[str]:
    """A ``top_tokens`` cell: a list/array of token strings, or null (→ no tokens)."""
    if _missing(ts):
        return []
    if isinstance(ts, str):
        raise ValueError(f"top_tokens must be a list of strings per latent, got the string {ts[:40]!r}")
    return ["" if _missing(t) else str(t) for t in ts]


def _groups(*latents: pd.DataFrame) -> list[str]:
    found = {g for df in latents for g in df.group if isinstance(g, str)}

    def natural(g: str) -> tuple:
        head, _, tail = g.rpartition(" ")
        return (head, int(tail), "") if tail.isdigit() else (g, -1, "")

    return sorted(found, key=natural)


def _pairings(pairs: pd.DataFrame, n_a: int, n_b: int) -> dict[str, dict[str, list]]:
    missing = {"a_idx", "b_idx", "score", "pairing"} - set(pairs.columns)
    if missing:
        raise ValueError(f"pairs table lacks columns {sorted(missing)}")
    out = {}
    for name in [p for p in PAIRINGS if p in set(pairs.pairing)] + sorted(set(pairs.pairing) - set(PAIRINGS)):
        p = pairs[pairs.pairing == name]
        a, b = p.a_idx.to_numpy(np.int64), p.b_idx.to_numpy(np.int64)
        if len(a) and (a.min() < 0 or a.max() >= n_a or b.min() < 0 or b.max() >= n_b):
            raise ValueError(f"pairing {name!r}: latent ids outside 0..{n_a - 1} (A) / 0..{n_b - 1} (B)")
        out[name] = {"a": a.tolist(), "b": b.tolist(), "score": np.round(p.score.to_numpy(float), 5).tolist()}
    if not out:
        raise ValueError("the pairs table holds no pairing")
    return out


def _metric_rows(rows: pd.DataFrame | None) -> dict[str, list]:
    if rows is None or rows.empty:
        return {"columns": list(METRIC_COLUMNS), "rows": []}
    rows = rows[rows.baseline.isin(HEADLINE_NULLS)] if "baseline" in rows else rows
    cols = [c for c in METRIC_COLUMNS if c in rows.columns]
    records = []
    for rec in rows[cols].itertuples(index=False):
        records.append([None if (isinstance(v, float) and not math.isfinite(v)) or v is None or v is pd.NA
                        else (v.item() if isinstance(v, np.generic) else v) for v in rec])
    return {"columns": cols, "rows": records}


def _families(families: pd.DataFrame, names: tuple[str, str], n_a: int, n_b: int) -> dict[str, Any]:
    """The page's family data: ``list`` = one ``[family id, models holding it, size, mean score]`` per family
    that holds a latent of either side (``size``: member latents over every model of the study), and
    ``a``/``b`` = per latent of that side (latent id order) its index into ``list``, or -1 when the table has
    no row for it. ``families``: a ``results/families/{study}/{sae}.parquet`` table (``family``, ``model``,
    ``latent``, ``models``, ...; one row per latent); ``names``: the models of sides A and B."""
    missing = {"family", "model", "latent", "models"} - set(families.columns)
    if missing:
        raise ValueError(f"families table lacks columns {sorted(missing)}")
    if families.duplicated(["model", "latent"]).any():
        raise ValueError("families table has several rows for one (model, latent)")
    for name in names:
        if name not in set(families.model):
            raise ValueError(f"families table has no latent of model {name!r} (has {sorted(set(families.model))})")
    size = families.groupby("family").size()
    score = (families.groupby("family").mean_score.first() if "mean_score" in families
             else pd.Series(np.nan, index=size.index))
    models = families.groupby("family").models.first()
    sides = {}
    for end, name, n in (("a", names[0], n_a), ("b", names[1], n_b)):
        rows = families[families.model == name]
        lat = rows.latent.to_numpy(np.int64)
        if len(lat) and (lat.min() < 0 or lat.max() >= n):
            raise ValueError(f"families table: latent ids of {name!r} outside 0..{n - 1}")
        sides[end] = (lat, rows.family.to_numpy(np.int64))
    used = sorted(set(sides["a"][1].tolist()) | set(sides["b"][1].tolist()))
    index = {f: k for k, f in enumerate(used)}
    out: dict[str, Any] = {"list": [[int(f), str(models[f]), int(size[f]), float(score[f])] for f in used]}
    for end, n in (("a", n_a), ("b", n_b)):
        arr = np.full(n, -1, np.int64)
        lat, fam = sides[end]
        arr[lat] = [index[f] for f in fam.tolist()]
        out[end] = arr.tolist()
    return out


def build_viewer_html(coords_a: np.ndarray, coords_b: np.ndarray, latents_a: pd.DataFrame, latents_b: pd.DataFrame,
                      pairs: pd.DataFrame, metric_rows: pd.DataFrame | None = None, *,
                      names: tuple[str, str] = ("A", "B"), title: str = "saegeom viewer",
                      settings: ViewerSettings | None = None, families: pd.DataFrame | None = None) -> str:
    """The viewer page as a string.

    ``coords_*``: (d_sae, 2) UMAP coordinates, row i = latent i; ``latents_*``: ``latents.parquet``
    tables (``latent``, ``label``, ``top_tokens``, ``group``, ``frequency``, ...); ``pairs``: rows
    ``a_idx``, ``b_idx``, ``score``, ``pairing`` (every pairing of the comparison; the page offers a
    selector); ``metric_rows``: this comparison's rows of ``results/metrics.parquet`` (the page shows
    those against the headline nulls). ``settings``: the page options and the UMAP parameters the
    header states (pass the ones the coordinates were made with). ``families``: the study's families table
    (``results/families/{study}/{sae}.parquet``, model names as in ``names``) adds the "family" hover mode.
    Raises ``ValueError`` naming the bad input.
    """
    settings = settings or ViewerSettings()
    groups = _groups(latents_a, latents_b)
    sides = {"a": _side(names[0], coords_a, latents_a, groups), "b": _side(names[1], coords_b, latents_b, groups)}
    pairings = _pairings(pairs, len(latents_a), len(latents_b))
    if settings.pairing is not None and settings.pairing not in pairings:
        raise ValueError(f"pairing {settings.pairing!r} not in the pairs table (has {list(pairings)})")
    first = settings.pairing or next((p for p in PAIRING_PREFERENCE if p in pairings), next(iter(pairings)))
    layout = {"n_neighbors": settings.n_neighbors, "min_dist": settings.min_dist, "metric": settings.metric,
              "aligned": settings.aligned, "anchor_pairing": settings.anchor_pairing}
    data = {"title": title, "sides": sides, "groups": groups, "palette": group_palette(len(groups)),
            "no_group": NO_GROUP_GREY, "pairings": pairings, "pairing": first,
            "scores": {p: PAIRING_SCORES.get(p, "pairing score") for p in pairings}, "layout": layout,
            "metrics": _metric_rows(metric_rows), "table_rows": settings.table_rows}
    if families is not None:
        data["families"] = _families(families, names, len(latents_a), len(latents_b))
    js = _asset("viewer.js")
    if "</script" in js.lower():
        raise AssertionError("viewer.js must not contain '</script'")
    fill = {"TITLE": html.escape(clean_text(title)), "CSS": _asset("viewer.css"), "JS": js, "DATA": script_json(data)}
    # one pass over the template, so a placeholder-like string inside the data is never replaced
    return re.sub(r"__(TITLE|CSS|JS|DATA)__", lambda m: fill[m.group(1)], _asset("viewer.html"))


def write_viewer(path: str | Path, page: str) -> None:
    """Write a page atomically."""
    from saegeom.io.atomic import atomic_path

    with atomic_path(path) as tmp:
        Path(tmp).write_text(page, encoding="utf-8")
