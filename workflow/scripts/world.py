"""Rule `world`: build a synthetic world and save its ground truth."""

from saegeom.pipeline import build_world_file
from saegeom.workflow import setup_script

sm = setup_script(snakemake)  # noqa: F821
build_world_file(sm.wildcards.world, sm.params.cfg, sm.params.seed, sm.output[0])
