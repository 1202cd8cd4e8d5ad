# Language models: corpus -> tokenizer -> toy LMs -> activation caches -> SAEs (rule train_sae, or
# pretrained) -> feature caches -> category recovery and LM-vs-LM comparisons (source = lm rows).
# An LM comparison's name plays the role of a world in the SAE and feature paths.
rule lm_corpus:
    output:
        directory(LM_CORPUS),
    log:
        "results/logs/lm/corpus.log",
    conda:
        ENV
    threads: 1
    params:
        n_stories=LM["corpus"]["n_stories"],
        heldout_fraction=LM["corpus"]["heldout_fraction"],
        seed=config["seed"],
    script:
        "../workflow/scripts/lm_corpus.py"


rule lm_tokenizer:
    input:
        corpus=LM_CORPUS,
    output:
        LM_TOKENIZER,
    log:
        "results/logs/lm/tokenizer.log",
    conda:
        ENV
    threads: 1
    script:
        "../workflow/scripts/lm_tokenizer.py"


rule train_lm:
    input:
        corpus=LM_CORPUS,
        tokenizer=LM_TOKENIZER,
    output:
        directory(LM_MODEL),
    log:
        "results/logs/lm/train/{lm}.log",
    wildcard_constraints:
        lm=_alternatives(m for m, s in LM["models"].items() if s["source"] == "toy"),
    conda:
        ENV
    threads: 1
    resources:
        gpu=1,
    params:
        spec=lambda w: lm_spec(w.lm),
        seed=lambda w: lm_seed(w.lm),
        device=config["device"],
        checkpoint_dir="results/checkpoints/lm/{lm}",
    script:
        "../workflow/scripts/train_lm.py"


rule lm_activations:
    input:
        corpus=LM_CORPUS,
        model=lambda w: [lm_model_dir(w.lm)] if lm_model_dir(w.lm) else [],
    output:
        directory(LM_ACTS),
    log:
        "results/logs/lm/acts/{lm}/{hook}.log",
    conda:
        ENV
    threads: 1
    resources:
        gpu=1,
    params:
        spec=lambda w: lm_spec(w.lm),
        model_dir=lambda w: lm_model_dir(w.lm),
        shard_rows=LM["shard_rows"],
        device=config["device"],
    script:
        "../workflow/scripts/lm_activations.py"


rule pretrained_sae:
    input:
        unpack(lambda w: lm_inputs(w.model)),
    output:
        directory(SAE),
    log:
        "results/logs/pretrained_sae/{world}/{model}/{sae}.log",
    wildcard_constraints:
        sae=_alternatives(LM["pretrained_saes"]),
    conda:
        ENV
    threads: 1
    resources:
        gpu=1,
    params:
        source=lambda w: canonical(LM["pretrained_saes"][w.sae][w.model]),
        lm=lambda w: lm_info(w.model),
        device=config["device"],
    script:
        "../workflow/scripts/pretrained_sae.py"


ruleorder: pretrained_sae > train_sae
# "categories" is a reserved model name (the schema forbids it), so this order is safe.
ruleorder: category_recovery > lm_compare


rule lm_features:
    input:
        unpack(lambda w: lm_inputs(w.model)),
        sae=SAE,
        corpus=LM_CORPUS,
    output:
        directory(FEATURES),
    log:
        "results/logs/features/{world}/{model}/{sae}.log",
    conda:
        ENV
    threads: 1
    resources:
        gpu=1,
    params:
        lm=lambda w: lm_info(w.model),
        groups=canonical(LM["groups"]),
        group_share=LM["group_share"],
        k=LM["features"]["k"],
        n_top=LM["features"]["n_top"],
        device=config["device"],
    script:
        "../workflow/scripts/lm_features.py"


rule category_recovery:
    input:
        unpack(lambda w: lm_inputs(w.model)),
        sae=SAE,
        corpus=LM_CORPUS,
    output:
        LM_RECOVERY,
    log:
        "results/logs/lm/compare/{world}/{sae}/{model}~categories.log",
    conda:
        ENV
    threads: 1
    resources:
        gpu=1,
    params:
        lm=lambda w: lm_info(w.model),
        precision=LM["recovery"]["precision"],
        fire_fraction=LM["recovery"]["fire_fraction"],
        context=lambda w: lm_context(w, model_b="categories"),
        device=config["device"],
    script:
        "../workflow/scripts/category_recovery.py"


rule lm_pair_features:
    input:
        acts_a=lambda w: lm_acts(w.model_a),
        acts_b=lambda w: lm_acts(w.model_b),
        sae_a=SAE.replace("{model}", "{model_a}"),
        sae_b=SAE.replace("{model}", "{model_b}"),
    output:
        LM_PAIRS,
    log:
        "results/logs/lm/pairs/{world}/{sae}/{model_a}~{model_b}.log",
    conda:
        ENV
    threads: 1
    resources:
        gpu=1,
    params:
        pairing=lambda w: lm_pairing_settings(),
        device=config["device"],
    script:
        "../workflow/scripts/lm_pair_features.py"


rule lm_compare:
    input:
        acts_a=lambda w: lm_acts(w.model_a),
        acts_b=lambda w: lm_acts(w.model_b),
        sae_a=SAE.replace("{model}", "{model_a}"),
        sae_b=SAE.replace("{model}", "{model_b}"),
        pairs=LM_PAIRS,
        features_a=FEATURES.replace("{model}", "{model_a}"),
        features_b=FEATURES.replace("{model}", "{model_b}"),
        corpus=LM_CORPUS,
    output:
        LM_COMPARISON,
    log:
        "results/logs/lm/compare/{world}/{sae}/{model_a}~{model_b}.log",
    wildcard_constraints:
        # model names only: "{model}~categories.parquet" is category_recovery's (no input-function errors)
        model_b=_alternatives(LM["models"]),
    conda:
        ENV
    threads: 1
    resources:
        gpu=1,
    params:
        groups=canonical(LM["groups"]),
        concept_filter=LM["concept_filter"],
        compare=lambda w: lm_compare_settings(),
        pairing=lambda w: lm_pairing_settings(),
        context=lm_context,
        device=config["device"],
    script:
        "../workflow/scripts/lm_compare.py"
