"""Rule ``comparison_figure``: see saegeom.rules.compare.comparison_figure."""

from saegeom.rules.compare import comparison_figure
from saegeom.workflow import run_rule

run_rule(snakemake, comparison_figure)  # noqa: F821
