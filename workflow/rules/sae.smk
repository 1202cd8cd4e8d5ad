# SAEs of every study: trained with SAELens (GPU when present: declares resources gpu=1) on a synthetic
# model's shards or a language model's activation cache, or loaded (LM comparisons, rule pretrained_sae).


rule train_sae:
    input:
        unpack(lambda w: plan.model_inputs(w.study, w.model)),
    output:
        directory(P.SAE),
    log:
        logfile("train_sae/{study}/{model}/{sae}"),
    conda:
        ENV
    threads: 1
    resources:
        gpu=1,
    params:
        study=lambda w: w.study,
        model=lambda w: w.model,
        sae=lambda w: w.sae,
        shards=lambda w: plan.shards(w.study, w.model),
        spec=lambda w: plan.sae_spec(w.study, w.sae),
        lm=lambda w: plan.lm_info(w.model) if plan.is_lm(w.study) else None,
        seed=config["seed"],
        checkpoint_dir=P.CHECKPOINT,
    script:
        "../scripts/train_sae.py"


rule pretrained_sae:
    input:
        unpack(lambda w: plan.model_inputs(w.study, w.model)),
    output:
        directory(P.SAE),
    log:
        logfile("pretrained_sae/{study}/{model}/{sae}"),
    wildcard_constraints:
        sae=P.alternatives(plan.lm["pretrained_saes"]),
    conda:
        ENV
    threads: 1
    resources:
        gpu=1,
    params:
        source=lambda w: plan.pretrained_source(w.sae, w.model),
        lm=lambda w: plan.lm_info(w.model),
    script:
        "../scripts/pretrained_sae.py"


ruleorder: pretrained_sae > train_sae
