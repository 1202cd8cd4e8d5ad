"""Rule ``figure_families``: see saegeom.rules.figures.figure_families."""

from saegeom.rules.figures import figure_families
from saegeom.workflow import run_rule

run_rule(snakemake, figure_families)  # noqa: F821
