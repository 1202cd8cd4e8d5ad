"""Rule `viewer`: the self-contained linked viewer page of one comparison."""

from saegeom.viz.viewer_pipeline import viewer_page
from saegeom.workflow import setup_script

sm = setup_script(snakemake)  # noqa: F821
i, w = sm.input, sm.wildcards
viewer_page(i.coords, i.latents_a, i.latents_b, i.pairs, i.metrics, w.model_a, w.model_b, sm.params.comparison,
            sm.params.viewer, sm.output[0])
