"""Rule `train_sae`: train one SAELens SAE on one shard set (a simulated model's or a language model's hook)."""

from saegeom.pipeline import train_sae_job
from saegeom.workflow import setup_script

sm = setup_script(snakemake)  # noqa: F821
w, p = sm.wildcards, sm.params
# the checkpoint policy is read from the config, not params: changing it must not retrain finished SAEs
train_sae_job(p.shards, w.world, w.model, w.sae, p.spec, p.seed, p.device, sm.output[0], lm=p.lm,
              checkpoint_dir=p.checkpoint_dir, checkpoint=sm.config["checkpoint"])
