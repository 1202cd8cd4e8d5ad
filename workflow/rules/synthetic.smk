# Synthetic worlds (and calibration worlds): ground truth, then paired activation shards of every model.


rule world:
    output:
        P.WORLD,
    log:
        logfile("world/{study}"),
    wildcard_constraints:
        study=P.alternatives(plan.synthetic_studies),
    conda:
        ENV
    params:
        name=lambda w: w.study,
        cfg=lambda w: plan.world_cfg(w.study),
        seed=config["seed"],
    script:
        "../scripts/world.py"


rule shards:
    input:
        world=P.WORLD,
    output:
        directory(P.ACTS),
    log:
        logfile("shards/{study}"),
    conda:
        ENV
    threads: 1
    resources:
        gpu=1,
    params:
        n_samples=lambda w: plan.world_cfg(w.study)["n_samples"],
        shard_rows=lambda w: plan.world_cfg(w.study)["shard_rows"],
    script:
        "../scripts/shards.py"
