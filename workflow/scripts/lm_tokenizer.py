"""Rule ``lm_tokenizer``: see saegeom.rules.lm.lm_tokenizer."""

from saegeom.rules.lm import lm_tokenizer
from saegeom.workflow import run_rule

run_rule(snakemake, lm_tokenizer)  # noqa: F821
