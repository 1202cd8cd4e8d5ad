"""Rule ``figure_layer_heatmaps``: see saegeom.rules.figures.figure_layer_heatmaps."""

from saegeom.rules.figures import figure_layer_heatmaps
from saegeom.workflow import run_rule

run_rule(snakemake, figure_layer_heatmaps)  # noqa: F821
