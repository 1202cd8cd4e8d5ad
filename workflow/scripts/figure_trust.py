"""Rule ``figure_trust``: see saegeom.rules.figures.figure_trust."""

from saegeom.rules.figures import figure_trust
from saegeom.workflow import run_rule

run_rule(snakemake, figure_trust)  # noqa: F821
