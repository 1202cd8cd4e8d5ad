"""Rule `topology`: Mapper report, graph, summary and persistence diagrams of one feature cloud."""

from saegeom.topology.pipeline import topology_report
from saegeom.workflow import setup_script

sm = setup_script(snakemake)  # noqa: F821
w, p = sm.wildcards, sm.params
topology_report(p.sae, sm.output[0], world=sm.input.get("world"), model=w.model, latents=p.latents, settings=p.settings,
                names={"world": w.world, "model": w.model, "sae": w.sae}, seed=p.seed, pairs=p.pairs)
