# Config validation, wildcard constraints, path patterns and helpers shared by every rule.
import itertools

from pathlib import Path

import yaml
from snakemake.utils import validate

from saegeom.config_checks import raise_problems, schema_errors, semantic_errors
from saegeom.settings import NAME_PATTERN

# Every mistake stops here, before any job: schema errors by config path (allowed keys/values named), then
# what a schema cannot see (metric names and options, SAE specs against SAELens, widths, k-NN k).
SCHEMA_FILE = Path(workflow.basedir) / "workflow" / "schemas" / "config.schema.yaml"
raise_problems(schema_errors(config, yaml.safe_load(SCHEMA_FILE.read_text())))
validate(config, str(SCHEMA_FILE), set_default=True)
raise_problems(semantic_errors(config))

NAME = NAME_PATTERN  # letters, digits, _ . - and never ".."


wildcard_constraints:
    world=NAME,
    model=NAME,
    model_a=NAME,
    model_b=NAME,
    sae=NAME,
    lm=NAME,
    hook=NAME,


# Every path pattern of the DAG, defined once.
WORLD = "results/worlds/{world}/world.safetensors"
ACTS = "results/worlds/{world}/acts"
SAE = "results/saes/{world}/{model}/{sae}"
CHECKPOINT = (
    "results/checkpoints/{world}/{model}/{sae}"  # not an output: survives a killed job
)
PAIRS = "results/pairs/{world}/{sae}/{model_a}~{model_b}.parquet"
COMPARISON = "results/compare/{world}/{sae}/{model_a}~{model_b}.parquet"
RECOVERY = "results/compare/{world}/{sae}/{model}~ground_truth.parquet"
CALIBRATION_SAE = "calibration"
ENV = "../envs/saegeom.yaml"  # for `--sdm conda`; the default route is the venv of `make setup`


def canonical(obj):
    """Recursively key-sorted copy: Snakemake compares params by value *and* order,
    so params built from YAML must not depend on the key order of the file."""
    if isinstance(obj, dict):
        return {k: canonical(obj[k]) for k in sorted(obj)}
    if isinstance(obj, list):
        return [canonical(v) for v in obj]
    return obj


def _calibration_worlds():
    """{world name: shared fraction} of the calibration sweep."""
    from saegeom.settings import calibration_world_name

    cal = config["calibration"]
    return {
        calibration_world_name(f, s): float(f)
        for f in cal["shared_fractions"]
        for s in cal["seeds"]
    }


CALIBRATION_WORLDS = _calibration_worlds()


def is_calibration(world):
    return world in CALIBRATION_WORLDS


def world_cfg(world):
    if is_calibration(world):
        return canonical(
            {
                **config["calibration"]["world"],
                "shared_fraction": CALIBRATION_WORLDS[world],
            }
        )
    return canonical(config["worlds"][world])


def saes_of(world):
    """SAE names trained on every model of ``world``."""
    return [CALIBRATION_SAE] if is_calibration(world) else list(config["saes"])


def sae_spec(world, sae):
    if is_calibration(world):
        return canonical(config["calibration"]["sae"])
    return canonical(config["saes"][sae])


def model_pairs(world):
    """Pairs (a, b) of the models of a synthetic world or an LM comparison, a < b by name."""
    return list(itertools.combinations(models_of(world), 2))


def hash_of(*parts):
    from saegeom.utils import config_hash

    return config_hash([config["seed"], *parts])


def compare_block(world):
    """The `compare` block for a world (calibration worlds: with calibration.compare on top)."""
    c = dict(config["compare"])
    if is_calibration(world):
        c.update(config["calibration"]["compare"])
        if CALIBRATION_WORLDS[world] > 0:  # random subsets are null cases only where nothing is shared
            c["random_subspaces"] = {}
    return c


def n_baseline(world):
    return (
        config["calibration"]["n_baseline"]
        if is_calibration(world)
        else config["n_baseline"]
    )


def compare_settings(world):
    """Keyword arguments of saegeom.settings.CompareSettings for a world."""
    from saegeom.settings import CompareSettings

    keys = set(CompareSettings.__dataclass_fields__) - {"n_baseline"}
    c = compare_block(world)
    return canonical(
        {**{k: c[k] for k in keys if k in c}, "n_baseline": n_baseline(world)}
    )


def pairing_settings(world):
    """Keyword arguments of saegeom.settings.PairingSettings for a world."""
    from saegeom.settings import PairingSettings

    c = compare_block(world)
    return canonical({k: c[k] for k in PairingSettings.__dataclass_fields__ if k in c})


def comparison_context(w, model_b=None):
    """Keyword arguments of saegeom.compare.Context for a job's wildcards."""
    a = w.model if model_b else w.model_a
    b = model_b or w.model_b
    sae_b = model_b or w.sae
    return dict(
        source="synthetic",
        world=w.world,
        model_a=a,
        sae_a=w.sae,
        model_b=b,
        sae_b=sae_b,
        seed=config["seed"],
        config_hash=hash_of(
            world_cfg(w.world), sae_spec(w.world, w.sae), compare_block(w.world)
        ),
    )


