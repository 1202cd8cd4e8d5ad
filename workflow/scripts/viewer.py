"""Rule ``viewer``: see saegeom.rules.viewer.viewer."""

from saegeom.rules.viewer import viewer
from saegeom.workflow import run_rule

run_rule(snakemake, viewer)  # noqa: F821
