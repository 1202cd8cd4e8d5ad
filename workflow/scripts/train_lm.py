"""Rule ``train_lm``: see saegeom.rules.lm.train_lm."""

from saegeom.rules.lm import train_lm
from saegeom.workflow import run_rule

run_rule(snakemake, train_lm)  # noqa: F821
