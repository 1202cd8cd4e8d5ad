# Topology (issue 16): per feature cloud a Mapper report + persistence diagrams; per model pair the
# pairing-free shape distances (rows of results/metrics.parquet). Generic over any SAE folder
# results/saes/{world}/{model}/{sae}; sae = ground_truth names a model's true features (synthetic).

TOPOLOGY = "results/topology/{world}/{model}/{sae}"
TOPOLOGY_COMPARISON = "results/topology/compare/{world}/{sae}/{model_a}~{model_b}.parquet"
TOPOLOGY_GT = "ground_truth"
FEATURE_LATENTS = "results/features/{world}/{model}/{sae}/latents.parquet"


def topology_clouds():
    """(world, model, sae) of every feature cloud to analyse: each synthetic world's SAEs and each
    model's true features (sae = ground_truth). Other SAE sources (language models) append their
    (world, model, sae) triples of results/saes/{world}/{model}/{sae} here."""
    out = []
    for w in config["worlds"]:
        for m in sorted(world_cfg(w)["models"]):
            out += [(w, m, s) for s in [*saes_of(w), TOPOLOGY_GT]]
    return out


def topology_comparisons():
    """(world, sae, model_a, model_b) of every pair of clouds compared (same SAE spec, both models)."""
    return [
        (w, s, a, b)
        for w in config["worlds"]
        for s in [*saes_of(w), TOPOLOGY_GT]
        for a, b in model_pairs(w)
    ]


def topology_latents(world, model, sae):
    """The feature cache's latents.parquet of an SAE, or None. Hook for the feature-cache rule:
    return FEATURE_LATENTS.format(...) for the SAEs it covers (today: none)."""
    return None


def topology_sae(world, model, sae):
    return None if sae == TOPOLOGY_GT else SAE.format(world=world, model=model, sae=sae)


def topology_inputs(w):
    keys = [(w.model, "")] if "model" in w.keys() else [(w.model_a, "_a"), (w.model_b, "_b")]
    out = {"world": WORLD.format(world=w.world)}
    for model, suffix in keys:
        for name, path in (
            ("sae", topology_sae(w.world, model, w.sae)),
            ("latents", topology_latents(w.world, model, w.sae)),
        ):
            if path:
                out[name + suffix] = path
    return out


def topology_context(w):
    spec = TOPOLOGY_GT if w.sae == TOPOLOGY_GT else sae_spec(w.world, w.sae)
    return dict(
        source="synthetic",
        world=w.world,
        model_a=w.model_a,
        sae_a=w.sae,
        model_b=w.model_b,
        sae_b=w.sae,
        seed=config["seed"],
        config_hash=hash_of(world_cfg(w.world), spec, config["topology"]),
    )


def topology_tables():
    """Every topology comparison table (rows of results/metrics.parquet)."""
    return [
        TOPOLOGY_COMPARISON.format(world=w, sae=s, model_a=a, model_b=b)
        for w, s, a, b in topology_comparisons()
    ]


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
        settings=canonical(config["topology"]),
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
        settings=canonical(config["topology"]),
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
