"""The workflow plan: every path pattern, merged config block, typed setting, provenance context and target
list of the Snakemake workflow, computed from the config in one place (``workflow/rules/*.smk`` only glue).

A **study** (the ``{study}`` wildcard) is one set of models whose SAEs are compared with each other:
a synthetic world (``worlds``), a calibration world (``calibration``, named by
:func:`saegeom.settings.calibration_world_name`) or an LM comparison (``lm.comparisons``). Every study goes
through the same rules (``pair_features``, ``compare_models``, ``features``, ``topology``, ``viewer``); the
plan chooses each rule's inputs and settings by the study's :meth:`Plan.source`.

    from saegeom.workflow.plan import Plan
    plan = Plan(config)                      # config: schema-valid, defaults filled
    plan.metrics_tables()                    # every table of results/metrics.parquet
    plan.compare_settings("blobs")           # CompareSettings of a study

Paths that the unified stack moved (before → now):

- ``results/lm/pairs/{comparison}/{sae}/{a}~{b}.parquet`` → ``results/pairs/{study}/{sae}/{a}~{b}.parquet``
- ``results/lm/compare/{comparison}/{sae}/{a}~{b}.parquet`` → ``results/compare/{study}/{sae}/{a}~{b}.parquet``
- ``results/lm/compare/{comparison}/{sae}/{model}~categories.parquet`` →
  ``results/compare/{study}/{sae}/{model}~categories.parquet``
- ``results/features/{world}/{model}/{sae}/latents.parquet``, a file output of the former rule
  ``synthetic_latents`` → the directory ``results/features/{study}/{model}/{sae}`` of rule ``features``, holding
  ``latents.parquet`` (same path as before) and, for LM studies, ``top_tokens.parquet`` and ``codes.safetensors``
- logs: ``results/logs/lm/pairs/…`` → ``results/logs/pairs/…``, ``results/logs/lm/compare/…`` →
  ``results/logs/compare/…``, ``results/logs/latents/…`` → ``results/logs/features/…``

Rules merged: ``lm_pair_features`` → ``pair_features``, ``lm_compare`` → ``compare_models``,
``synthetic_latents`` and ``lm_features`` → ``features``.
Every other path is unchanged (the wildcard ``{world}`` is now ``{study}``).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from saegeom.settings import CompareSettings, PairingSettings, calibration_world_name
from saegeom.vocabulary import REPLICATE_SUFFIX  # a model's seed replicate (a derived model, Plan.replicates)

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

# ---- path patterns (relative to the working directory) -------------------------------------------------------
WORLD = "results/worlds/{study}/world.safetensors"
ACTS = "results/worlds/{study}/acts"
SAE = "results/saes/{study}/{model}/{sae}"
CHECKPOINT = "results/checkpoints/{study}/{model}/{sae}"  # not an output: survives a killed job
FEATURES = "results/features/{study}/{model}/{sae}"
PAIRS = "results/pairs/{study}/{sae}/{model_a}~{model_b}.parquet"
COMPARISON = "results/compare/{study}/{sae}/{model_a}~{model_b}.parquet"
RECOVERY = "results/compare/{study}/{sae}/{model}~ground_truth.parquet"
CATEGORY_RECOVERY = "results/compare/{study}/{sae}/{model}~categories.parquet"
METRICS = "results/metrics.parquet"
CALIBRATION_TABLE = "results/calibration.parquet"
CALIBRATION_FIGURE = "results/figures/calibration.png"
#: metrics-table rows of independent structureless cloud pairs (the topology nulls' calibration cases)
TOPOLOGY_NULL_CASES = "results/calibration/topology_null_cases.parquet"
COMPARISON_FIGURE = "results/figures/comparisons.png"
LM_CORPUS = "results/lm/corpus"
LM_TOKENIZER = "results/lm/tokenizer.json"
#: tokenizers of ``lm.tokenizers`` other than the default word-level one (which stays at LM_TOKENIZER)
LM_TOKENIZERS = "results/lm/tokenizers/{tokenizer}.json"
#: a cross-tokenizer comparison's aligned unit rows: ``{model}/`` shard sets, units.parquet, report.json/.parquet
LM_ALIGNED = "results/lm/aligned/{study}"
LM_MODEL = "results/lm/{lm}/model"
#: where ``train_lm`` saves a toy LM's weights at a training step (``lm.training``): ``<model dir>/steps/<N>``
#: (inside the job's output directory, so not a path pattern of its own)
SNAPSHOT_SUBDIR = "steps"
LM_CHECKPOINT = "results/checkpoints/lm/{lm}"
LM_ACTS = "results/lm/{lm}/acts/{hook}"
TOPOLOGY = "results/topology/{study}/{model}/{sae}"
TOPOLOGY_COMPARISON = "results/topology/compare/{study}/{sae}/{model_a}~{model_b}.parquet"
TOPOLOGY_SUMMARY = "results/topology/mapper_summary.parquet"
UMAP_COORDS = "results/umap/{study}/{sae}.parquet"
VIEWER = "results/viewer/{study}/{sae}/{model_a}~{model_b}.html"
#: the seed ceiling: self-replicate values of every seed-replicated SAE (saegeom.compare.ceiling)
CEILING = "results/ceiling.parquet"
#: feature families across a study's models, and their validation against a world's planted sharing
FAMILIES = "results/families/{study}/{sae}.parquet"
FAMILY_VALIDATION = "results/families/{study}/{sae}_validation.parquet"
LOGS = "results/logs"
#: layer × layer similarity of an LM comparison whose models are cached at several hooks (saegeom.compare.layers)
LAYER_MATRIX = "results/layers/{study}/{sae}.parquet"
#: each training checkpoint's SAE against the final model's, per subspace (saegeom.compare.layers)
TRAINING_TABLE = "results/training/{study}/{sae}.parquet"
# ---- width ladders (saegeom.widths) ----
WIDTH_FAMILIES = "results/widths/{study}/{ladder}.parquet"
WIDTH_VALIDATION = "results/widths/{study}/{ladder}_validation.parquet"
# ---- end width ladders ----

#: the SAE name of a calibration world's single SAE
CALIBRATION_SAE = "calibration"
#: the "SAE" of a synthetic model's true features in topology paths (reserved: no SAE may be named so)
GROUND_TRUTH = "ground_truth"
#: viewer keys that change the UMAP layout (restyling a page must not recompute the coordinates)
UMAP_KEYS = ("n_neighbors", "min_dist", "metric", "aligned", "anchor_pairing")


#: name parts of LM units: ``{model}.step{N}`` (a training checkpoint) and ``….L{layer}`` (a hook of a model cached
#: at several hooks)
STEP_PART, LAYER_PART = ".step", ".L"


@dataclass(frozen=True)
class Unit:
    """One language model at one hook point (and training checkpoint): what a "model" of an LM study is.

    Its name (:meth:`Plan.unit_name`) is the model's name when the model is cached at one hook only (so a
    one-hook config keeps the names, paths and seeds it had), else ``{model}.L{layer}`` (or ``{model}.{hook}``
    when hooks share a block); a checkpoint inserts ``.step{N}`` after the model's name."""

    model: str
    hook: str
    step: int | None = None

    @property
    def instance(self) -> str:
        """The ``{lm}`` of the unit's activation cache path: the model, or ``{model}.step{N}``."""
        return self.model if self.step is None else f"{self.model}{STEP_PART}{self.step}"

    @property
    def layer(self) -> int | None:
        """The block index of the hook (``blocks.<i>.…``), None for hooks outside the blocks."""
        from saegeom.lm.hook_points import hook_layer

        return hook_layer(self.hook)


