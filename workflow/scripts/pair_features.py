"""Rule ``pair_features``: see saegeom.rules.compare.pair_features."""

from saegeom.rules.compare import pair_features
from saegeom.workflow import run_rule

run_rule(snakemake, pair_features)  # noqa: F821
