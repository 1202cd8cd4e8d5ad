# Comparisons -> per-comparison metric tables -> results/metrics.parquet


# "ground_truth" is a reserved model name (the schema forbids it), so this order is safe.
ruleorder: ground_truth_recovery > compare_models


rule ground_truth_recovery:
    input:
        world="results/worlds/{world}/world.safetensors",
        sae="results/saes/{world}/{model}/{sae}",
    output:
        "results/compare/{world}/{sae}/{model}~ground_truth.parquet",
    params:
        n_baseline=config["n_baseline"],
        seed=config["seed"],
        threshold=config["compare"]["recovery_threshold"],
        config_hash=lambda w: hash_of(world_cfg(w.world), sae_spec(w.sae)),
    log:
        "results/logs/compare/{world}/{sae}/{model}~ground_truth.log",
    script:
        "../workflow/scripts/ground_truth_recovery.py"


rule pair_features:
    input:
        world="results/worlds/{world}/world.safetensors",
        acts="results/worlds/{world}/acts",
        sae_a="results/saes/{world}/{model_a}/{sae}",
        sae_b="results/saes/{world}/{model_b}/{sae}",
    output:
        "results/pairs/{world}/{sae}/{model_a}~{model_b}.parquet",
    params:
        settings=pairing_settings(),
        device=config["device"],
    threads: 2
    resources:
        gpu=1,
    log:
        "results/logs/pairs/{world}/{sae}/{model_a}~{model_b}.log",
    script:
        "../workflow/scripts/pair_features.py"


rule compare_models:
    input:
        world="results/worlds/{world}/world.safetensors",
        acts="results/worlds/{world}/acts",
        sae_a="results/saes/{world}/{model_a}/{sae}",
        sae_b="results/saes/{world}/{model_b}/{sae}",
        pairs="results/pairs/{world}/{sae}/{model_a}~{model_b}.parquet",
    output:
        "results/compare/{world}/{sae}/{model_a}~{model_b}.parquet",
    params:
        settings=compare_settings(),
        n_tokens=config["compare"]["n_tokens"],
        gt_threshold=config["compare"]["gt_threshold"],
        seed=config["seed"],
        device=config["device"],
        config_hash=lambda w: hash_of(world_cfg(w.world), sae_spec(w.sae), config["compare"], config["n_baseline"]),
    log:
        "results/logs/compare/{world}/{sae}/{model_a}~{model_b}.log",
    script:
        "../workflow/scripts/compare_models.py"


def comparison_tables(wildcards=None):
    out = []
    for w in config["worlds"]:
        for s in config["saes"]:
            out += [f"results/compare/{w}/{s}/{m}~ground_truth.parquet" for m in world_cfg(w)["models"]]
            out += [f"results/compare/{w}/{s}/{a}~{b}.parquet" for a, b in model_pairs(w)]
    return out


rule metrics:
    input:
        comparison_tables,
    output:
        "results/metrics.parquet",
    log:
        "results/logs/metrics.log",
    script:
        "../workflow/scripts/collect_metrics.py"


rule metric_validation:
    output:
        table="results/metric_validation.parquet",
        figure=report("results/figures/metric_validation.png", caption="../workflow/report/metric_validation.rst",
                      category="Metric validation"),
    params:
        cfg=lambda w: canonical(config["validation"]),
        device=config["device"],
    threads: 2
    resources:
        gpu=1,
    log:
        "results/logs/metric_validation.log",
    script:
        "../workflow/scripts/metric_validation.py"


rule comparison_figure:
    input:
        "results/metrics.parquet",
    output:
        report("results/figures/comparisons.png", caption="../workflow/report/comparisons.rst", category="Comparisons"),
    log:
        "results/logs/comparison_figure.log",
    script:
        "../workflow/scripts/comparison_figure.py"
