# Linked feature-map viewer: cached UMAP coordinates per (study, SAE), one HTML page per comparison
# (results/viewer/), labelled from the feature caches (rule features).


rule umap_coords:
    input:
        unpack(lambda w: plan.umap_inputs(w.study, w.sae)),
    output:
        P.UMAP_COORDS,
    log:
        logfile("umap/{study}/{sae}"),
    conda:
        ENV
    threads: 1
    params:
        models=lambda w: plan.models(w.study),
        viewer=plan.umap_settings(),
        seed=config["seed"],
        name=lambda w: f"{w.study}/{w.sae}",
    script:
        "../scripts/umap_coords.py"


rule viewer:
    input:
        unpack(lambda w: plan.viewer_inputs(*pair_of(w))),
    output:
        P.VIEWER,
    log:
        logfile("viewer/{study}/{sae}/{model_a}~{model_b}"),
    conda:
        ENV
    threads: 1
    params:
        model_a=lambda w: w.model_a,
        model_b=lambda w: w.model_b,
        comparison=lambda w: plan.comparison_name(*pair_of(w)),
        viewer=plan.viewer_settings(),
    script:
        "../scripts/viewer.py"
