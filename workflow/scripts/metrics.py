"""Rule ``metrics``: see saegeom.rules.compare.metrics."""

from saegeom.rules.compare import metrics
from saegeom.workflow import run_rule

run_rule(snakemake, metrics)  # noqa: F821
