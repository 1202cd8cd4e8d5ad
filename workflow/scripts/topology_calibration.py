"""Rule ``topology_calibration``: see saegeom.rules.compare.topology_calibration."""

from saegeom.rules.compare import topology_calibration
from saegeom.workflow import run_rule

run_rule(snakemake, topology_calibration)  # noqa: F821
