# Linked feature-map viewer: feature-cache latents of synthetic SAEs, cached UMAP coordinates, one HTML page
# per comparison (results/viewer/). The language-model stage writes LATENTS for its own SAEs.

LATENTS = "results/features/{world}/{model}/{sae}/latents.parquet"
UMAP_COORDS = "results/umap/{world}/{sae}.parquet"
VIEWER = "results/viewer/{world}/{sae}/{model_a}~{model_b}.html"
SYNTHETIC_WORLDS = "|".join(sorted(config["worlds"]) + sorted(CALIBRATION_WORLDS))


def viewer_pages(worlds):
    """Every viewer page of ``worlds`` (one per SAE and pair of models)."""
    return [
        VIEWER.format(world=w, sae=s, model_a=a, model_b=b)
        for w in worlds
        for s in saes_of(w)
        for a, b in model_pairs(w)
    ]


def comparison_name(context):
    """The ``comparison`` column of results/metrics.parquet for a job's context."""
    from saegeom.compare.rows import Context

    return Context(**context).comparison


def _models(w):
    return sorted(world_cfg(w.world)["models"])


def _anchor_pairs(w):
    """Pairs tables of consecutive models (AlignedUMAP anchors), only when viewer.aligned."""
    if not config["viewer"]["aligned"]:
        return []
    m = _models(w)
    return [
        PAIRS.format(world=w.world, sae=w.sae, model_a=a, model_b=b)
        for a, b in zip(m, m[1:])
    ]


rule synthetic_latents:
    input:
        world=rules.world.output[0],
        acts=rules.shards.output[0],
        sae=SAE,
    output:
        LATENTS,
    log:
        "results/logs/latents/{world}/{model}/{sae}.log",
    wildcard_constraints:
        world=SYNTHETIC_WORLDS,
    conda:
        ENV
    threads: 1
    params:
        gt_threshold=lambda w: compare_block(w.world)["gt_threshold"],
        device=config["device"],
    script:
        "../workflow/scripts/synthetic_latents.py"


rule umap_coords:
    input:
        saes=lambda w: [
            SAE.format(world=w.world, model=m, sae=w.sae) for m in _models(w)
        ],
        pairs=_anchor_pairs,
    output:
        UMAP_COORDS,
    log:
        "results/logs/umap/{world}/{sae}.log",
    conda:
        ENV
    threads: 1
    params:
        models=_models,
        viewer=canonical(config["viewer"]),
        seed=config["seed"],
        name=lambda w: f"{w.world}/{w.sae}",
    script:
        "../workflow/scripts/umap_coords.py"


rule viewer:
    input:
        coords=UMAP_COORDS,
        latents_a=LATENTS.replace("{model}", "{model_a}"),
        latents_b=LATENTS.replace("{model}", "{model_b}"),
        pairs=PAIRS,
        metrics=rules.metrics.output[0],
    output:
        VIEWER,
    log:
        "results/logs/viewer/{world}/{sae}/{model_a}~{model_b}.log",
    conda:
        ENV
    threads: 1
    params:
        comparison=lambda w: comparison_name(comparison_context(w)),
        viewer=canonical(config["viewer"]),
    script:
        "../workflow/scripts/viewer.py"
