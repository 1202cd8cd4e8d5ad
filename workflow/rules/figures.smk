# Paper figures (saegeom.viz.figures): one rule per figure. Each writes its table next to the figure
# (results/figures/<name>.parquet, from upstream result tables) and draws <name>.png and <name>.pdf from that
# table alone, byte-identical across runs; `snakemake figures` builds them all. A figure whose upstream tables
# do not exist in this config (no LM hooked at several layers, no training checkpoints) is still drawn: a
# panel saying "no data" and why. Paths: saegeom.viz.figures.TABLE/PNG/PDF (tests check they agree).


rule figure_layer_heatmaps:
    input:
        tables=plan.layer_matrix_tables(),
    output:
        table="results/figures/layer_heatmaps.parquet",
        png=report(
            "results/figures/layer_heatmaps.png",
            caption="../report/layer_heatmaps.rst",
            category="Figures",
        ),
        pdf="results/figures/layer_heatmaps.pdf",
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
        table="results/figures/semantic_subspaces.parquet",
        png=report(
            "results/figures/semantic_subspaces.png",
            caption="../report/semantic_subspaces.rst",
            category="Figures",
        ),
        pdf="results/figures/semantic_subspaces.pdf",
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
        table="results/figures/features_over_training.parquet",
        png=report(
            "results/figures/features_over_training.png",
            caption="../report/features_over_training.rst",
            category="Figures",
        ),
        pdf="results/figures/features_over_training.pdf",
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
        table="results/figures/trust.parquet",
        png=report(
            "results/figures/trust.png",
            caption="../report/trust.rst",
            category="Figures",
        ),
        pdf="results/figures/trust.pdf",
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
        table="results/figures/synthetic_overview.parquet",
        png=report(
            "results/figures/synthetic_overview.png",
            caption="../report/synthetic_overview.rst",
            category="Figures",
        ),
        pdf="results/figures/synthetic_overview.pdf",
    log:
        logfile("figures/synthetic_overview"),
    conda:
        ENV
    script:
        "../scripts/figure_synthetic_overview.py"


rule figure_families:
    input:
        validation=plan.family_validation_tables(),
        metrics=P.METRICS,
    output:
        table="results/figures/families.parquet",
        png=report(
            "results/figures/families.png",
            caption="../report/families.rst",
            category="Figures",
        ),
        pdf="results/figures/families.pdf",
    log:
        logfile("figures/families"),
    conda:
        ENV
    script:
        "../scripts/figure_families.py"


rule figure_width_families:
    input:
        validation=plan.width_validation_tables(),
    output:
        table="results/figures/width_families.parquet",
        png=report(
            "results/figures/width_families.png",
            caption="../report/width_families.rst",
            category="Figures",
        ),
        pdf="results/figures/width_families.pdf",
    log:
        logfile("figures/width_families"),
    conda:
        ENV
    script:
        "../scripts/figure_width_families.py"


rule figures:
    input:
        plan.figure_targets(),
