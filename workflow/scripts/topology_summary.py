"""Rule `topology_summary`: every Mapper graph's summary row in one table."""

from saegeom.topology.pipeline import collect_mapper_summaries
from saegeom.workflow import setup_script

sm = setup_script(snakemake)  # noqa: F821
collect_mapper_summaries(list(sm.input), sm.output[0])
