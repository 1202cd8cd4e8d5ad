"""One function per viewer rule (``rules/viz.smk``): read the rule's inputs, call the library, write atomically.

    from saegeom.viz.viewer_pipeline import viewer_page
    viewer_page("results/umap/blobs/relu.parquet", "results/features/blobs/a/relu/latents.parquet", ...)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from saegeom.settings import ViewerSettings
from saegeom.viz.latents import read_latents

PathLike = str | Path


def synthetic_latents_file(world: PathLike, acts: PathLike, model: str, sae: PathLike, gt_threshold: float,
                           device: str, out: PathLike) -> None:
    """Rule ``synthetic_latents``: ``latents.parquet`` of one SAE of a synthetic world (labels from ground truth)."""
    from saegeom.utils import resolve_device
    from saegeom.viz.latents import synthetic_latents_table, write_latents

    write_latents(synthetic_latents_table(world, Path(acts) / model, model, sae, gt_threshold,
                                          resolve_device(device)), out)


def umap_file(saes: dict[str, PathLike], viewer: dict[str, Any], seed: int, name: str, out: PathLike,
              pairs: list[PathLike] | None = None) -> None:
    """Rule ``umap_coords``: 2-D coordinates of every SAE in ``saes`` ({model: SAE folder}), one table;
    seeded by (``seed``, ``name``, model).

    Independent UMAP per SAE, or (``viewer.aligned``) one AlignedUMAP over the models in the given
    order anchored on ``pairs`` (pairs tables of consecutive models, ``viewer.anchor_pairing``)."""
    from saegeom.pairing import read_pairs
    from saegeom.sae.load import decoder_directions
    from saegeom.utils import derive_seed
    from saegeom.viz.umap_coords import aligned_coordinates, coords_frame, umap_coordinates, write_coords

    settings = ViewerSettings(**viewer)
    decoders = {m: decoder_directions(str(p)) for m, p in saes.items()}
    if settings.aligned:
        if pairs is None or len(pairs) != len(saes) - 1:
            raise ValueError(f"aligned UMAP of {len(saes)} SAEs needs {len(saes) - 1} pairs tables")
        tables = [read_pairs(p) for p in pairs]
        tables = [t[t.pairing == settings.anchor_pairing] for t in tables]
        xy = aligned_coordinates(list(decoders.values()), tables, settings, derive_seed(seed, name, "aligned_umap"))
        frames = [coords_frame(m, c) for m, c in zip(decoders, xy, strict=True)]
    else:
        frames = [coords_frame(m, umap_coordinates(d, settings, derive_seed(seed, name, "umap", m)))
                  for m, d in decoders.items()]
    write_coords(frames, out)


def viewer_page(coords: PathLike, latents_a: PathLike, latents_b: PathLike, pairs: PathLike, metrics: PathLike,
                model_a: str, model_b: str, comparison: str, viewer: dict[str, Any], out: PathLike) -> None:
    """Rule ``viewer``: the linked viewer page of one comparison (``results/viewer/...html``)."""
    from saegeom.io.tables import read_metrics
    from saegeom.pairing import read_pairs
    from saegeom.viz.umap_coords import read_coords
    from saegeom.viz.viewer import build_viewer_html, write_viewer

    rows: pd.DataFrame = read_metrics(metrics)
    rows = rows[rows.comparison == comparison]
    page = build_viewer_html(read_coords(coords, model_a), read_coords(coords, model_b), read_latents(latents_a),
                             read_latents(latents_b), read_pairs(pairs), rows, names=(model_a, model_b),
                             title=comparison, settings=ViewerSettings(**viewer))
    write_viewer(out, page)
