"""Rule ``ground_truth_recovery``: see saegeom.rules.compare.ground_truth_recovery."""

from saegeom.rules.compare import ground_truth_recovery
from saegeom.workflow import run_rule

run_rule(snakemake, ground_truth_recovery)  # noqa: F821
