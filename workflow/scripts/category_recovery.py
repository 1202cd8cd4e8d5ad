"""Rule `category_recovery`: per corpus category, the best latent's precision and recall (metrics rows)."""

from saegeom.lm.pipeline import category_recovery
from saegeom.workflow import setup_script

sm = setup_script(snakemake)  # noqa: F821
i, p = sm.input, sm.params
category_recovery(i.sae, i.acts, p.lm["spec"], p.lm["model_dir"], i.corpus, p.precision, p.fire_fraction, p.context,
                  p.device, sm.output[0])
