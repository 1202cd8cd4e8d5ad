"""Rules of the linked feature-map viewer: cached UMAP coordinates per (study, SAE), one page per comparison."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from saegeom.features.latents import read_latents
from saegeom.settings import ViewerSettings

PathLike = str | Path


def umap_coords(*, saes: list[PathLike], models: list[str], viewer: ViewerSettings, seed: int, name: str,
                out: PathLike, pairs: Sequence[PathLike] = ()) -> None:
    """Rule ``umap_coords``: 2-D coordinates of every SAE folder in ``saes`` (of ``models``, same order), one table;
    seeded by (``seed``, ``name``, model).

    Independent UMAP per SAE, or (``viewer.aligned``) one AlignedUMAP over the models in the given
    order anchored on ``pairs`` (pairs tables of consecutive models, ``viewer.anchor_pairing``)."""
    from saegeom.pairing import read_pairs
    from saegeom.sae.load import decoder_directions
    from saegeom.utils import derive_seed
    from saegeom.viz.umap_coords import aligned_coordinates, coords_frame, umap_coordinates, write_coords

    settings = viewer
    decoders = {m: decoder_directions(str(p)) for m, p in dict(zip(models, saes, strict=True)).items()}
    if settings.aligned:
        if len(pairs) != len(saes) - 1:
            raise ValueError(f"aligned UMAP of {len(saes)} SAEs needs {len(saes) - 1} pairs tables")
        tables = [read_pairs(p) for p in pairs]
        tables = [t[t.pairing == settings.anchor_pairing] for t in tables]
        xy = aligned_coordinates(list(decoders.values()), tables, settings, derive_seed(seed, name, "aligned_umap"))
        frames = [coords_frame(m, c) for m, c in zip(decoders, xy, strict=True)]
    else:
        frames = [coords_frame(m, umap_coordinates(d, settings, derive_seed(seed, name, "umap", m)))
                  for m, d in decoders.items()]
    write_coords(frames, out)


def viewer(*, coords: PathLike, latents_a: PathLike, latents_b: PathLike, pairs: PathLike, metrics: PathLike,
           model_a: str, model_b: str, comparison: str, viewer: ViewerSettings, out: PathLike,
           families: PathLike | None = None) -> None:
    """Rule ``viewer``: the linked viewer page of one comparison (``results/viewer/...html``); ``families``: the
    study's families table (``results/families/{study}/{sae}.parquet``), which adds the page's family mode."""
    from saegeom.io.tables import read_metrics
    from saegeom.pairing import read_pairs
    from saegeom.viz.umap_coords import read_coords
    from saegeom.viz.viewer import build_viewer_html, write_viewer

    rows: pd.DataFrame = read_metrics(metrics)
    rows = rows[rows.comparison == comparison]
    page = build_viewer_html(read_coords(coords, model_a), read_coords(coords, model_b), read_latents(latents_a),
                             read_latents(latents_b), read_pairs(pairs), rows, names=(model_a, model_b),
                             title=comparison, settings=viewer,
                             families=None if families is None else pd.read_parquet(families))
    write_viewer(out, page)
