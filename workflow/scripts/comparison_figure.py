"""Rule `comparison_figure`: one heatmap per model-vs-model comparison from results/metrics.parquet."""

from saegeom.pipeline import comparison_figure
from saegeom.workflow import setup_script

sm = setup_script(snakemake)  # noqa: F821
comparison_figure(sm.input[0], sm.output[0])
