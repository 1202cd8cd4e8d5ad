"""Rule ``train_sae``: see saegeom.rules.sae.train_sae."""

from saegeom.rules.sae import train_sae
from saegeom.workflow import run_rule

run_rule(snakemake, train_sae)  # noqa: F821
