# Width ladders (saegeom.widths): SAEs of one model at several widths (trained by train_sae as
# `<ladder>-w<width>`), linked across adjacent widths into family trees, validated on a planted hierarchy.


rule width_families:
    input:
        unpack(lambda w: plan.width_inputs(w.ladder)),
    output:
        families=P.WIDTH_FAMILIES,
        validation=P.WIDTH_VALIDATION,
    log:
        logfile("width_families/{study}/{ladder}"),
    wildcard_constraints:
        ladder=P.alternatives(plan.width_ladders),
    conda:
        ENV
    threads: 1
    resources:
        gpu=1,
    params:
        **{
            k: (lambda w, k=k: plan.width_params(w.ladder).get(k))
            for k in (
                "widths",
                "model",
                "shards",
                "min_cosine",
                "min_coactivation",
                "gt_threshold",
                "pairing_rows",
            )
        },
        study=lambda w: w.study,
        ladder=lambda w: w.ladder,
        config_hash=lambda w: plan.width_hash(w.ladder),
    script:
        "../scripts/width_families.py"
