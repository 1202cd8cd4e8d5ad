"""Rule `metrics`: concatenate every comparison table into results/metrics.parquet."""

from saegeom.pipeline import collect_metrics
from saegeom.workflow import setup_script

sm = setup_script(snakemake)  # noqa: F821
collect_metrics(list(sm.input), sm.output[0])
