"""Rule `synthetic_latents`: latents.parquet of one synthetic SAE (labels from the world's ground truth)."""

from saegeom.viz.viewer_pipeline import synthetic_latents_file
from saegeom.workflow import setup_script

sm = setup_script(snakemake)  # noqa: F821
synthetic_latents_file(sm.input.world, sm.input.acts, sm.wildcards.model, sm.input.sae, sm.params.gt_threshold,
                       sm.params.device, sm.output[0])
