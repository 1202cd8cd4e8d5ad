"""Rule `lm_compare`: two language models' SAEs compared on `all` and every keyword group."""

from saegeom.lm.pipeline import compare_lm_models
from saegeom.workflow import setup_script

sm = setup_script(snakemake)  # noqa: F821
i, p = sm.input, sm.params
compare_lm_models(i.acts_a, i.acts_b, i.sae_a, i.sae_b, i.pairs, i.features_a, i.features_b, i.corpus, p.groups,
                  p.concept_filter, p.compare, p.pairing, p.context, p.device, sm.output[0])
