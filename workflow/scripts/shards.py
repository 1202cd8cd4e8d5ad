"""Rule `shards`: stream paired activation shards for every simulated model of a world."""

from saegeom.pipeline import world_shards
from saegeom.workflow import setup_script

sm = setup_script(snakemake)  # noqa: F821
world_shards(sm.input.world, sm.output[0], sm.params.n_samples, sm.params.shard_rows, sm.params.device)
