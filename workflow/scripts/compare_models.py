"""Rule `compare_models`: every pairing × subspace × representation × metric × null for two models' SAEs."""

from saegeom.pipeline import compare_world_models
from saegeom.workflow import setup_script

sm = setup_script(snakemake)  # noqa: F821
i, w, p = sm.input, sm.wildcards, sm.params
compare_world_models(i.world, i.acts, w.model_a, w.model_b, i.sae_a, i.sae_b, i.pairs, p.compare, p.pairing,
                     p.context, p.device, sm.output[0])
