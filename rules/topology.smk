# Topology (issue 16): per feature cloud a Mapper report + persistence diagrams; per model pair the
# pairing-free shape distances (rows of results/metrics.parquet). Generic over any SAE folder
# results/saes/{world}/{model}/{sae}; sae = ground_truth names a model's true features (synthetic).

# Path patterns and helpers (topology_clouds, topology_comparisons, ...) are in rules/common.smk.


rule topology:
    input:
        unpack(topology_inputs),
    output:
        directory(TOPOLOGY),
    log:
        "results/logs/topology/{world}/{model}/{sae}.log",
    conda:
        ENV
    threads: 1
    params:
        sae=lambda w: topology_sae(w.world, w.model, w.sae),
        latents=lambda w: topology_latents(w.world, w.model, w.sae),
        pairs=lambda w: topology_pairs(w.world, w.model, w.sae),
        settings=topology_settings(),
        seed=config["seed"],
    script:
        "../workflow/scripts/topology.py"


rule topology_compare:
    input:
        unpack(topology_inputs),
    output:
        TOPOLOGY_COMPARISON,
    log:
        "results/logs/topology/compare/{world}/{sae}/{model_a}~{model_b}.log",
    conda:
        ENV
    threads: 1
    params:
        sae_a=lambda w: topology_sae(w.world, w.model_a, w.sae),
        sae_b=lambda w: topology_sae(w.world, w.model_b, w.sae),
        latents_a=lambda w: topology_latents(w.world, w.model_a, w.sae),
        latents_b=lambda w: topology_latents(w.world, w.model_b, w.sae),
        settings=topology_settings(),
        context=topology_context,
    script:
        "../workflow/scripts/topology_compare.py"


rule topology_summary:
    input:
        [TOPOLOGY.format(world=w, model=m, sae=s) for w, m, s in topology_clouds()],
    output:
        "results/topology/mapper_summary.parquet",
    log:
        "results/logs/topology/mapper_summary.log",
    conda:
        ENV
    script:
        "../workflow/scripts/topology_summary.py"
