"""Rule ``calibration``: see saegeom.rules.compare.calibration."""

from saegeom.rules.compare import calibration
from saegeom.workflow import run_rule

run_rule(snakemake, calibration)  # noqa: F821
