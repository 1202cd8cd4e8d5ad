"""Rule ``figure_semantic_subspaces``: see saegeom.rules.figures.figure_semantic_subspaces."""

from saegeom.rules.figures import figure_semantic_subspaces
from saegeom.workflow import run_rule

run_rule(snakemake, figure_semantic_subspaces)  # noqa: F821
