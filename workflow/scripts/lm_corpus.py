"""Rule ``lm_corpus``: see saegeom.rules.lm.lm_corpus."""

from saegeom.rules.lm import lm_corpus
from saegeom.workflow import run_rule

run_rule(snakemake, lm_corpus)  # noqa: F821
