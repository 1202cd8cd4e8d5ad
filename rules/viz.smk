# Linked feature-map viewer: feature-cache latents of synthetic SAEs, cached UMAP coordinates, one HTML page
# per comparison (results/viewer/), for synthetic worlds and LM comparisons (whose labels are the LM
# feature caches, results/features/{comparison}/{model}/{sae}/).


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
        # only the layout keys: restyling the page (pairing, table_rows) must not recompute the coordinates
        viewer=canonical(
            {
                k: config["viewer"][k]
                for k in (
                    "n_neighbors",
                    "min_dist",
                    "metric",
                    "aligned",
                    "anchor_pairing",
                )
            }
        ),
        seed=config["seed"],
        name=lambda w: f"{w.world}/{w.sae}",
    script:
        "../workflow/scripts/umap_coords.py"


rule viewer:
    input:
        unpack(viewer_inputs),
    output:
        VIEWER,
    log:
        "results/logs/viewer/{world}/{sae}/{model_a}~{model_b}.log",
    conda:
        ENV
    threads: 1
    params:
        comparison=viewer_comparison,
        viewer=canonical(config["viewer"]),
    script:
        "../workflow/scripts/viewer.py"
