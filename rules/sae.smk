# SAE training with SAELens (GPU when present: declares resources gpu=1).


rule train_sae:
    input:
        acts=rules.shards.output[0],
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
        spec=lambda w: sae_spec(w.world, w.sae),
        seed=config["seed"],
        device=config["device"],
        checkpoint_dir=CHECKPOINT,
    script:
        "../workflow/scripts/train_sae.py"
