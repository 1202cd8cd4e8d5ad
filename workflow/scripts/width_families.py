"""Rule ``width_families``: see saegeom.rules.widths.width_families."""

from saegeom.rules.widths import width_families
from saegeom.workflow import run_rule

run_rule(snakemake, width_families)  # noqa: F821
