"""Rule ``lm_activations``: see saegeom.rules.lm.lm_activations."""

from saegeom.rules.lm import lm_activations
from saegeom.workflow import run_rule

run_rule(snakemake, lm_activations)  # noqa: F821
