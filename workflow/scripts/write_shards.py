"""Rule `shards`: stream paired activation shards for every simulated model of a world."""

from saegeom.io.atomic import atomic_path
from saegeom.synthetic.world import World, write_paired_shards
from saegeom.workflow import setup_script

setup_script(snakemake)  # noqa: F821
sm = snakemake  # noqa: F821
world = World.load(sm.input.world)
with atomic_path(sm.output[0]) as tmp:
    write_paired_shards(world, tmp, sm.params.n_samples, sm.params.shard_rows)
