# The comparison stack of every study (synthetic world, calibration world, LM comparison): feature
# caches, pairing, per-comparison metric tables, reference recoveries -> results/metrics.parquet;
# calibration report; figures. The plan chooses each job's inputs by the study's source.


rule features:
    input:
        unpack(lambda w: plan.feature_inputs(w.study, w.model, w.sae)),
    output:
        directory(P.FEATURES),
    log:
        logfile("features/{study}/{model}/{sae}"),
    conda:
        ENV
    threads: 1
    resources:
        gpu=1,
    params:
        model=lambda w: plan.base_model(w.model),
        shards=lambda w: plan.shards(w.study, w.model),
        lm=lambda w: plan.lm_info(w.model) if plan.is_lm(w.study) else None,
        gt_threshold=source_param("gt_threshold", plan.feature_params),
        groups=source_param("groups", plan.feature_params),
        group_share=source_param("group_share", plan.feature_params),
        k=source_param("k", plan.feature_params),
        n_top=source_param("n_top", plan.feature_params),
    script:
        "../scripts/features.py"


rule ground_truth_recovery:
    input:
        world=P.WORLD,
        sae=P.SAE,
    output:
        P.RECOVERY,
    log:
        logfile("compare/{study}/{sae}/{model}~ground_truth"),
    conda:
        ENV
    params:
        model=lambda w: w.model,
        n_baseline=lambda w: plan.n_baseline(w.study),
        threshold=config["compare"]["recovery_threshold"],
        context=lambda w: plan.context(w.study, w.sae, w.model, P.GROUND_TRUTH),
    script:
        "../scripts/ground_truth_recovery.py"


rule category_recovery:
    input:
        unpack(lambda w: plan.model_inputs(w.study, w.model)),
        sae=P.SAE,
        corpus=P.LM_CORPUS,
    output:
        P.CATEGORY_RECOVERY,
    log:
        logfile("compare/{study}/{sae}/{model}~categories"),
    conda:
        ENV
    threads: 1
    resources:
        gpu=1,
    params:
        lm=lambda w: plan.lm_info(w.model),
        precision=plan.lm["recovery"]["precision"],
        fire_fraction=plan.lm["recovery"]["fire_fraction"],
        context=lambda w: plan.context(w.study, w.sae, w.model, "categories"),
    script:
        "../scripts/category_recovery.py"


rule pair_features:
    input:
        unpack(lambda w: plan.pair_inputs(*pair_of(w))),
    output:
        P.PAIRS,
    log:
        logfile("pairs/{study}/{sae}/{model_a}~{model_b}"),
    wildcard_constraints:
        model_a=P.alternatives(plan.model_names()),
        model_b=P.alternatives(plan.model_names()),
    conda:
        ENV
    threads: 1
    resources:
        gpu=1,
    params:
        model_a=lambda w: plan.base_model(w.model_a),  # a seed replicate reads its model's ground truth
        model_b=lambda w: plan.base_model(w.model_b),
        shards_a=lambda w: shard_params(w)["a"],
        shards_b=lambda w: shard_params(w)["b"],
        pairing=lambda w: plan.pairing_settings(w.study),
    script:
        "../scripts/pair_features.py"


rule compare_models:
    input:
        unpack(lambda w: plan.compare_inputs(*pair_of(w))),
    output:
        P.COMPARISON,
    log:
        logfile("compare/{study}/{sae}/{model_a}~{model_b}"),
    wildcard_constraints:
        # model names only: "{model}~ground_truth" and "{model}~categories" are the recovery rules'
        model_a=P.alternatives(plan.model_names()),
        model_b=P.alternatives(plan.model_names()),
    conda:
        ENV
    threads: 1
    resources:
        gpu=1,
    params:
        model_a=lambda w: plan.base_model(w.model_a),  # a seed replicate reads its model's ground truth
        model_b=lambda w: plan.base_model(w.model_b),
        shards_a=lambda w: shard_params(w)["a"],
        shards_b=lambda w: shard_params(w)["b"],
        compare=lambda w: plan.compare_settings(w.study, w.model_b),
        pairing=lambda w: plan.pairing_settings(w.study),
        context=lambda w: plan.context(*pair_of(w)),
        groups=source_param("groups", plan.compare_params),
        concept_filter=source_param("concept_filter", plan.compare_params),
    script:
        "../scripts/compare_models.py"


rule metrics:
    input:
        tables=plan.metrics_tables(),
        calibration=P.CALIBRATION_TABLE,
        ceiling=P.CEILING,
    output:
        P.METRICS,
    log:
        logfile("metrics"),
    conda:
        ENV
    script:
        "../scripts/metrics.py"


rule calibration:
    input:
        tables=plan.calibration_tables(),
        topology_cases=P.TOPOLOGY_NULL_CASES,
    output:
        table=P.CALIBRATION_TABLE,
        figure=report(
            P.CALIBRATION_FIGURE,
            caption="../report/calibration.rst",
            category="Calibration",
        ),
    log:
        logfile("calibration"),
    conda:
        ENV
    params:
        shared_fraction=plan.calibration_worlds,
    script:
        "../scripts/calibration.py"


rule comparison_figure:
    input:
        metrics=P.METRICS,
    output:
        report(
            P.COMPARISON_FIGURE,
            caption="../report/comparisons.rst",
            category="Comparisons",
        ),
    log:
        logfile("comparison_figure"),
    conda:
        ENV
    script:
        "../scripts/comparison_figure.py"


# ---- seed ceiling: the self-replicate values of every seed-replicated SAE (saegeom.compare.ceiling) ----
rule ceiling:
    input:
        tables=plan.ceiling_tables(),
    output:
        P.CEILING,
    log:
        logfile("ceiling"),
    conda:
        ENV
    params:
        replicates=plan.ceiling_replicates(),
    script:
        "../scripts/ceiling.py"


# ---- LM layers and checkpoints (saegeom.compare.layers): layer x layer tables of LM comparisons whose models
# are cached at several hooks, and features over training (each checkpoint's SAE against the final model's).
rule layer_matrix:
    input:
        tables=lambda w: plan.layer_inputs(w.study, w.sae),
    output:
        P.LAYER_MATRIX,
    log:
        logfile("layers/{study}/{sae}"),
    wildcard_constraints:
        study=P.alternatives(plan.layer_studies()),
    conda:
        ENV
    params:
        units=lambda w: plan.unit_table(w.study),
    script:
        "../scripts/layer_matrix.py"


rule training_table:
    input:
        unpack(lambda w: plan.training_inputs(w.study, w.sae)),
    output:
        P.TRAINING_TABLE,
    log:
        logfile("training/{study}/{sae}"),
    wildcard_constraints:
        study=P.alternatives(plan.training_studies),
    conda:
        ENV
    params:
        units=lambda w: plan.unit_table(w.study),
    script:
        "../scripts/training_table.py"
