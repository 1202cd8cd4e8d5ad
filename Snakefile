# saegeom workflow. Main target:  snakemake --cores 8 --resources gpu=1 results/metrics.parquet
# `--configfile X` replaces the embedded config.yaml (X must be complete; schema defaults fill the rest).
from pathlib import Path

if not workflow.overwrite_configfiles:
    configfile: str(Path(workflow.basedir) / "config.yaml")


include: "rules/common.smk"
include: "rules/synthetic.smk"
include: "rules/sae.smk"
include: "rules/compare.smk"


rule all:
    input:
        "results/metrics.parquet",
        "results/metric_validation.parquet",
        "results/figures/comparisons.png",
    default_target: True
