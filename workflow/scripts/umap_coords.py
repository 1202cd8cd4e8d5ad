"""Rule ``umap_coords``: see saegeom.rules.viewer.umap_coords."""

from saegeom.rules.viewer import umap_coords
from saegeom.workflow import run_rule

run_rule(snakemake, umap_coords)  # noqa: F821
