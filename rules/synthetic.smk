# Synthetic worlds: ground truth, then paired activation shards for every simulated model.


rule world:
    output:
        WORLD,
    log:
        "results/logs/world/{world}.log",
    conda:
        ENV
    params:
        cfg=lambda w: world_cfg(w.world),
        seed=config["seed"],
    script:
        "../workflow/scripts/world.py"


rule shards:
    input:
        world=rules.world.output[0],
    output:
        directory(ACTS),
    log:
        "results/logs/shards/{world}.log",
    conda:
        ENV
    threads: 1
    resources:
        gpu=1,
    params:
        n_samples=lambda w: world_cfg(w.world)["n_samples"],
        shard_rows=lambda w: world_cfg(w.world)["shard_rows"],
        device=config["device"],
    script:
        "../workflow/scripts/shards.py"
