# SAE training with SAELens (GPU when present: declares resources gpu=1).


rule train_sae:
    input:
        acts="results/worlds/{world}/acts",
    output:
        directory("results/saes/{world}/{model}/{sae}"),
    params:
        spec=lambda w: sae_spec(w.sae),
        seed=config["seed"],
        device=config["device"],
    threads: 2
    resources:
        gpu=1,
    log:
        "results/logs/train_sae/{world}/{model}/{sae}.log",
    script:
        "../workflow/scripts/train_sae.py"
