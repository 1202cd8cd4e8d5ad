"""Rule ``topology_calibration``: see saegeom.rules.topology.topology_calibration."""

from saegeom.rules.topology import topology_calibration
from saegeom.workflow import run_rule

run_rule(snakemake, topology_calibration)  # noqa: F821
