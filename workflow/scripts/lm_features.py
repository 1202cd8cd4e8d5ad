"""Rule `lm_features`: the feature cache (codes, per-latent statistics, top tokens) of one LM SAE."""

from saegeom.lm.pipeline import features
from saegeom.workflow import setup_script

sm = setup_script(snakemake)  # noqa: F821
i, p = sm.input, sm.params
features(i.sae, i.acts, p.lm["spec"], p.lm["model_dir"], i.corpus, p.groups, p.group_share, p.k, p.n_top, p.device,
         sm.output[0])
