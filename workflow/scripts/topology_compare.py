"""Rule ``topology_compare``: see saegeom.rules.topology.topology_compare."""

from saegeom.rules.topology import topology_compare
from saegeom.workflow import run_rule

run_rule(snakemake, topology_compare)  # noqa: F821
