"""Rule `calibration`: false-positive rate and power of every metric × pairing × null."""

from saegeom.pipeline import calibration_report
from saegeom.workflow import setup_script

sm = setup_script(snakemake)  # noqa: F821
calibration_report(list(sm.input), sm.params.shared_fraction, sm.output.table, sm.output.figure)
