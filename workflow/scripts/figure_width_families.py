"""Rule ``figure_width_families``: see saegeom.rules.figures.figure_width_families."""

from saegeom.rules.figures import figure_width_families
from saegeom.workflow import run_rule

run_rule(snakemake, figure_width_families)  # noqa: F821
