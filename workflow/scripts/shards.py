"""Rule ``shards``: see saegeom.rules.synthetic.shards."""

from saegeom.rules.synthetic import shards
from saegeom.workflow import run_rule

run_rule(snakemake, shards)  # noqa: F821
