"""Rule `metrics`: concatenate every comparison table into results/metrics.parquet."""

from saegeom.io.tables import concat_metrics, write_metrics
from saegeom.workflow import setup_script

setup_script(snakemake)  # noqa: F821
sm = snakemake  # noqa: F821
write_metrics(concat_metrics(list(sm.input)), sm.output[0])
