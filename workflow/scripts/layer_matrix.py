"""Rule ``layer_matrix``: see saegeom.rules.compare.layer_matrix."""

from saegeom.rules.compare import layer_matrix
from saegeom.workflow import run_rule

run_rule(snakemake, layer_matrix)  # noqa: F821
