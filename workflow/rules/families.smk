# Feature families across the models of a study: the match graph of every model pair's pairs table, clustered
# (saegeom.families), and validated against a synthetic world's planted sharing pattern.


rule families:
    input:
        unpack(lambda w: plan.families_inputs(w.study, w.sae)),
    output:
        out_families=P.FAMILIES,
        out_validation=P.FAMILY_VALIDATION,
    log:
        logfile("families/{study}/{sae}"),
    wildcard_constraints:
        study=P.alternatives(plan.family_studies()),
        sae=P.alternatives(plan.family_saes()),
    conda:
        ENV
    params:
        models=lambda w: plan.families_params(w.study, w.sae)["models"],
        pair_models=lambda w: plan.families_params(w.study, w.sae)["pair_models"],
        pairing=lambda w: plan.families_params(w.study, w.sae)["pairing"],
        min_score=lambda w: plan.families_params(w.study, w.sae)["min_score"],
        gt_threshold=lambda w: plan.families_params(w.study, w.sae)["gt_threshold"],
        context=lambda w: plan.families_params(w.study, w.sae)["context"],
    script:
        "../scripts/families.py"
