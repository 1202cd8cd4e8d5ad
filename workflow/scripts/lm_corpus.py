"""Rule `lm_corpus`: the story corpus, its held-out split and its word categories."""

from saegeom.lm.pipeline import corpus
from saegeom.workflow import setup_script

sm = setup_script(snakemake)  # noqa: F821
corpus(sm.output[0], sm.params.n_stories, sm.params.heldout_fraction, sm.params.seed)