def comparison_tables(worlds, recovery=True):
    """Every comparison table (model vs model, and model vs ground truth if ``recovery``) of ``worlds``."""
    out = []
    for w in worlds:
        for s in saes_of(w):
            if recovery:
                out += expand(
                    RECOVERY, world=w, sae=s, model=sorted(world_cfg(w)["models"])
                )
            out += [
                COMPARISON.format(world=w, sae=s, model_a=a, model_b=b)
                for a, b in model_pairs(w)
            ]
    return out


# ---- language models (rules/lm.smk): paths and helpers -------------------------------------
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


def _lm_config_problems():
    """Names that the schema cannot check across blocks: before any job."""
    out = []
    clash = sorted(set(LM["comparisons"]) & set(config["worlds"]))
    if clash:
        out.append(
            f"config lm.comparisons {clash} reuse world names; give them other names"
        )
    for name, c in LM["comparisons"].items():
        unknown = [m for m in c["models"] if m not in LM["models"]]
        if unknown:
            out.append(
                f"config lm.comparisons.{name}.models: unknown models {unknown}; lm.models has {sorted(LM['models'])}"
            )
        for s in c["saes"]:
            if s in LM["pretrained_saes"]:
                missing = [m for m in c["models"] if m not in LM["pretrained_saes"][s]]
                if missing:
                    out.append(
                        f"config lm.pretrained_saes.{s} has no entry for models {missing} of comparison {name}"
                    )
            elif s not in LM["saes"]:
                out.append(
                    f"config lm.comparisons.{name}.saes: {s!r} is neither in lm.saes nor in lm.pretrained_saes"
                )
    both = sorted(set(LM["saes"]) & set(LM["pretrained_saes"]))
    if both:
        out.append(
            f"config: SAE names {both} are in both lm.saes and lm.pretrained_saes"
        )
    return out


raise_problems(_lm_config_problems())


def _alternatives(names):
    """A wildcard regex matching exactly ``names`` (never matching when empty)."""
    return "|".join(re.escape(n) for n in sorted(names)) or "(?!)"


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
    """A model's activation cache and (toy) its model directory, the inputs of the jobs that run it."""
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
        for s in c["saes"]:
            out += expand(LM_RECOVERY, world=name, sae=s, model=models_of(name))
            out += [
                LM_COMPARISON.format(world=name, sae=s, model_a=a, model_b=b)
                for a, b in model_pairs(name)
            ]
    return out


def lm_features_all():
    return [
        FEATURES.format(world=name, model=m, sae=s)
        for name, c in LM["comparisons"].items()
        for s in c["saes"]
        for m in c["models"]
    ]


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


# ---- topology (rules/topology.smk) ------------------------------------------------------------
TOPOLOGY = "results/topology/{world}/{model}/{sae}"
TOPOLOGY_COMPARISON = (
    "results/topology/compare/{world}/{sae}/{model_a}~{model_b}.parquet"
)
TOPOLOGY_GT = "ground_truth"


def models_of(world):
    """Models of a synthetic world or of an LM comparison (sorted)."""
    if is_lm(world):
        return sorted(LM["comparisons"][world]["models"])
    return sorted(world_cfg(world)["models"])


def sae_names(world):
    """SAE names of a synthetic world or of an LM comparison."""
    return list(LM["comparisons"][world]["saes"]) if is_lm(world) else saes_of(world)


def pairs_of(world, sae, a, b):
    """The pairs table of models a < b of a synthetic world or an LM comparison."""
    return (LM_PAIRS if is_lm(world) else PAIRS).format(
        world=world, sae=sae, model_a=a, model_b=b
    )


def feature_cache(world, model, sae):
    """The feature cache an SAE's labels come from: the LM feature directory, or a synthetic latents table."""
    if is_lm(world):
        return FEATURES.format(world=world, model=model, sae=sae)
    return LATENTS.format(world=world, model=model, sae=sae)


def topology_worlds():
    """Synthetic worlds and LM comparisons analysed (config topology.worlds; null = every synthetic world)."""
    if TOPOLOGY_GT in config["saes"]:
        raise ValueError(
            f"config saes: {TOPOLOGY_GT!r} is reserved for true-feature clouds; rename that SAE"
        )
    chosen = config["topology"]["worlds"]
    worlds = list(config["worlds"]) if chosen is None else chosen
    known = [*config["worlds"], *LM["comparisons"]]
    unknown = [w for w in worlds if w not in known]
    if unknown:
        raise ValueError(
            f"config topology.worlds: unknown worlds or LM comparisons {unknown}; have {known}"
        )
    return worlds


def topology_settings():
    """Keyword arguments of saegeom.settings.TopologySettings (the config block minus workflow keys)."""
    return canonical({k: v for k, v in config["topology"].items() if k != "worlds"})


