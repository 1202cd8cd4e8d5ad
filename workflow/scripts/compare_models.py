"""Rule ``compare_models``: see saegeom.rules.compare.compare_models."""

from saegeom.rules.compare import compare_models
from saegeom.workflow import run_rule

run_rule(snakemake, compare_models)  # noqa: F821
