"""Rule `train_sae`: train one SAELens SAE on one simulated model's shards."""

from saegeom.pipeline import train_world_sae
from saegeom.workflow import setup_script

sm = setup_script(snakemake)  # noqa: F821
w, p = sm.wildcards, sm.params
# the checkpoint policy is read from the config, not params: changing it must not retrain finished SAEs
train_world_sae(sm.input.acts, w.world, w.model, w.sae, p.spec, p.seed, p.device, sm.output[0],
                checkpoint_dir=p.checkpoint_dir, checkpoint=sm.config["checkpoint"])
