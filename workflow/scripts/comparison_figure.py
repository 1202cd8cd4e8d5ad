"""Rule `comparison_figure`: one heatmap per model-vs-model comparison from results/metrics.parquet."""

from saegeom.io.tables import read_metrics
from saegeom.viz.summary import plot_comparison_summary
from saegeom.workflow import setup_script

setup_script(snakemake)  # noqa: F821
plot_comparison_summary(read_metrics(snakemake.input[0]), snakemake.output[0])  # noqa: F821
