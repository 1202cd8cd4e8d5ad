"""Rule ``training_table``: see saegeom.rules.compare.training_table."""

from saegeom.rules.compare import training_table
from saegeom.workflow import run_rule

run_rule(snakemake, training_table)  # noqa: F821
