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
        tokenizer=lambda w: plan.lm_tokenizer_file(w.lm),
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
        snapshot_steps=lambda w: plan.snapshot_steps(w.lm),
    script:
        "../scripts/train_lm.py"


rule lm_activations:
    input:
        corpus=P.LM_CORPUS,
        model=lambda w: [plan.lm_model_dir(w.lm)] if plan.lm_model_dir(w.lm) else [],  # a checkpoint: its model
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
        model_dir=lambda w: plan.lm_weights_dir(w.lm),
        shard_rows=plan.lm["shard_rows"],
    script:
        "../scripts/lm_activations.py"


# Models with different tokenizers: tokenizers of lm.tokenizers other than the word-level one, and the
# aligned unit rows of every cross-tokenizer comparison (lm.comparisons.<name>.alignment).


rule lm_named_tokenizer:
    input:
        corpus=P.LM_CORPUS,
    output:
        P.LM_TOKENIZERS,
    log:
        logfile("lm/tokenizers/{tokenizer}"),
    wildcard_constraints:
        tokenizer=P.alternatives(plan.named_tokenizers()),
    conda:
        ENV
    threads: 1
    params:
        spec=lambda w: plan.tokenizer_spec(w.tokenizer),
    script:
        "../scripts/lm_named_tokenizer.py"


rule lm_align:
    input:
        unpack(lambda w: plan.align_inputs(w.study)),
    output:
        directory(P.LM_ALIGNED),
    log:
        logfile("lm/aligned/{study}"),
    wildcard_constraints:
        study=P.alternatives(plan.aligned_studies()),
    conda:
        ENV
    threads: 1
    params:
        caches=lambda w: plan.align_params(w.study)["caches"],
        lms=lambda w: plan.align_params(w.study)["lms"],
        units=lambda w: plan.align_params(w.study)["units"],
        aggregation=lambda w: plan.align_params(w.study)["aggregation"],
        length_cap=lambda w: plan.align_params(w.study)["length_cap"],
        shard_rows=lambda w: plan.align_params(w.study)["shard_rows"],
    script:
        "../scripts/lm_align.py"
