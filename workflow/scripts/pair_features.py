"""Rule `pair_features`: pair the latents of two simulated models' SAEs (every configured pairing)."""

from saegeom.pipeline import pair_world_features
from saegeom.workflow import setup_script

sm = setup_script(snakemake)  # noqa: F821
i, w = sm.input, sm.wildcards
pair_world_features(i.world, i.acts, w.model_a, w.model_b, i.sae_a, i.sae_b, sm.params.pairing, sm.params.device,
                    sm.output[0])
