"""The paper figures: one module per figure, each drawn from one table that is written next to it.

A figure module has

- ``TITLE: str`` and ``CAPTION: str`` (the caption of the docs' figure index and of the Snakemake report),
- ``SOURCES: str`` — the upstream tables it is built from, in words,
- ``table(**inputs) -> pd.DataFrame`` — the figure's table from the upstream result tables (paths),
- ``draw(table: pd.DataFrame) -> matplotlib.figure.Figure`` — the figure from that table only.

The workflow (``workflow/rules/figures.smk``, one rule per figure) writes ``results/figures/<name>.parquet``
with :func:`write_table`, reads it back and draws ``<name>.png`` and ``<name>.pdf`` with :func:`save`, so a
figure can always be redrawn, restyled or re-plotted elsewhere from the table beside it.
:func:`save` makes both files byte-identical across runs on one machine (no dates, no software version
strings, a fixed style and renderer).

    from saegeom.viz import figures
    fig = figures.module("trust").draw(pd.read_parquet("results/figures/trust.parquet"))
    figures.save(fig, "trust.png", "trust.pdf")
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd

from saegeom.io.atomic import atomic_path
from saegeom.viz.figures.style import DPI, house_style

#: figure name → module (the order of the docs' index and of the report)
FIGURES: dict[str, str] = {
    "layer_heatmaps": "saegeom.viz.figures.layer_heatmaps",
    "semantic_subspaces": "saegeom.viz.figures.semantic_subspaces",
    "features_over_training": "saegeom.viz.figures.features_over_training",
    "trust": "saegeom.viz.figures.trust",
    "synthetic_overview": "saegeom.viz.figures.synthetic_overview",
    "families": "saegeom.viz.figures.families",
    "width_families": "saegeom.viz.figures.width_families",
}

#: where a figure's files go (``{name}``: a key of FIGURES)
TABLE = "results/figures/{name}.parquet"
PNG = "results/figures/{name}.png"
PDF = "results/figures/{name}.pdf"


def names() -> list[str]:
    return list(FIGURES)


def module(name: str) -> ModuleType:
    """The module of figure ``name`` (ValueError naming the known figures otherwise)."""
    if name not in FIGURES:
        raise ValueError(f"unknown figure {name!r}; known: {', '.join(FIGURES)}")
    return importlib.import_module(FIGURES[name])


def report_caption(name: str) -> str:
    """The Snakemake report's caption of figure ``name`` (``workflow/report/<name>.rst``): title, caption and
    the table it is drawn from (``python -m saegeom.viz.figures workflow/report`` rewrites them all)."""
    mod = module(name)
    return (f"{mod.TITLE}. {mod.CAPTION}\n\nDrawn from ``{TABLE.format(name=name)}`` "
            f"(built from {mod.SOURCES}).\n")


def save(fig: Any, png_path: str | Path, pdf_path: str | Path | None = None, dpi: int = DPI) -> None:
    """Write ``fig`` as PNG (and PDF) atomically, byte-identical across runs on one machine.

    What would differ between runs is removed or fixed: the PDF's ``CreationDate`` and producer/creator
    strings, the PNG's ``Software`` text chunk, the style (:func:`~saegeom.viz.figures.style.house_style`)
    and the canvas (Agg for PNG, matplotlib's PDF backend; no tight bounding box)."""
    import logging

    logging.getLogger("fontTools").setLevel(logging.WARNING)  # the PDF font subsetter logs every table it prunes
    with house_style():
        with atomic_path(png_path) as tmp:
            fig.savefig(tmp, format="png", dpi=dpi, metadata={"Software": None})
        if pdf_path is not None:
            with atomic_path(pdf_path) as tmp:
                fig.savefig(tmp, format="pdf", dpi=dpi, metadata={"Creator": None, "Producer": None,
                                                                  "CreationDate": None, "ModDate": None})


def write_table(df: pd.DataFrame, path: str | Path) -> None:
    """Write a figure's table as parquet (atomically; index dropped, columns as given), deterministically."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    t = pa.Table.from_pandas(df.reset_index(drop=True), preserve_index=False)
    with atomic_path(path) as tmp:
        pq.write_table(t, tmp)


def read_table(path: str | Path) -> pd.DataFrame:
    return pd.read_parquet(path)

