"""Rule `lm_pair_features`: every configured pairing of two language models' SAEs."""

from saegeom.lm.pipeline import pair_lm_features
from saegeom.workflow import setup_script

sm = setup_script(snakemake)  # noqa: F821
i, p = sm.input, sm.params
pair_lm_features(i.acts_a, i.acts_b, i.sae_a, i.sae_b, p.pairing, p.device, sm.output[0])
