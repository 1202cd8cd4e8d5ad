"""Rule ``lm_named_tokenizer``: see saegeom.rules.lm.lm_named_tokenizer."""

from saegeom.rules.lm import lm_named_tokenizer
from saegeom.workflow import run_rule

run_rule(snakemake, lm_named_tokenizer)  # noqa: F821
