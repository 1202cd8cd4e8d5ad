"""Rule ``figure_synthetic_overview``: see saegeom.rules.figures.figure_synthetic_overview."""

from saegeom.rules.figures import figure_synthetic_overview
from saegeom.workflow import run_rule

run_rule(snakemake, figure_synthetic_overview)  # noqa: F821
