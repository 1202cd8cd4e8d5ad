"""Rule `pretrained_sae`: a pretrained SAELens SAE saved like a trained one, with its metrics."""

from saegeom.lm.pipeline import load_pretrained_sae
from saegeom.workflow import setup_script

sm = setup_script(snakemake)  # noqa: F821
p = sm.params
load_pretrained_sae(p.source, sm.input.acts, p.lm["spec"], p.lm["model_dir"], p.lm["hook"], p.device, sm.output[0])
