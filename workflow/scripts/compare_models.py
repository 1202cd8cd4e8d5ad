"""Rule `compare_models`: compare the SAEs of two simulated models of one world."""

import pandas as pd

from saegeom.compare.ground_truth import decoder_mmcs_rows
from saegeom.compare.rows import Context
from saegeom.io.tables import write_metrics
from saegeom.sae.train import decoder_directions, load_sae
from saegeom.workflow import setup_script

setup_script(snakemake)  # noqa: F821
sm = snakemake  # noqa: F821
w = sm.wildcards
ctx = Context("synthetic", w.world, w.model_a, w.sae, w.model_b, w.sae, sm.params.seed, sm.params.config_hash)
rows = decoder_mmcs_rows(decoder_directions(load_sae(sm.input.sae_a)), decoder_directions(load_sae(sm.input.sae_b)),
                         ctx, sm.params.n_baseline)
write_metrics(pd.DataFrame(rows), sm.output[0])
