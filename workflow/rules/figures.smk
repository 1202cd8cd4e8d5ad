# Paper figures (saegeom.viz.figures): one rule per figure. Each writes its table next to the figure
# (results/figures/<name>.parquet, built from upstream result tables) and draws <name>.png and <name>.pdf
# from that table alone, byte-identical across runs. `snakemake figures` builds them all. A figure whose
# upstream tables do not exist in this config (no multi-layer LM, no training checkpoints) is still drawn,
# as a panel saying "no data" and why.


def figure_output(name):
    files = plan.figure_files(name)
    return {
        "table": files["table"],
        "png": report(files["png"], caption="../report/" + name + ".rst", category="Figures", labels={"figure": name}),
        "pdf": files["pdf"],
    }


rule figure_layer_heatmaps:
    input:
        tables=plan.layer_matrix_tables(),
    output:
        **figure_output("layer_heatmaps"),
    log:
        logfile("figures/layer_heatmaps"),
    conda:
        ENV
    script:
        "../scripts/figure_layer_heatmaps.py"


rule figure_semantic_subspaces:
    input:
        tables=plan.layer_matrix_tables(),
    output:
        **figure_output("semantic_subspaces"),
    log:
        logfile("figures/semantic_subspaces"),
    conda:
        ENV
    script:
        "../scripts/figure_semantic_subspaces.py"


rule figure_features_over_training:
    input:
        tables=plan.training_tables(),
    output:
        **figure_output("features_over_training"),
    log:
        logfile("figures/features_over_training"),
    conda:
        ENV
    script:
        "../scripts/figure_features_over_training.py"


rule figure_trust:
    input:
        metrics=P.METRICS,
        calibration=P.CALIBRATION_TABLE,
    output:
        **figure_output("trust"),
    log:
        logfile("figures/trust"),
    conda:
        ENV
    script:
        "../scripts/figure_trust.py"


rule figure_synthetic_overview:
    input:
        metrics=P.METRICS,
    output:
        **figure_output("synthetic_overview"),
    log:
        logfile("figures/synthetic_overview"),
    conda:
        ENV
    script:
        "../scripts/figure_synthetic_overview.py"


rule figures:
    input:
        plan.figure_targets(),
