"""Rule ``pretrained_sae``: see saegeom.rules.sae.pretrained_sae."""

from saegeom.rules.sae import pretrained_sae
from saegeom.workflow import run_rule

run_rule(snakemake, pretrained_sae)  # noqa: F821
