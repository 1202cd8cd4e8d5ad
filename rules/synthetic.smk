# Synthetic worlds: ground truth, then paired activation shards for every simulated model.


rule world:
    output:
        "results/worlds/{world}/world.safetensors",
    params:
        cfg=lambda w: world_cfg(w.world),
        seed=config["seed"],
    log:
        "results/logs/world/{world}.log",
    script:
        "../workflow/scripts/build_world.py"


rule shards:
    input:
        world="results/worlds/{world}/world.safetensors",
    output:
        directory("results/worlds/{world}/acts"),
    params:
        n_samples=lambda w: world_cfg(w.world)["n_samples"],
        shard_rows=lambda w: world_cfg(w.world)["shard_rows"],
    log:
        "results/logs/shards/{world}.log",
    script:
        "../workflow/scripts/write_shards.py"
