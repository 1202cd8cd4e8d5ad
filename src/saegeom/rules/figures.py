"""Rules of the paper figures (``workflow/rules/figures.smk``): each writes its figure's table, reads it back
and draws the figure from it alone (:mod:`saegeom.viz.figures`), PNG and PDF."""

from __future__ import annotations

from pathlib import Path
from typing import Any

PathLike = str | Path


def draw_figure(name: str, inputs: dict[str, Any], table: PathLike, png: PathLike, pdf: PathLike) -> None:
    """Figure ``name``: ``table(**inputs)`` → ``table`` (parquet); ``draw`` of that file → ``png``, ``pdf``."""
    from saegeom.viz import figures

    mod = figures.module(name)
    figures.write_table(mod.table(**inputs), table)
    figures.save(mod.draw(figures.read_table(table)), png, pdf)


def figure_layer_heatmaps(*, tables: list[PathLike], table: PathLike, png: PathLike, pdf: PathLike) -> None:
    """Rule ``figure_layer_heatmaps``: layer × layer heatmaps of every LM comparison's layer matrix."""
    draw_figure("layer_heatmaps", {"tables": tables}, table, png, pdf)


def figure_semantic_subspaces(*, tables: list[PathLike], table: PathLike, png: PathLike, pdf: PathLike) -> None:
    """Rule ``figure_semantic_subspaces``: category groups against their nulls, best layer pair and all pairs."""
    draw_figure("semantic_subspaces", {"tables": tables}, table, png, pdf)


def figure_features_over_training(*, tables: list[PathLike], table: PathLike, png: PathLike,
                                  pdf: PathLike) -> None:
    """Rule ``figure_features_over_training``: similarity of each checkpoint's SAE to the final model's."""
    draw_figure("features_over_training", {"tables": tables}, table, png, pdf)


def figure_trust(*, metrics: PathLike, calibration: PathLike, table: PathLike, png: PathLike,
                 pdf: PathLike) -> None:
    """Rule ``figure_trust``: ground-truth recovery and the calibration report."""
    draw_figure("trust", {"metrics": metrics, "calibration": calibration}, table, png, pdf)


def figure_synthetic_overview(*, metrics: PathLike, table: PathLike, png: PathLike, pdf: PathLike) -> None:
    """Rule ``figure_synthetic_overview``: the synthetic worlds' comparisons at a glance."""
    draw_figure("synthetic_overview", {"metrics": metrics}, table, png, pdf)


def figure_families(*, validation: list[PathLike], metrics: PathLike, table: PathLike, png: PathLike,
                    pdf: PathLike) -> None:
    """Rule ``figure_families``: recovery of planted universal families and cross-model values vs their ceiling."""
    draw_figure("families", {"validation": validation, "metrics": metrics}, table, png, pdf)


def figure_width_families(*, validation: list[PathLike], table: PathLike, png: PathLike, pdf: PathLike) -> None:
    """Rule ``figure_width_families``: latent labels across a width ladder and parent → child recovery."""
    draw_figure("width_families", {"validation": validation}, table, png, pdf)
