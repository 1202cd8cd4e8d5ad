"""Rule `topology_compare`: pairing-free shape distances between two models' feature clouds, with nulls."""

from saegeom.topology.pipeline import topology_comparison
from saegeom.workflow import setup_script

sm = setup_script(snakemake)  # noqa: F821
w, p = sm.wildcards, sm.params
topology_comparison(p.sae_a, p.sae_b, sm.output[0], model_a=w.model_a, model_b=w.model_b, world=sm.input.get("world"),
                    latents_a=p.latents_a, latents_b=p.latents_b, settings=p.settings, context=p.context)
