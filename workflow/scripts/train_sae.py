"""Rule `train_sae`: train one SAELens SAE on one simulated model's shards."""

from pathlib import Path

from saegeom.sae.train import train_sae
from saegeom.utils import derive_seed
from saegeom.workflow import setup_script

setup_script(snakemake)  # noqa: F821
sm = snakemake  # noqa: F821
w = sm.wildcards
train_sae(Path(sm.input.acts) / w.model, sm.params.spec, sm.output[0],
          seed=derive_seed(sm.params.seed, w.world, w.model, w.sae), device=sm.params.device,
          extra_meta={"world": w.world, "model": w.model, "sae": w.sae})
