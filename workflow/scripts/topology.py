"""Rule ``topology``: see saegeom.rules.topology.topology."""

from saegeom.rules.topology import topology
from saegeom.workflow import run_rule

run_rule(snakemake, topology)  # noqa: F821