def _topology_saes(world):
    """SAEs of a world's clouds; synthetic worlds add each model's true features (sae = ground_truth)."""
    return sae_names(world) + ([] if is_lm(world) else [TOPOLOGY_GT])


def topology_clouds():
    """(world, model, sae) of every feature cloud to analyse: every SAE (results/saes/{world}/{model}/{sae})
    of the chosen synthetic worlds and LM comparisons, and each synthetic model's true features.
    """
    return [
        (w, m, s)
        for w in topology_worlds()
        for m in models_of(w)
        for s in _topology_saes(w)
    ]


def topology_comparisons():
    """(world, sae, model_a, model_b) of every pair of clouds compared (same SAE spec, both models)."""
    return [
        (w, s, a, b)
        for w in topology_worlds()
        for s in _topology_saes(w)
        for a, b in model_pairs(w)
    ]


def topology_latents(world, model, sae):
    """The feature cache of an LM SAE (labels, keyword groups, frequencies; dead and non-concept latents
    dropped), or None (synthetic SAEs are labelled from the world file)."""
    if is_lm(world):
        return feature_cache(world, model, sae)
    return None


def topology_sae(world, model, sae):
    return None if sae == TOPOLOGY_GT else SAE.format(world=world, model=model, sae=sae)


def topology_inputs(w):
    keys = (
        [(w.model, "")]
        if "model" in w.keys()
        else [(w.model_a, "_a"), (w.model_b, "_b")]
    )
    out = {} if is_lm(w.world) else {"world": WORLD.format(world=w.world)}
    if "model" in w.keys():
        out["pairs"] = [p for p, _ in topology_pairs(w.world, w.model, w.sae)]
    for model, suffix in keys:
        for name, path in (
            ("sae", topology_sae(w.world, model, w.sae)),
            ("latents", topology_latents(w.world, model, w.sae)),
        ):
            if path:
                out[name + suffix] = path
    return out


def topology_pairs(world, model, sae):
    """[pairs table, side] of every comparison of this SAE (node colour: matched-partner score)."""
    if sae == TOPOLOGY_GT:
        return []
    return [
        [pairs_of(world, sae, a, b), "a" if model == a else "b"]
        for a, b in model_pairs(world)
        if model in (a, b)
    ]


def topology_context(w):
    if is_lm(w.world):
        return {
            **lm_context(w),
            "config_hash": hash_of(lm_context(w)["config_hash"], topology_settings()),
        }
    spec = TOPOLOGY_GT if w.sae == TOPOLOGY_GT else sae_spec(w.world, w.sae)
    return dict(
        source="synthetic",
        world=w.world,
        model_a=w.model_a,
        sae_a=w.sae,
        model_b=w.model_b,
        sae_b=w.sae,
        seed=config["seed"],
        config_hash=hash_of(world_cfg(w.world), spec, topology_settings()),
    )


def topology_tables():
    """Every topology comparison table (rows of results/metrics.parquet)."""
    return [
        TOPOLOGY_COMPARISON.format(world=w, sae=s, model_a=a, model_b=b)
        for w, s, a, b in topology_comparisons()
    ]


# ---- linked feature-map viewer (rules/viz.smk) ----
LATENTS = "results/features/{world}/{model}/{sae}/latents.parquet"  # the feature cache
FEATURE_LATENTS = LATENTS
UMAP_COORDS = "results/umap/{world}/{sae}.parquet"
VIEWER = "results/viewer/{world}/{sae}/{model_a}~{model_b}.html"
SYNTHETIC_WORLDS = "|".join(sorted(config["worlds"]) + sorted(CALIBRATION_WORLDS))


def viewer_pages(worlds):
    """Every viewer page of ``worlds`` (synthetic worlds and LM comparisons; one per SAE and pair of models)."""
    return [
        VIEWER.format(world=w, sae=s, model_a=a, model_b=b)
        for w in worlds
        for s in sae_names(w)
        for a, b in model_pairs(w)
    ]


def viewer_inputs(w):
    """Coordinates, both feature caches, the pairs and the metrics table of one page."""
    return {
        "coords": UMAP_COORDS.format(world=w.world, sae=w.sae),
        "latents_a": feature_cache(w.world, w.model_a, w.sae),
        "latents_b": feature_cache(w.world, w.model_b, w.sae),
        "pairs": pairs_of(w.world, w.sae, w.model_a, w.model_b),
        "metrics": "results/metrics.parquet",
    }


def viewer_comparison(w):
    context = lm_context(w) if is_lm(w.world) else comparison_context(w)
    return comparison_name(context)


def comparison_name(context):
    """The ``comparison`` column of results/metrics.parquet for a job's context."""
    from saegeom.compare.rows import Context

    return Context(**context).comparison


def _models(w):
    return models_of(w.world)


def _anchor_pairs(w):
    """Pairs tables of consecutive models (AlignedUMAP anchors), only when viewer.aligned."""
    if not config["viewer"]["aligned"]:
        return []
    m = _models(w)
    return [pairs_of(w.world, w.sae, a, b) for a, b in zip(m, m[1:])]
