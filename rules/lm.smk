# Language models: corpus -> tokenizer -> toy LMs -> activation caches -> SAEs (rule train_sae, or
# pretrained) -> feature caches -> category recovery and LM-vs-LM comparisons (source = lm rows).
# An LM comparison's name plays the role of a world in the SAE and feature paths.
import re

LM = config["lm"]
LM_CORPUS = "results/lm/corpus"
LM_TOKENIZER = "results/lm/tokenizer.json"
LM_MODEL = "results/lm/{lm}/model"
LM_ACTS = "results/lm/{lm}/acts/{hook}"
FEATURES = "results/features/{world}/{model}/{sae}"
LM_PAIRS = "results/lm/pairs/{world}/{sae}/{model_a}~{model_b}.parquet"
LM_COMPARISON = "results/lm/compare/{world}/{sae}/{model_a}~{model_b}.parquet"
LM_RECOVERY = "results/lm/compare/{world}/{sae}/{model}~categories.parquet"


def _check_lm_config():
    """Names that the schema cannot check across blocks: before any job."""
    clash = sorted(set(LM["comparisons"]) & set(config["worlds"]))
    if clash:
        raise ValueError(
            f"config lm.comparisons {clash} reuse world names; give them other names"
        )
    for name, c in LM["comparisons"].items():
        unknown = [m for m in c["models"] if m not in LM["models"]]
        if unknown:
            raise ValueError(
                f"config lm.comparisons.{name}.models: unknown models {unknown}; lm.models has {sorted(LM['models'])}"
            )
        for s in c["saes"]:
            if s in LM["pretrained_saes"]:
                missing = [m for m in c["models"] if m not in LM["pretrained_saes"][s]]
                if missing:
                    raise ValueError(
                        f"config lm.pretrained_saes.{s} has no entry for models {missing} of comparison {name}"
                    )
            elif s not in LM["saes"]:
                raise ValueError(
                    f"config lm.comparisons.{name}.saes: {s!r} is neither in lm.saes nor in lm.pretrained_saes"
                )
    both = sorted(set(LM["saes"]) & set(LM["pretrained_saes"]))
    if both:
        raise ValueError(
            f"config: SAE names {both} are in both lm.saes and lm.pretrained_saes"
        )


_check_lm_config()


def _alternatives(names):
    """A wildcard regex matching exactly ``names`` (never matching when empty)."""
    return "|".join(re.escape(n) for n in sorted(names)) or "(?!)"


wildcard_constraints:
    lm=NAME,
    hook=r"[A-Za-z0-9_.]+",


def is_lm(world):
    return world in LM["comparisons"]


def lm_spec(model):
    return canonical(LM["models"][model])


def lm_seed(model):
    from saegeom.utils import derive_seed

    spec = LM["models"][model]
    return spec["seed"] if "seed" in spec else derive_seed(config["seed"], "lm", model)


def lm_model_dir(model):
    """The trained model directory of a toy LM (None for pretrained/local models)."""
    return LM_MODEL.format(lm=model) if LM["models"][model]["source"] == "toy" else None


def lm_acts(model):
    return LM_ACTS.format(lm=model, hook=LM["models"][model]["hook"])


def lm_inputs(model):
    """Inputs every rule that runs a model needs: its activation cache and (toy) its model directory."""
    d = lm_model_dir(model)
    return {"acts": lm_acts(model), **({"model": d} if d else {})}


def lm_info(model):
    """What saegeom.lm.pipeline needs to run a model: spec, model directory, hook."""
    return {
        "spec": lm_spec(model),
        "model_dir": lm_model_dir(model),
        "hook": LM["models"][model]["hook"],
    }


def lm_compare_block():
    return {**config["compare"], **LM["compare"]}


def lm_compare_settings():
    from saegeom.settings import CompareSettings

    keys = set(CompareSettings.__dataclass_fields__) - {"n_baseline"}
    c = lm_compare_block()
    return canonical(
        {**{k: c[k] for k in keys if k in c}, "n_baseline": config["n_baseline"]}
    )


def lm_pairing_settings():
    from saegeom.settings import PairingSettings

    c = lm_compare_block()
    return canonical({k: c[k] for k in PairingSettings.__dataclass_fields__ if k in c})


def lm_sae_spec(sae):
    return canonical(LM["saes"][sae])


def lm_context(w, model_b=None):
    a = w.model if model_b else w.model_a
    b = model_b or w.model_b
    return dict(
        source="lm",
        world=w.world,
        model_a=a,
        sae_a=w.sae,
        model_b=b,
        sae_b=model_b or w.sae,
        seed=config["seed"],
        config_hash=hash_of(
            LM["corpus"],
            {m: LM["models"][m] for m in LM["comparisons"][w.world]["models"]},
            LM["saes"].get(w.sae) or LM["pretrained_saes"].get(w.sae),
            lm_compare_block(),
            [LM["groups"], LM["group_share"], LM["concept_filter"], LM["recovery"]],
        ),
    )


def lm_tables():
    """Every LM table of results/metrics.parquet: category recovery per SAE, and every model pair."""
    out = []
    for name, c in LM["comparisons"].items():
        models = sorted(c["models"])
        for s in c["saes"]:
            out += expand(LM_RECOVERY, world=name, sae=s, model=models)
            out += [
                LM_COMPARISON.format(world=name, sae=s, model_a=a, model_b=b)
                for a, b in itertools.combinations(models, 2)
            ]
    return out


def lm_features_all():
    return [
        FEATURES.format(world=name, model=m, sae=s)
        for name, c in LM["comparisons"].items()
        for s in c["saes"]
        for m in c["models"]
    ]


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
