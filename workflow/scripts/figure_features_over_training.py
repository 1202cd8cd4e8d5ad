"""Rule ``figure_features_over_training``: see saegeom.rules.figures.figure_features_over_training."""

from saegeom.rules.figures import figure_features_over_training
from saegeom.workflow import run_rule

run_rule(snakemake, figure_features_over_training)  # noqa: F821
