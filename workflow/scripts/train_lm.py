"""Rule `train_lm`: one toy HookedTransformer trained on the corpus (metrics.json beside it)."""

from saegeom.lm.pipeline import train_lm
from saegeom.workflow import setup_script

sm = setup_script(snakemake)  # noqa: F821
# the checkpoint policy is read from the config, not params: changing it must not retrain finished models
train_lm(sm.input.corpus, sm.input.tokenizer, sm.params.spec, sm.params.seed, sm.params.device, sm.output[0],
         checkpoint_dir=sm.params.checkpoint_dir, checkpoint=sm.config["checkpoint"])
