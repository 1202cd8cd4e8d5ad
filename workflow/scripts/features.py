"""Rule ``features``: see saegeom.rules.compare.features."""

from saegeom.rules.compare import features
from saegeom.workflow import run_rule

run_rule(snakemake, features)  # noqa: F821
