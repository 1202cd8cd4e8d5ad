"""Rule `ground_truth_recovery`: how well one SAE recovers its model's true features."""

from saegeom.pipeline import world_recovery
from saegeom.workflow import setup_script

sm = setup_script(snakemake)  # noqa: F821
p = sm.params
world_recovery(sm.input.world, sm.wildcards.model, sm.input.sae, p.context, p.n_baseline, p.threshold, sm.output[0])