def canonical(obj: Any) -> Any:
    """Recursively key-sorted copy: Snakemake compares params by value *and* order, so params built from YAML
    must not depend on the key order of the file."""
    if isinstance(obj, dict):
        return {k: canonical(obj[k]) for k in sorted(obj)}
    if isinstance(obj, list):
        return [canonical(v) for v in obj]
    return obj


def log_path(tail: str) -> str:
    """The log file of a job: ``results/logs/<tail>.log`` (``tail``: a pattern such as ``world/{study}``)."""
    return f"{LOGS}/{tail}.log"


def alternatives(names: Iterable[str]) -> str:
    """A wildcard regex matching exactly ``names`` (never matching when empty)."""
    return "|".join(re.escape(n) for n in sorted(set(names))) or "(?!)"


def _fields(cls: type[DataclassInstance], block: dict[str, Any]) -> dict[str, Any]:
    return canonical({k: block[k] for k in cls.__dataclass_fields__ if k in block})


class Plan:
    """The workflow's view of one config (schema-valid, defaults filled: see :meth:`from_config`)."""

    def __init__(self, config: dict[str, Any]):
        self.config = config
        self.lm = config["lm"]
        #: {model: its hook points in layer order} (:meth:`lm_hooks`), expanded once: a local model's layer count is
        #: read from disk, and unit names are asked for on every job's inputs
        self._hooks: dict[str, list[str]] = {m: self._expand_hooks(m) for m in self.lm["models"]}
        cal = config["calibration"]
        #: {calibration world name: shared fraction} of the calibration sweep
        self.calibration_worlds: dict[str, float] = {
            calibration_world_name(f, s): float(f) for f in cal["shared_fractions"] for s in cal["seeds"]
        }
        self.families_cfg: dict[str, Any] = config.get("families") or {}
        #: {world name: world block} of the worlds made for feature families only (``families.worlds``)
        self.family_worlds: dict[str, Any] = dict(self.families_cfg.get("worlds") or {})
        #: {replicate name: model} of every seed replicate (``seed_ceiling``; see :meth:`replicates`)
        self.replicate_of: dict[str, str] = {
            r: m for st in self._ceiling_studies() for r, m in self.replicates(st).items()}
        #: {unit name: Unit} of every LM unit of every LM study (see :class:`Unit`)
        self.units: dict[str, Unit] = self._all_units()

    @classmethod
    def from_config(cls, config: dict[str, Any], schema_file: str, config_files: Iterable[str] = ()) -> Plan:
        """Validate ``config`` (:func:`saegeom.config_checks.check_config`: one message listing every problem
        by config path, duplicate keys of ``config_files`` included), fill the schema's defaults in place and
        return its plan; every mistake stops here, before any job."""
        import yaml
        from snakemake.utils import validate

        from saegeom.config_checks import check_config

        with open(schema_file) as f:
            schema = yaml.safe_load(f)
        check_config(config, schema, config_files=config_files)
        validate(config, str(schema_file), set_default=True)
        return cls(config)

    # ---- studies ---------------------------------------------------------------------------------------
    def source(self, study: str) -> str:
        """``lm`` for an LM comparison or training study, ``synthetic`` for a synthetic or calibration world."""
        return "lm" if study in self.lm["comparisons"] or self.is_training(study) else "synthetic"

    def is_family_world(self, study: str) -> bool:
        return study in self.family_worlds

    def is_lm(self, study: str) -> bool:
        return self.source(study) == "lm"

    def is_calibration(self, study: str) -> bool:
        return study in self.calibration_worlds

    @property
    def worlds(self) -> list[str]:
        """Synthetic worlds of ``worlds`` (calibration worlds not included)."""
        return list(self.config["worlds"])

    @property
    def lm_comparisons(self) -> list[str]:
        return list(self.lm["comparisons"])

    @property
    def training_studies(self) -> list[str]:
        """Studies of ``lm.training``: each checkpoint's SAE against the final model's (features over training)."""
        return list(self.lm.get("training") or {})

    def is_training(self, study: str) -> bool:
        return study in (self.lm.get("training") or {})

    def lm_study(self, study: str) -> dict[str, Any]:
        """The block of an LM comparison (``lm.comparisons``) or training study (``lm.training``)."""
        return self.lm["training"][study] if self.is_training(study) else self.lm["comparisons"][study]

    @property
    def synthetic_studies(self) -> list[str]:
        """Every study with a world file: synthetic and calibration worlds."""
        return (sorted(self.config["worlds"]) + sorted(self.width_worlds) + sorted(self.calibration_worlds)
                + sorted(self.family_worlds))

    def world_cfg(self, study: str) -> dict[str, Any]:
        """The world block of a synthetic or calibration world."""
        if self.is_calibration(study):
            cal = self.config["calibration"]
            return canonical({**cal["world"], "shared_fraction": self.calibration_worlds[study]})
        if study in self.width_worlds:
            return canonical(self.width_worlds[study])
        if self.is_family_world(study):
            return canonical(self.family_worlds[study])
        return canonical(self.config["worlds"][study])

    def models(self, study: str) -> list[str]:
        """Models of a study, sorted by name."""
        if self.is_lm(study):
            return [u for group in self._study_units(study) for u in group]
        return sorted(self.world_cfg(study)["models"])

    def model_pairs(self, study: str) -> list[tuple[str, str]]:
        """Pairs (a, b) of a study's models, a < b by name. LM comparisons: every unit (hook) of one model with
        every unit of another (never two hooks of one model); training studies: (final unit, checkpoint unit)
        per checkpoint."""
        if not self.is_lm(study):
            return list(itertools.combinations(self.models(study), 2))
        groups = self._study_units(study)
        if self.is_training(study):
            final, *checkpoints = groups[0]
            return [(final, c) for c in checkpoints]
        return [(a, b) for ga, gb in itertools.combinations(groups, 2) for a in ga for b in gb]

    def saes(self, study: str) -> list[str]:
        """Names of the SAEs trained (or loaded) on every model of a study."""
        if self.is_lm(study):
            return list(self.lm_study(study)["saes"])
        if self.is_family_world(study):
            return list(self.families_cfg["saes"])
        return [CALIBRATION_SAE] if self.is_calibration(study) else list(self.config["saes"])

    def sae_spec(self, study: str, sae: str) -> dict[str, Any]:
        """The training spec of a trained SAE (``saes``, ``calibration.sae``, ``lm.saes`` or a width ladder's
        ``<ladder>-w<width>``)."""
        rung = self.ladder_rung(sae)
        if rung is not None:
            from saegeom.widths.config import ladder_spec

            return canonical(ladder_spec(self.width_ladders[rung[0]], rung[1]))
        if self.is_lm(study):
            return canonical(self.lm["saes"][sae])
        if self.is_calibration(study):
            return canonical(self.config["calibration"]["sae"])
        if self.is_family_world(study):
            return canonical(self.families_cfg["saes"][sae])
        return canonical(self.config["saes"][sae])

    def model_names(self) -> list[str]:
        """Every model name of every study (the ``model_a``/``model_b`` of a comparison table)."""
        names = set(self.lm["models"]) | set(self.config["calibration"]["world"].get("models", {}))
        for w in [*self.config["worlds"].values(), *self.width_worlds.values(), *self.family_worlds.values()]:
            names |= set(w["models"])
        return sorted(names | set(self.replicate_of) | set(self.units))

    # ---- settings ----------------------------------------------------------------------------------------
    def compare_block(self, study: str) -> dict[str, Any]:
        """The ``compare`` block of a study: calibration worlds with ``calibration.compare`` on top, LM
        comparisons with ``lm.compare`` on top."""
        c = dict(self.config["compare"])
        if self.is_calibration(study):
            c.update(self.config["calibration"]["compare"])
            if self.calibration_worlds[study] > 0:  # random subsets are null cases only where nothing is shared
                c["random_subspaces"] = {}
        elif self.is_lm(study):
            c.update(self.lm["compare"])
            if self.is_aligned(study):
                c = self._with_alignment_null(c)
        return c

    def n_baseline(self, study: str) -> int:
        return self.config["calibration"]["n_baseline"] if self.is_calibration(study) else self.config["n_baseline"]

    def compare_settings(self, study: str, model_b: str | None = None) -> dict[str, Any]:
        """Keyword arguments of :class:`saegeom.settings.CompareSettings` for a study (``model_b``: a seed
        replicate's comparison draws ``seed_ceiling.n_baseline`` nulls when that is set)."""
        block = {**self.compare_block(study), "n_baseline": self.n_baseline(study)}
        override = self._replicate_n_baseline(model_b)
        if override is not None:
            block["n_baseline"] = override
        return _fields(CompareSettings, block)

    def pairing_settings(self, study: str) -> dict[str, Any]:
        """Keyword arguments of :class:`saegeom.settings.PairingSettings` for a study."""
        return _fields(PairingSettings, self.compare_block(study))

    def topology_settings(self) -> dict[str, Any]:
        """Keyword arguments of :class:`saegeom.settings.TopologySettings` (the block minus ``worlds``)."""
        return canonical({k: v for k, v in self.config["topology"].items() if k != "worlds"})

    def umap_settings(self) -> dict[str, Any]:
        """The viewer keys that change the UMAP layout."""
        return canonical({k: self.config["viewer"][k] for k in UMAP_KEYS})

    def viewer_settings(self) -> dict[str, Any]:
        return canonical(self.config["viewer"])

    # ---- language models ------------------------------------------------------------------------------
    def toy_lms(self) -> list[str]:
        return [m for m, s in self.lm["models"].items() if s["source"] == "toy"]

    def lm_spec(self, model: str) -> dict[str, Any]:
        """The spec of an ``lm.models`` entry (a checkpoint instance ``{model}.step{N}``: its model's)."""
        return canonical(self.lm["models"][self.instance_of(model)[0]])

    def instance_of(self, lm: str) -> tuple[str, int | None]:
        """(model, step) of an activation-cache ``{lm}``: a model (step None) or ``{model}.step{N}``."""
        if lm in self.lm["models"]:
            return lm, None
        model, sep, step = lm.rpartition(STEP_PART)
        if sep and step.isdigit() and model in self.lm["models"]:
            return model, int(step)
        raise KeyError(f"{lm!r} is neither an lm.models entry nor a training checkpoint of one")

    # ---- language-model units: hooks × checkpoints ----------------------------------------------------
    def lm_hooks(self, model: str) -> list[str]:
        """The hook points a model is cached at: its ``hook`` (a name, a list, ``all`` = every block's
        ``hook_resid_post``, or a pattern ``blocks.*.<hook>``), in layer order."""
        return list(self._hooks[model])

    def _expand_hooks(self, model: str) -> list[str]:
        from saegeom.lm.hook_points import expand_hooks, model_n_layers

        spec = self.lm["models"][model]
        return expand_hooks(spec["hook"], lambda: model_n_layers(spec), where=f"lm.models.{model}.hook")

    def _hook_suffixes(self, model: str) -> dict[str, str]:
        """{hook: unit-name suffix} of a model: "" for a one-hook model, ``.L<i>`` when every hook is in its own
        block, else ``.<hook>``."""
        hooks = self._hooks[model]
        if len(hooks) == 1:
            return {hooks[0]: ""}
        from saegeom.lm.hook_points import hook_layer

        layers = [hook_layer(h) for h in hooks]
        if None not in layers and len(set(layers)) == len(layers):
            return {h: f"{LAYER_PART}{i}" for h, i in zip(hooks, layers, strict=True)}
        return {h: f".{h}" for h in hooks}

    def unit_name(self, model: str, hook: str, step: int | None = None) -> str:
        """The unit name of (model, hook, checkpoint step) (see :class:`Unit`)."""
        return (model if step is None else f"{model}{STEP_PART}{step}") + self._hook_suffixes(model)[hook]

    def training_hook(self, study: str) -> str:
        """The hook of a training study (its ``hook``, default the model's last)."""
        block = self.lm["training"][study]
        return block.get("hook") or self.lm_hooks(block["model"])[-1]

    def _study_units(self, study: str) -> list[list[str]]:
        """An LM study's units grouped by model: a comparison's models (sorted) with their hooks in layer
        order; a training study's one group, the final unit first and then its checkpoints by step."""
        block = self.lm_study(study)
        if self.is_training(study):
            m, h = block["model"], self.training_hook(study)
            return [[self.unit_name(m, h), *(self.unit_name(m, h, s) for s in sorted(block["steps"]))]]
        return [[self.unit_name(m, h) for h in self.lm_hooks(m)] for m in sorted(block["models"])]

    def _all_units(self) -> dict[str, Unit]:
        """Every unit of every LM study, checked for name clashes with each other and with model names."""
        out: dict[str, Unit] = {}
        for model in self.lm["models"]:
            for hook in self.lm_hooks(model):
                out[self.unit_name(model, hook)] = Unit(model, hook)
        for study in self.training_studies:
            block = self.lm["training"][study]
            hook = self.training_hook(study)
            for step in block["steps"]:
                out[self.unit_name(block["model"], hook, step)] = Unit(block["model"], hook, int(step))
        clash = sorted(n for n, u in out.items() if n in self.lm["models"] and u != Unit(n, self.lm_hooks(n)[0]))
        if clash:
            raise ValueError(f"LM unit names {clash} (a model at a hook or checkpoint) are also lm.models names; "
                             f"rename those models")
        return out

    def unit(self, name: str) -> Unit:
        """The unit of an LM study's model name (a seed replicate: its model's unit)."""
        return self.units[self.base_model(name)]

    def snapshot_steps(self, model: str) -> list[int]:
        """Training steps at which ``train_lm`` saves a toy model's weights (every ``lm.training`` study of it)."""
        return sorted({int(s) for st in self.training_studies if self.lm["training"][st]["model"] == model
                       for s in self.lm["training"][st]["steps"]})

    def final_step(self, model: str) -> int | None:
        """A toy model's training steps (None for pretrained and local models)."""
        from saegeom.settings import LM_TOY_DEFAULTS

        spec = self.lm["models"][model]
        return int({**LM_TOY_DEFAULTS, **spec}["steps"]) if spec["source"] == "toy" else None

    def lm_seed(self, model: str) -> int:
        from saegeom.utils import derive_seed

        spec = self.lm["models"][model]
        if "seed_from" in spec:  # the same seed as another toy model (e.g. one architecture, two tokenizers)
            return self.lm_seed(spec["seed_from"])
        return spec["seed"] if "seed" in spec else derive_seed(self.config["seed"], "lm", model)

    def lm_model_dir(self, lm: str) -> str | None:
        """The trained model directory of a toy LM (None for pretrained/local models); the output of its
        ``train_lm`` job, also for a checkpoint instance ``{model}.step{N}`` (see :meth:`lm_weights_dir`)."""
        model, _ = self.instance_of(lm)
        return LM_MODEL.format(lm=model) if self.lm["models"][model]["source"] == "toy" else None

    def lm_weights_dir(self, lm: str) -> str | None:
        """The directory a model instance is loaded from: a toy model's directory or its checkpoint snapshot."""
        model, step = self.instance_of(lm)
        if step is not None:
            return f"{LM_MODEL.format(lm=model)}/{SNAPSHOT_SUBDIR}/{step}"
        return self.lm_model_dir(model)

    def lm_acts(self, unit: str) -> str:
        """The activation cache of a unit (a seed replicate: its model's)."""
        u = self.unit(unit)
        return LM_ACTS.format(lm=u.instance, hook=u.hook)

    def lm_info(self, unit: str) -> dict[str, Any]:
        """What the LM rules need to run a unit (a seed replicate: its model's): spec, model directory, hook."""
        u = self.unit(unit)
        return {"spec": self.lm_spec(u.model), "model_dir": self.lm_weights_dir(u.instance), "hook": u.hook}

    def pretrained_source(self, sae: str, unit: str) -> dict[str, Any]:
        """``lm.pretrained_saes.<sae>.<model>`` of a unit's model; ``{layer}`` and ``{hook}`` in its strings are
        replaced by the unit's (one entry serves every layer, e.g. ``sae_id: blocks.{layer}.hook_resid_post``)."""
        u = self.unit(unit)
        block = self.lm["pretrained_saes"][sae][u.model]
        fields = {"layer": "" if u.layer is None else u.layer, "hook": u.hook}
        return canonical({k: v.format(**fields) if isinstance(v, str) else v for k, v in block.items()})

    # ---- rule inputs -------------------------------------------------------------------------------
    def shards(self, study: str, model: str) -> str:
        """The shard set a model's SAEs read: a simulated model's shards or an LM's activation cache (a seed
        replicate reads its model's)."""
        if self.is_lm(study):
            return self.lm_acts(model)
        return f"{ACTS.format(study=study)}/{self.base_model(model)}"

    def model_inputs(self, study: str, model: str) -> dict[str, str]:
        """The files a job running one model's SAE needs: the shard set's producing output (a world's
        acts directory, or an LM's activation cache and, toy LMs, its model directory)."""
        if not self.is_lm(study):
            return {"acts": ACTS.format(study=study)}
        d = self.lm_model_dir(self.unit(model).model)
        return {"acts": self.lm_acts(model), **({"lm_model": d} if d else {})}

    def label_inputs(self, study: str, sae: str, model_a: str, model_b: str) -> dict[str, str]:
        """What the subspace labels of a comparison are read from: the world file, or both LM feature caches
        and the corpus (its keyword groups)."""
        if not self.is_lm(study):
            return {"world": WORLD.format(study=study)}
        return {"features_a": self.features(study, model_a, sae), "features_b": self.features(study, model_b, sae),
                "corpus": LM_CORPUS}

    def pair_inputs(self, study: str, sae: str, model_a: str, model_b: str) -> dict[str, str]:
        """Inputs of ``pair_features``: both SAEs, their shard sets and (synthetic) the world file."""
        out = {"sae_a": self.sae(study, model_a, sae), "sae_b": self.sae(study, model_b, sae)}
        for model, end in ((model_a, "a"), (model_b, "b")):
            out.update({f"{k}_{end}": v for k, v in self.model_inputs(study, model).items()})
        if not self.is_lm(study):
            out["world"] = WORLD.format(study=study)
        if self.is_aligned(study):
            out["aligned"] = self.aligned_dir(study)
        return out

    def compare_inputs(self, study: str, sae: str, model_a: str, model_b: str) -> dict[str, str]:
        """Inputs of ``compare_models``: those of ``pair_features``, the pairs table and the labels' sources."""
        return {**self.pair_inputs(study, sae, model_a, model_b), "pairs": self.pairs(study, sae, model_a, model_b),
                **self.label_inputs(study, sae, model_a, model_b)}

    def sae(self, study: str, model: str, sae: str) -> str:
        return SAE.format(study=study, model=model, sae=sae)

    def features(self, study: str, model: str, sae: str) -> str:
        return FEATURES.format(study=study, model=model, sae=sae)

    def pairs(self, study: str, sae: str, model_a: str, model_b: str) -> str:
        return PAIRS.format(study=study, sae=sae, model_a=model_a, model_b=model_b)

    def feature_inputs(self, study: str, model: str, sae: str) -> dict[str, str]:
        """Inputs of ``features``: the SAE, its shard set, and the world file or the corpus."""
        extra = {"corpus": LM_CORPUS} if self.is_lm(study) else {"world": WORLD.format(study=study)}
        return {"sae": self.sae(study, model, sae), **self.model_inputs(study, model), **extra}

    def feature_params(self, study: str) -> dict[str, Any]:
        """How a study's feature cache labels its latents: ground truth (threshold) or keyword groups."""
        if self.is_lm(study):
            f = self.lm["features"]
            return {"groups": canonical(self.lm["groups"]), "group_share": self.lm["group_share"],
                    "k": f["k"], "n_top": f["n_top"]}
        return {"gt_threshold": self.compare_block(study)["gt_threshold"]}

    def compare_params(self, study: str) -> dict[str, Any]:
        """Source-specific keyword arguments of ``compare_models`` (LM: keyword groups, concept filter)."""
        if self.is_lm(study):
            return {"groups": canonical(self.lm["groups"]), "concept_filter": self.lm["concept_filter"]}
        return {}

    # ---- provenance ----------------------------------------------------------------------------------
    def hash_of(self, *parts: Any) -> str:
        from saegeom.utils import config_hash

        return config_hash([self.config["seed"], *parts])

    def _study_hash(self, study: str, sae: str) -> str:
        """The config hash of a study's comparisons: everything that can change a row of ``sae``."""
        if self.is_lm(study):
            lm = self.lm
            block = self.lm_study(study)
            names = [block["model"]] if self.is_training(study) else block["models"]
            parts = [lm["corpus"], {m: lm["models"][m] for m in names},
                     lm["saes"].get(sae) or lm["pretrained_saes"].get(sae), self.compare_block(study),
                     [lm["groups"], lm["group_share"], lm["concept_filter"], lm["recovery"]]]
            if self.is_training(study):
                parts.append(canonical(block))
            return self.hash_of(*parts, *self._tokenizer_hash_parts(study))
        return self.hash_of(self.world_cfg(study), self.sae_spec(study, sae), self.compare_block(study))

    def context(self, study: str, sae: str, model_a: str, model_b: str, config_hash: str | None = None
                ) -> dict[str, Any]:
        """Keyword arguments of :class:`saegeom.compare.Context` for a comparison of ``model_a`` against
        ``model_b`` (a model, ``ground_truth`` or ``categories``) under SAE ``sae``; ``config_hash``
        defaults to everything that can change the study's comparison rows of ``sae``."""
        reference = model_b in (GROUND_TRUTH, "categories")
        out = dict(source=self.source(study), world=study, model_a=model_a, sae_a=sae, model_b=model_b,
                   sae_b=model_b if reference else sae, seed=self.config["seed"],
                   config_hash=config_hash or self._replicate_hash(self._study_hash(study, sae), model_b))
        alignment = self.alignment(study)
        if alignment is not None and not reference:  # category recovery stays on the model's own tokens
            out["aggregation"] = alignment["aggregation"]
        if self.is_lm(study):
            ua = self.unit(model_a)
            out.update(hook_a=ua.hook, layer_a=ua.layer)
            if not reference:
                ub = self.unit(model_b)
                out.update(hook_b=ub.hook, layer_b=ub.layer)
        return out

    def topology_context(self, study: str, sae: str, model_a: str, model_b: str) -> dict[str, Any]:
        """The context of a topology comparison (its hash adds the topology settings)."""
        topo = self.topology_settings()
        if self.is_lm(study):
            h = self.hash_of(self._study_hash(study, sae), topo)
        else:
            spec = GROUND_TRUTH if sae == GROUND_TRUTH else self.sae_spec(study, sae)
            h = self.hash_of(self.world_cfg(study), spec, topo)
        return self.context(study, sae, model_a, model_b, config_hash=h)

    def comparison_name(self, study: str, sae: str, model_a: str, model_b: str) -> str:
        """The ``comparison`` column of results/metrics.parquet for a comparison."""
        from saegeom.compare.rows import Context

        return Context(**self.context(study, sae, model_a, model_b)).comparison

    # ---- models with different tokenizers (saegeom.lm.alignment) -------------------------------------
    def lm_tokenizer_name(self, model: str) -> str | None:
        """The ``lm.tokenizers`` name a toy model is trained with (``word`` by default); None for pretrained and
        local models, which bring their own."""
        spec = self.lm["models"][model]
        return spec.get("tokenizer", "word") if spec["source"] == "toy" else None

    def tokenizer_path(self, name: str) -> str:
        """The ``tokenizer.json`` of an ``lm.tokenizers`` entry (``word``: the corpus's word-level one)."""
        return LM_TOKENIZER if name == "word" else LM_TOKENIZERS.format(tokenizer=name)

    def lm_tokenizer_file(self, model: str) -> str:
        """The tokenizer file a toy model is trained with."""
        return self.tokenizer_path(self.lm_tokenizer_name(model) or "word")

    def named_tokenizers(self) -> list[str]:
        """``lm.tokenizers`` trained by rule ``lm_named_tokenizer`` (every one but ``word``)."""
        return sorted(n for n in self.lm["tokenizers"] if n != "word")

    def tokenizer_spec(self, name: str) -> dict[str, Any]:
        return canonical(self.lm["tokenizers"][name])

    def alignment(self, study: str) -> dict[str, Any] | None:
        """The alignment block of a cross-tokenizer LM comparison (defaults filled), None for any other study."""
        if not self.is_lm(study):
            return None
        block = self.lm_study(study).get("alignment")
        return None if block is None else canonical({"units": "words", "aggregation": "last", "length_cap": 3,
                                                     **block})

    def is_aligned(self, study: str) -> bool:
        return self.alignment(study) is not None

    def aligned_studies(self) -> list[str]:
        return [s for s in self.lm_comparisons if self.is_aligned(s)]

    def aligned_dir(self, study: str) -> str:
        return LM_ALIGNED.format(study=study)

    def pair_shards(self, study: str, model: str) -> str:
        """The shard set a model's SAE is paired and compared on: its aligned unit rows in a cross-tokenizer
        comparison, else the shard set it was trained on (:meth:`shards`)."""
        return f"{self.aligned_dir(study)}/{model}" if self.is_aligned(study) else self.shards(study, model)

    def align_inputs(self, study: str) -> dict[str, str]:
        """Inputs of ``lm_align``: the corpus, every model's activation cache and (toy) model directory."""
        out = {"corpus": LM_CORPUS}
        for m in self.models(study):
            out[f"acts_{m}"] = self.lm_acts(m)
            d = self.lm_model_dir(self.unit(m).model)
            if d:
                out[f"lm_model_{m}"] = d
        return out

    def align_params(self, study: str) -> dict[str, Any]:
        """Params of ``lm_align``: caches and model infos by model, the alignment block, shard size."""
        a = self.alignment(study)
        if a is None:
            raise ValueError(f"study {study!r} has no alignment block")
        return {"caches": {m: self.lm_acts(m) for m in self.models(study)},
                "lms": {m: self.lm_info(m) for m in self.models(study)}, "units": a["units"],
                "aggregation": a["aggregation"], "length_cap": a["length_cap"], "shard_rows": self.lm["shard_rows"]}

    def _with_alignment_null(self, block: dict[str, Any]) -> dict[str, Any]:
        """A cross-tokenizer comparison's compare block: ``unit_shuffle`` added to the activation nulls (the
        alignment control every cross-tokenizer score is reported with)."""
        baselines = dict(block.get("baselines") or CompareSettings().baselines)
        if "unit_shuffle" not in baselines.get("activations", []):
            baselines["activations"] = [*baselines.get("activations", []), "unit_shuffle"]
        return {**block, "baselines": baselines}

    def _tokenizer_hash_parts(self, study: str) -> list[Any]:
        """What else changes a comparison's rows when tokenizers differ: the alignment block and the specs of
        non-default tokenizers (nothing for word-level comparisons, so their hashes stay as they were)."""
        names = {n for m in self.models(study) if (n := self.lm_tokenizer_name(self.unit(m).model))
                 not in (None, "word")}
        parts: list[Any] = [{n: self.tokenizer_spec(n) for n in sorted(names)}] if names else []
        return parts + ([self.alignment(study)] if self.is_aligned(study) else [])

    # ---- targets --------------------------------------------------------------------------------------
    def comparison_tables(self, studies: Iterable[str], recovery: bool = True) -> list[str]:
        """Every comparison table of ``studies``: model vs model, and (``recovery``) each model against its
        reference (synthetic: ground truth; LM: corpus categories)."""
        out = []
        for study in studies:
            reference = CATEGORY_RECOVERY if self.is_lm(study) else RECOVERY
            for s in self.saes(study):
                if recovery:
                    out += [reference.format(study=study, sae=s, model=m) for m in self.models(study)]
                out += [COMPARISON.format(study=study, sae=s, model_a=a, model_b=b) for a, b in self.model_pairs(study)]
        return out + self.ceiling_tables(studies)

    def metrics_tables(self) -> list[str]:
        """Every table of results/metrics.parquet: synthetic and LM comparisons, then topology."""
        return (self.comparison_tables([*self.worlds, *self.lm_comparisons, *self.training_studies])
                + self.topology_tables())

    def calibration_tables(self) -> list[str]:
        return self.comparison_tables(self.calibration_worlds, recovery=False)

    def topology_studies(self) -> list[str]:
        """Studies analysed by topology (``topology.worlds``; null = every synthetic world)."""
        chosen = self.config["topology"]["worlds"]
        return self.worlds if chosen is None else list(chosen)

    def topology_saes(self, study: str) -> list[str]:
        """SAEs of a study's clouds; synthetic worlds add each model's true features (sae = ground_truth)."""
        return self.saes(study) + ([] if self.is_lm(study) else [GROUND_TRUTH])

    def topology_clouds(self) -> list[tuple[str, str, str]]:
        """(study, model, sae) of every feature cloud analysed."""
        return [(w, m, s) for w in self.topology_studies() for m in self.models(w) for s in self.topology_saes(w)]

    def topology_reports(self) -> list[str]:
        return [TOPOLOGY.format(study=w, model=m, sae=s) for w, m, s in self.topology_clouds()]

    def topology_tables(self) -> list[str]:
        """Every topology comparison table (rows of results/metrics.parquet)."""
        return [TOPOLOGY_COMPARISON.format(study=w, sae=s, model_a=a, model_b=b)
                for w in self.topology_studies() for s in self.topology_saes(w) for a, b in self.model_pairs(w)]

    def viewer_pages(self) -> list[str]:
        """One viewer page per SAE and model pair of every synthetic world, LM comparison and family world."""
        studies = [*self.worlds, *self.lm_comparisons, *sorted(self.family_worlds)]
        return [VIEWER.format(study=w, sae=s, model_a=a, model_b=b)
                for w in studies for s in self.saes(w) for a, b in self.model_pairs(w)]

    def all_targets(self) -> list[str]:
        """What ``snakemake all`` builds."""
        return [METRICS, CALIBRATION_TABLE, CALIBRATION_FIGURE, COMPARISON_FIGURE, TOPOLOGY_SUMMARY,
                *self.viewer_pages(), *self.figure_targets(), *self.width_targets(),
                CEILING, *self.families_targets(), *self.layer_matrix_tables(), *self.training_tables()]

    # ---- paper figures (rules/figures.smk) --------------------------------------------------------------
    def layer_studies(self) -> list[str]:
        """LM comparisons with a model cached at more than one hook (the studies with a layer matrix)."""
        return [s for s in self.lm_comparisons if any(len(g) > 1 for g in self._study_units(s))]

    def layer_matrix_tables(self) -> list[str]:
        """Every layer-matrix table (results/layers/{study}/{sae}.parquet)."""
        return [LAYER_MATRIX.format(study=st, sae=s) for st in self.layer_studies() for s in self.saes(st)]

    def training_tables(self) -> list[str]:
        """Every features-over-training table (results/training/{study}/{sae}.parquet)."""
        return [TRAINING_TABLE.format(study=st, sae=s) for st in self.training_studies for s in self.saes(st)]

    def layer_inputs(self, study: str, sae: str) -> list[str]:
        """The comparison tables of every unit pair of an LM study (inputs of ``layer_matrix``)."""
        return [COMPARISON.format(study=study, sae=sae, model_a=a, model_b=b) for a, b in self.model_pairs(study)]

    def training_inputs(self, study: str, sae: str) -> dict[str, list[str]]:
        """Inputs of ``training_table``: each checkpoint's comparison with the final unit, and the category
        recovery of every unit (checkpoints and final)."""
        return {"tables": self.layer_inputs(study, sae),
                "recovery": [CATEGORY_RECOVERY.format(study=study, sae=sae, model=m) for m in self.models(study)]}

    def unit_table(self, study: str) -> list[dict[str, Any]]:
        """One record per unit of an LM study: ``unit``, ``model``, ``hook``, ``layer``, ``step`` (the checkpoint's,
        or the model's final step) and ``final_step``: the key the layer and training tables are built on."""
        out = []
        for name in self.models(study):
            u = self.unit(name)
            final = self.final_step(u.model)
            out.append({"unit": name, "model": u.model, "hook": u.hook, "layer": u.layer,
                        "step": final if u.step is None else u.step, "final_step": final})
        return out

    def figure_files(self, name: str) -> dict[str, str]:
        """The table, PNG and PDF of paper figure ``name`` (a key of saegeom.viz.figures.FIGURES; the path
        patterns live there)."""
        from saegeom.viz import figures

        figures.module(name)  # an unknown name is an error here, not a rule with odd paths
        return {"table": figures.TABLE.format(name=name), "png": figures.PNG.format(name=name),
                "pdf": figures.PDF.format(name=name)}

    def figure_targets(self) -> list[str]:
        """Every paper figure's table, PNG and PDF (what ``snakemake figures`` builds)."""
        from saegeom.viz.figures import FIGURES

        return [path for name in FIGURES for path in self.figure_files(name).values()]

    # ---- width ladders (saegeom.widths) -----------------------------------------------------------------
    @property
    def width_worlds(self) -> dict[str, Any]:
        """Worlds used only by width ladders (``width_worlds``): world and shards, no comparisons."""
        return self.config.get("width_worlds") or {}

    @property
    def width_ladders(self) -> dict[str, Any]:
        return self.config.get("width_ladders") or {}

    def ladder_rung(self, sae: str) -> tuple[str, int] | None:
        """(ladder, width) when ``sae`` names a ladder's SAE (``<ladder>-w<width>``), else None."""
        from saegeom.widths.config import parse_ladder_sae

        return parse_ladder_sae(sae, self.width_ladders)

    def ladder_model(self, ladder: str) -> str:
        block = self.width_ladders[ladder]
        return block.get("model") or self.models(block["world"])[0]

    def ladder_saes(self, ladder: str) -> dict[int, str]:
        """{width: SAE folder} of a ladder."""
        from saegeom.widths.config import ladder_sae_name

        block = self.width_ladders[ladder]
        return {int(w): self.sae(block["world"], self.ladder_model(ladder), ladder_sae_name(ladder, w))
                for w in block["widths"]}

    def width_inputs(self, ladder: str) -> dict[str, Any]:
        """Inputs of ``width_families``: the world file, its shards and every rung's SAE (in width order)."""
        study = self.width_ladders[ladder]["world"]
        return {"world": WORLD.format(study=study), **self.model_inputs(study, self.ladder_model(ladder)),
                "saes": list(self.ladder_saes(ladder).values())}

    def width_params(self, ladder: str) -> dict[str, Any]:
        """Keyword arguments of ``width_families`` other than paths (thresholds, widths, model, shards)."""
        from saegeom.widths.families import WIDTH_DEFAULTS

        block = self.width_ladders[ladder]
        keys = (*WIDTH_DEFAULTS, "pairing_rows")
        return canonical({"widths": [int(w) for w in block["widths"]], "model": self.ladder_model(ladder),
                          "shards": self.shards(block["world"], self.ladder_model(ladder)),
                          **{k: block[k] for k in keys if k in block}})

    def width_hash(self, ladder: str) -> str:
        """Config hash of a ladder's tables: its block and its world's."""
        return self.hash_of(self.width_ladders[ladder], self.world_cfg(self.width_ladders[ladder]["world"]))

    def width_validation_tables(self) -> list[str]:
        """Every width ladder's validation table (the width-families figure's input)."""
        ladders = sorted(self.width_ladders.items())
        return [WIDTH_VALIDATION.format(study=b["world"], ladder=name) for name, b in ladders]

    def width_targets(self) -> list[str]:
        """The family table and its validation of every width ladder."""
        out = []
        for ladder, block in sorted(self.width_ladders.items()):
            out += [p.format(study=block["world"], ladder=ladder) for p in (WIDTH_FAMILIES, WIDTH_VALIDATION)]
        return out
    # ---- end width ladders ----

    # ---- topology and viewer inputs ------------------------------------------------------------------
    def topology_sae(self, study: str, model: str, sae: str) -> str | None:
        """A cloud's SAE folder (None: a synthetic model's true features)."""
        return None if sae == GROUND_TRUTH else self.sae(study, model, sae)

    def topology_latents(self, study: str, model: str, sae: str) -> str | None:
        """The feature cache of an LM SAE (labels, groups, frequencies), or None (synthetic SAEs are labelled
        from the world file)."""
        return self.features(study, model, sae) if self.is_lm(study) else None

    def topology_pairs(self, study: str, model: str, sae: str) -> list[list[str]]:
        """[pairs table, side] of every comparison of this SAE (node colour: matched-partner score)."""
        if sae == GROUND_TRUTH:
            return []
        return [[self.pairs(study, sae, a, b), "a" if model == a else "b"]
                for a, b in self.model_pairs(study) if model in (a, b)]

    def topology_inputs(self, study: str, sae: str, models: dict[str, str]) -> dict[str, Any]:
        """Inputs of ``topology`` (``models={"": model}``) or ``topology_compare`` (``{"_a": a, "_b": b}``)."""
        out: dict[str, Any] = {} if self.is_lm(study) else {"world": WORLD.format(study=study)}
        if set(models) == {""}:
            out["pairs"] = [p for p, _ in self.topology_pairs(study, models[""], sae)]
        for suffix, model in models.items():
            for name, path in (("sae", self.topology_sae(study, model, sae)),
                               ("latents", self.topology_latents(study, model, sae))):
                if path:
                    out[name + suffix] = path
        return out

    def umap_inputs(self, study: str, sae: str) -> dict[str, list[str]]:
        """Every model's SAE and (``viewer.aligned``) the pairs tables of consecutive models (anchors)."""
        m = self.models(study)
        aligned = self.config["viewer"]["aligned"]
        anchors = [self.pairs(study, sae, a, b) for a, b in self._anchor_chain(study)] if aligned else []
        return {"saes": [self.sae(study, x, sae) for x in m], "pairs": anchors}

    def _anchor_chain(self, study: str) -> list[tuple[str, str]]:
        """The pairs of consecutive models (AlignedUMAP's anchors, ``viewer.aligned``); a ValueError when two
        consecutive models have no pairs table (two hooks of one LM: their maps are not aligned with each other,
        so turn ``viewer.aligned`` off for LM studies cached at several hooks)."""
        m, pairs = self.models(study), set(self.model_pairs(study))
        missing = [(a, b) for a, b in zip(m, m[1:], strict=False) if (a, b) not in pairs]
        if missing:
            raise ValueError(f"viewer.aligned: study {study!r} has no pairs table of consecutive models {missing} "
                             f"(units of one language model are not paired with each other); set "
                             f"viewer.aligned: false")
        return list(zip(m, m[1:], strict=False))

    def viewer_inputs(self, study: str, sae: str, model_a: str, model_b: str) -> dict[str, str]:
        """Coordinates, both feature caches, the pairs and the metrics table of one page, and the families table
        where the study's SAE is clustered into families (the page's "family" hover mode)."""
        out = {"coords": UMAP_COORDS.format(study=study, sae=sae),
               "latents_a": self.features(study, model_a, sae), "latents_b": self.features(study, model_b, sae),
               "pairs": self.pairs(study, sae, model_a, model_b), "metrics": METRICS}
        if study in self.family_studies() and sae in self.saes(study):
            out["families"] = FAMILIES.format(study=study, sae=sae)
        return out

    # ---- seed ceiling ---------------------------------------------------------------------------------
    def _ceiling_studies(self) -> list[str]:
        """Studies with seed replicates: ``seed_ceiling.studies`` (null: every world and LM comparison)."""
        chosen = (self.config.get("seed_ceiling") or {}).get("studies")
        return [*self.worlds, *self.lm_comparisons] if chosen is None else list(chosen)

    def ceiling_saes(self, study: str) -> list[str]:
        """SAEs of ``study`` trained a second time on every model with another seed (``seed_ceiling.saes``)."""
        chosen = (self.config.get("seed_ceiling") or {}).get("saes") or []
        if study not in self._ceiling_studies():
            return []
        return [s for s in self.saes(study) if s in chosen]

    def replicates(self, study: str) -> dict[str, str]:
        """{replicate: model} of a study's seed replicates (empty without ceiling SAEs).

        A seed replicate is a *derived model* named ``model + REPLICATE_SUFFIX``: its shard set (and, LM, its
        model directory and hook) are its model's (:meth:`base_model`), its SAEs are trained with the seed
        derived from (seed, study, replicate name, sae) — another seed than the model's own SAE, whose seed
        does not change — and the comparison model vs replicate runs through ``pair_features`` and
        ``compare_models`` like any model pair. Replicates are not models of the study: no cross-model
        comparison, topology or viewer page includes them."""
        if not self.ceiling_saes(study):
            return {}
        return {m + REPLICATE_SUFFIX: m for m in self.models(study)}

    def _replicate_n_baseline(self, model_b: str | None) -> int | None:
        """``seed_ceiling.n_baseline`` for a comparison against a seed replicate (None: the study's)."""
        if model_b is None or model_b not in self.replicate_of:
            return None
        return (self.config.get("seed_ceiling") or {}).get("n_baseline")

    def _replicate_hash(self, study_hash: str, model_b: str) -> str:
        """A comparison's config hash: the study's, plus the null count of a seed replicate's comparison when
        ``seed_ceiling.n_baseline`` replaces it."""
        n = self._replicate_n_baseline(model_b)
        return study_hash if n is None else self.hash_of(study_hash, {"seed_ceiling.n_baseline": n})

    def base_model(self, model: str) -> str:
        """The model whose activations ``model`` reads: itself, or the model of a seed replicate."""
        return self.replicate_of.get(model, model)

    def ceiling_tables(self, studies: Iterable[str] | None = None) -> list[str]:
        """The comparison tables model vs seed replicate of ``studies`` (default: every study with replicates);
        they are rows of results/metrics.parquet and the inputs of ``results/ceiling.parquet``."""
        chosen = set(self._ceiling_studies() if studies is None else studies)
        return [COMPARISON.format(study=st, sae=s, model_a=m, model_b=r)
                for st in self._ceiling_studies() if st in chosen for s in self.ceiling_saes(st)
                for r, m in self.replicates(st).items()]

    def ceiling_replicates(self) -> dict[str, dict[str, str]]:
        """{study: {replicate: model}} of every study with seed replicates (the ``ceiling`` rule's param)."""
        return canonical({st: self.replicates(st) for st in self._ceiling_studies() if self.replicates(st)})

    # ---- feature families -----------------------------------------------------------------------------
    def family_studies(self) -> list[str]:
        """Studies whose models' SAEs are clustered into families: ``families.worlds`` (worlds made for it) and
        ``families.studies`` (worlds or LM comparisons of ``worlds``/``lm.comparisons``)."""
        return sorted(self.family_worlds) + list(self.families_cfg.get("studies") or [])

    def family_saes(self) -> list[str]:
        """Every SAE name clustered into families (the ``families`` rule's ``{sae}`` wildcard)."""
        return sorted({s for st in self.family_studies() for s in self.saes(st)})

    def families_targets(self) -> list[str]:
        return [path.format(study=st, sae=s) for st in self.family_studies() for s in self.saes(st)
                for path in (FAMILIES, FAMILY_VALIDATION)]

    def family_validation_tables(self) -> list[str]:
        """Every families validation table (the families figure's input)."""
        return [p for p in self.families_targets() if p.endswith("_validation.parquet")]

    def families_inputs(self, study: str, sae: str) -> dict[str, Any]:
        """Inputs of ``families``: the pairs table of every model pair, every model's SAE, the world file."""
        out: dict[str, Any] = {"pairs": [self.pairs(study, sae, a, b) for a, b in self.model_pairs(study)],
                               "saes": [self.sae(study, m, sae) for m in self.models(study)]}
        if not self.is_lm(study):
            out["world"] = WORLD.format(study=study)
        return out

    def families_params(self, study: str, sae: str) -> dict[str, Any]:
        """Params of ``families``: model order, the clustering settings, the ground-truth threshold and the
        provenance (its hash adds the ``families`` settings to the study's)."""
        f = self.families_cfg
        settings = {"pairing": f.get("pairing", "one_to_one"), "min_score": float(f.get("min_score", 0.0))}
        return {"models": self.models(study), "pair_models": [list(p) for p in self.model_pairs(study)],
                **settings, "gt_threshold": float(self.compare_block(study)["gt_threshold"]),
                "context": {"world": study, "sae": sae, "seed": self.config["seed"],
                            "config_hash": self.hash_of(self._study_hash(study, sae), settings)}}
