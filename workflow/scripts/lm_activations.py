"""Rule `lm_activations`: one hook of one language model over the held-out stories, as a shard set."""

from saegeom.lm.pipeline import cache_lm
from saegeom.workflow import setup_script

sm = setup_script(snakemake)  # noqa: F821
w, p = sm.wildcards, sm.params
cache_lm(sm.input.corpus, w.lm, p.spec, p.model_dir, w.hook, p.shard_rows, p.device, sm.output[0])
