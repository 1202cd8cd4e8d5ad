"""Rule `lm_tokenizer`: a word-level tokenizer.json trained on the training stories."""

from saegeom.lm.pipeline import tokenizer
from saegeom.workflow import setup_script

sm = setup_script(snakemake)  # noqa: F821
tokenizer(sm.input.corpus, sm.output[0])
