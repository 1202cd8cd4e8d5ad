# Pairing -> per-comparison metric tables -> results/metrics.parquet; calibration report; figures.


# "ground_truth" is a reserved model name (the schema forbids it), so this order is safe.
ruleorder: ground_truth_recovery > compare_models


rule ground_truth_recovery:
    input:
        world=rules.world.output[0],
        sae=rules.train_sae.output[0],
    output:
        RECOVERY,
    log:
        "results/logs/compare/{world}/{sae}/{model}~ground_truth.log",
    conda:
        ENV
    params:
        n_baseline=lambda w: n_baseline(w.world),
        threshold=config["compare"]["recovery_threshold"],
        context=lambda w: comparison_context(w, model_b="ground_truth"),
    script:
        "../workflow/scripts/ground_truth_recovery.py"


rule pair_features:
    input:
        world=rules.world.output[0],
        acts=rules.shards.output[0],
        sae_a=SAE.replace("{model}", "{model_a}"),
        sae_b=SAE.replace("{model}", "{model_b}"),
    output:
        PAIRS,
    log:
        "results/logs/pairs/{world}/{sae}/{model_a}~{model_b}.log",
    conda:
        ENV
    threads: 1
    resources:
        gpu=1,
    params:
        pairing=lambda w: pairing_settings(w.world),
        device=config["device"],
    script:
        "../workflow/scripts/pair_features.py"


rule compare_models:
    input:
        world=rules.world.output[0],
        acts=rules.shards.output[0],
        sae_a=rules.pair_features.input.sae_a,
        sae_b=rules.pair_features.input.sae_b,
        pairs=rules.pair_features.output[0],
    output:
        COMPARISON,
    log:
        "results/logs/compare/{world}/{sae}/{model_a}~{model_b}.log",
    conda:
        ENV
    threads: 1
    resources:
        gpu=1,
    params:
        compare=lambda w: compare_settings(w.world),
        pairing=lambda w: pairing_settings(w.world),
        context=comparison_context,
        device=config["device"],
    script:
        "../workflow/scripts/compare_models.py"


rule metrics:
    input:
        comparison_tables(config["worlds"]) + lm_tables(),
        topology_tables(),
    output:
        "results/metrics.parquet",
    log:
        "results/logs/metrics.log",
    conda:
        ENV
    script:
        "../workflow/scripts/metrics.py"


rule calibration:
    input:
        comparison_tables(CALIBRATION_WORLDS, recovery=False),
    output:
        table="results/calibration.parquet",
        figure=report(
            "results/figures/calibration.png",
            caption="../workflow/report/calibration.rst",
            category="Calibration",
        ),
    log:
        "results/logs/calibration.log",
    conda:
        ENV
    params:
        shared_fraction=CALIBRATION_WORLDS,
    script:
        "../workflow/scripts/calibration.py"


rule comparison_figure:
    input:
        rules.metrics.output[0],
    output:
        report(
            "results/figures/comparisons.png",
            caption="../workflow/report/comparisons.rst",
            category="Comparisons",
        ),
    log:
        "results/logs/comparison_figure.log",
    conda:
        ENV
    script:
        "../workflow/scripts/comparison_figure.py"
