"""Rule ``category_recovery``: see saegeom.rules.compare.category_recovery."""

from saegeom.rules.compare import category_recovery
from saegeom.workflow import run_rule

run_rule(snakemake, category_recovery)  # noqa: F821
