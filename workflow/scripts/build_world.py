"""Rule `world`: build a synthetic world and save its ground truth."""

from saegeom.synthetic.world import build_world
from saegeom.workflow import setup_script

setup_script(snakemake)  # noqa: F821
sm = snakemake  # noqa: F821
build_world(sm.wildcards.world, sm.params.cfg, sm.params.seed).save(sm.output[0])
