"""Rule ``ceiling``: see saegeom.rules.compare.ceiling."""

from saegeom.rules.compare import ceiling
from saegeom.workflow import run_rule

run_rule(snakemake, ceiling)  # noqa: F821
