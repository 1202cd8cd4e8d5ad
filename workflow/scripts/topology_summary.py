"""Rule ``topology_summary``: see saegeom.rules.topology.topology_summary."""

from saegeom.rules.topology import topology_summary
from saegeom.workflow import run_rule

run_rule(snakemake, topology_summary)  # noqa: F821
