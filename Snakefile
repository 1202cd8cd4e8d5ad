# saegeom workflow. Main target (targets go before --resources, which takes every following word):
#   snakemake results/metrics.parquet --cores 8 --resources gpu=1
# `--configfile X` replaces the embedded config.yaml (X must be complete; schema defaults fill the rest).
from pathlib import Path

from snakemake.utils import min_version

min_version("8.0")


if not workflow.overwrite_configfiles:

    configfile: str(Path(workflow.basedir) / "config.yaml")


include: "rules/common.smk"
include: "rules/synthetic.smk"
include: "rules/sae.smk"
include: "rules/lm.smk"
include: "rules/compare.smk"
include: "rules/topology.smk"
include: "rules/viz.smk"


rule all:
    default_target: True
    input:
        rules.metrics.output,
        rules.calibration.output,
        rules.comparison_figure.output,
        rules.topology_summary.output,
        viewer_pages([*config["worlds"], *LM["comparisons"]]),
