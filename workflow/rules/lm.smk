# Language models: corpus -> tokenizer -> toy LMs -> activation caches. Their SAEs, feature caches and
# comparisons go through the rules every study shares (sae.smk, compare.smk).


rule lm_corpus:
    output:
        directory(P.LM_CORPUS),
    log:
        logfile("lm/corpus"),
    conda:
        ENV
    threads: 1
    params:
        n_stories=plan.lm["corpus"]["n_stories"],
        heldout_fraction=plan.lm["corpus"]["heldout_fraction"],
        seed=config["seed"],
    script:
        "../scripts/lm_corpus.py"


rule lm_tokenizer:
    input:
        corpus=P.LM_CORPUS,
    output:
        P.LM_TOKENIZER,
    log:
        logfile("lm/tokenizer"),
    conda:
        ENV
    threads: 1
    script:
        "../scripts/lm_tokenizer.py"


rule train_lm:
    input:
        corpus=P.LM_CORPUS,
        tokenizer=P.LM_TOKENIZER,
    output:
        directory(P.LM_MODEL),
    log:
        logfile("lm/train/{lm}"),
    wildcard_constraints:
        lm=P.alternatives(plan.toy_lms()),
    conda:
        ENV
    threads: 1
    resources:
        gpu=1,
    params:
        spec=lambda w: plan.lm_spec(w.lm),
        seed=lambda w: plan.lm_seed(w.lm),
        checkpoint_dir=P.LM_CHECKPOINT,
    script:
        "../scripts/train_lm.py"


rule lm_activations:
    input:
        corpus=P.LM_CORPUS,
        model=lambda w: [plan.lm_model_dir(w.lm)] if plan.lm_model_dir(w.lm) else [],
    output:
        directory(P.LM_ACTS),
    log:
        logfile("lm/acts/{lm}/{hook}"),
    conda:
        ENV
    threads: 1
    resources:
        gpu=1,
    params:
        lm=lambda w: w.lm,
        hook=lambda w: w.hook,
        spec=lambda w: plan.lm_spec(w.lm),
        model_dir=lambda w: plan.lm_model_dir(w.lm),
        shard_rows=plan.lm["shard_rows"],
    script:
        "../scripts/lm_activations.py"
