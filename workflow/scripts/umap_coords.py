"""Rule `umap_coords`: cached 2-D UMAP coordinates of every model's SAE of one world."""

from saegeom.viz.viewer_pipeline import umap_file
from saegeom.workflow import setup_script

sm = setup_script(snakemake)  # noqa: F821
umap_file(dict(zip(sm.params.models, sm.input.saes, strict=True)), sm.params.viewer, sm.params.seed, sm.params.name,
          sm.output[0], pairs=list(sm.input.pairs) or None)
