# SAE training with SAELens (GPU when present: declares resources gpu=1), on a synthetic world's
# shards or (LM comparisons, rules/lm.smk) a language model's activation cache.


rule train_sae:
    input:
        unpack(sae_inputs),
    output:
        directory(SAE),
    log:
        "results/logs/train_sae/{world}/{model}/{sae}.log",
    conda:
        ENV
    threads: 1
    resources:
        gpu=1,
    params:
        shards=sae_shards,
        spec=lambda w: (
            lm_sae_spec(w.sae) if is_lm(w.world) else sae_spec(w.world, w.sae)
        ),
        lm=lambda w: lm_info(w.model) if is_lm(w.world) else None,
        seed=config["seed"],
        device=config["device"],
        checkpoint_dir=CHECKPOINT,
    script:
        "../workflow/scripts/train_sae.py"
