"""Rule ``lm_align``: see saegeom.rules.lm.lm_align."""

from saegeom.rules.lm import lm_align
from saegeom.workflow import run_rule

run_rule(snakemake, lm_align)  # noqa: F821
