"""Rule `ground_truth_recovery`: how well one SAE recovers its model's true features."""

import pandas as pd

from saegeom.compare.ground_truth import ground_truth_recovery_rows
from saegeom.compare.rows import Context
from saegeom.io.tables import write_metrics
from saegeom.sae.train import decoder_directions, load_sae, read_sae_metrics
from saegeom.synthetic.world import World
from saegeom.workflow import setup_script

setup_script(snakemake)  # noqa: F821
sm = snakemake  # noqa: F821
w = sm.wildcards
ctx = Context("synthetic", w.world, w.model, w.sae, "ground_truth", "ground_truth", sm.params.seed,
              sm.params.config_hash, n_samples=read_sae_metrics(sm.input.sae)["training_samples"])
rows = ground_truth_recovery_rows(World.load(sm.input.world), w.model, decoder_directions(load_sae(sm.input.sae)),
                                  ctx, sm.params.n_baseline, sm.params.threshold)
write_metrics(pd.DataFrame(rows), sm.output[0])
