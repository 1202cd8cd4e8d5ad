# SAE training with SAELens (GPU when present: declares resources gpu=1), on a synthetic world's
# shards or (LM comparisons, rules/lm.smk) a language model's activation cache.


def sae_inputs(w):
    """A synthetic world's shard directory, or an LM's activation cache (+ toy model directory)."""
    return lm_inputs(w.model) if is_lm(w.world) else {"acts": rules.shards.output[0]}


def sae_shards(w):
    """The shard set the SAE trains on."""
    return (
        lm_acts(w.model)
        if is_lm(w.world)
        else f"{ACTS}/{w.model}".format(world=w.world)
    )


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
    script:
        "../workflow/scripts/train_sae.py"
