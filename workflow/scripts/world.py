"""Rule ``world``: see saegeom.rules.synthetic.world."""

from saegeom.rules.synthetic import world
from saegeom.workflow import run_rule

run_rule(snakemake, world)  # noqa: F821
