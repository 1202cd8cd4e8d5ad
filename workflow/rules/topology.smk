# Topology: per feature cloud a Mapper report + persistence diagrams; per model pair the pairing-free
# shape distances (rows of results/metrics.parquet). Generic over any SAE folder
# results/saes/{study}/{model}/{sae}; sae = ground_truth names a synthetic model's true features.


rule topology:
    input:
        unpack(lambda w: plan.topology_inputs(w.study, w.sae, {"": w.model})),
    output:
        directory(P.TOPOLOGY),
    log:
        logfile("topology/{study}/{model}/{sae}"),
    conda:
        ENV
    threads: 1
    params:
        model=lambda w: w.model,
        names=lambda w: {"world": w.study, "model": w.model, "sae": w.sae},
        pairs=lambda w: plan.topology_pairs(w.study, w.model, w.sae),
        settings=plan.topology_settings(),
        seed=config["seed"],
    script:
        "../scripts/topology.py"


rule topology_compare:
    input:
        unpack(lambda w: plan.topology_inputs(w.study, w.sae, {"_a": w.model_a, "_b": w.model_b})),
    output:
        P.TOPOLOGY_COMPARISON,
    log:
        logfile("topology/compare/{study}/{sae}/{model_a}~{model_b}"),
    conda:
        ENV
    threads: 1
    params:
        model_a=lambda w: w.model_a,
        model_b=lambda w: w.model_b,
        settings=plan.topology_settings(),
        context=lambda w: plan.topology_context(*pair_of(w)),
    script:
        "../scripts/topology_compare.py"


rule topology_summary:
    input:
        reports=plan.topology_reports(),
    output:
        P.TOPOLOGY_SUMMARY,
    log:
        logfile("topology/mapper_summary"),
    conda:
        ENV
    script:
        "../scripts/topology_summary.py"


rule topology_calibration:
    output:
        P.TOPOLOGY_NULL_CASES,
    log:
        logfile("calibration/topology_null_cases"),
    conda:
        ENV
    params:
        settings=plan.topology_settings(),
        n_cases=config["calibration"]["topology_cases"],
        seed=config["seed"],
    script:
        "../scripts/topology_calibration.py"
