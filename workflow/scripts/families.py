"""Rule ``families``: see saegeom.rules.families.families."""

from saegeom.rules.families import families
from saegeom.workflow import run_rule

run_rule(snakemake, families)  # noqa: F821
