"""Config checks run when the workflow's DAG is built, so a mistake stops the run in seconds, before any job.

:func:`check_config` raises ONE :class:`ConfigError` listing every problem, each by its config path:

* :func:`duplicate_key_problems` — a key given twice in a YAML file Snakemake read (YAML keeps the last);
* :func:`schema_errors` — ``workflow/schemas/config.schema.yaml``, explained with the allowed keys or values;
* :func:`value_problems` — numbers that are NaN/Inf, keys YAML turned into non-strings (``1:``, ``on:``/``off:``),
  names that are not plain path components (``settings.valid_name``: fullmatch, at most ``NAME_MAX_LENGTH``);
* :func:`semantic_errors` — what a schema cannot see: metric names and option values (a dry run of the metric on
  a few random rows), SAE specs against SAELens (names, value types and options), equal widths where a metric
  needs them, k-NN ``k`` against the number of points, Mapper lenses, LM comparisons and hooks against the
  model's hook points, pretrained/local paths, and a resource estimate per stage against ``limits``.

The semantic checks also run on a config that failed the schema (with its defaults filled in): each group of
checks that cannot run on what is there is skipped, never crashes, so the message is complete.
"""

from __future__ import annotations

import copy
import inspect
import logging
import math
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from saegeom.settings import (
    DEFAULT_ON_WIDTH_MISMATCH,
    LIMIT_DEFAULTS,
    NAME_MAX_LENGTH,
    SAE_TRAINER_DEFAULTS,
    CompareSettings,
    PairingSettings,
    valid_name,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

#: metrics whose option ``k`` counts neighbours among the items
KNN_OPTION = "k"


class ConfigError(ValueError):
    """The config cannot run; the message lists every problem by its config path."""


def _where(path: Iterable[Any]) -> str:
    """``config.a.b[0]``; a key that is not plain printable text is shown quoted (``config.worlds['x\\n']``)."""
    return "config" + "".join(f".{p}" if isinstance(p, str) and p.isprintable() and p.strip() == p and p
                              else f"[{p!r}]" for p in path)


def _describe(sub: dict[str, Any]) -> str:
    if "const" in sub:
        return repr(sub["const"])
    if "enum" in sub:
        return f"one of {sub['enum']}"
    kind = sub.get("type", "value")
    lo = sub.get("minimum", sub.get("exclusiveMinimum"))
    hi = sub.get("maximum", sub.get("exclusiveMaximum"))
    return f"{kind} in [{lo}, {hi}]" if lo is not None and hi is not None else str(kind)


def _explain(e) -> str:
    where = _where(e.absolute_path)
    if e.validator == "additionalProperties" and e.validator_value is False:
        allowed = sorted(e.schema.get("properties", {}))
        return f"{where}: unknown key(s) {sorted(set(e.instance) - set(allowed), key=str)}; allowed keys: {allowed}"
    if e.validator == "enum":
        return f"{where}: {e.instance!r} is not allowed; allowed values: {e.validator_value}"
    if e.validator == "type":
        return f"{where}: expected {e.validator_value}, got {type(e.instance).__name__} {e.instance!r}"
    if e.validator in ("oneOf", "anyOf"):
        return f"{where}: {e.instance!r} is not allowed; allowed: " + " or ".join(map(_describe, e.validator_value))
    if "propertyNames" in list(e.schema_path):
        return (f"{where}: name {e.instance!r} is not allowed: names use letters, digits, '_', '.', '-' "
                f"(no '/', no '..'; world names may not start with 'cal_', a model may not be called ground_truth)")
    return f"{where}: {e.message}"


def schema_errors(config: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    """Every schema violation of ``config``, explained by config path (empty when valid)."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: [str(p) for p in e.absolute_path])
    return [_explain(e) for e in errors]


# ---- semantic checks ------------------------------------------------------------------------------------------
def with_defaults(compare: dict[str, Any]) -> dict[str, Any]:
    """A ``compare`` block with the settings' defaults under every key it leaves out."""
    from dataclasses import fields

    defaults = {f.name: f.default_factory() if callable(f.default_factory) else f.default
                for cls in (PairingSettings, CompareSettings) for f in fields(cls)}
    return {**defaults, "on_width_mismatch": DEFAULT_ON_WIDTH_MISMATCH, **compare}


def model_widths(world: dict[str, Any]) -> dict[str, int]:
    """{model: width of its activations} of a synthetic world config (``linear`` bases set ``d_model``)."""
    return {m: int(spec.get("d_model", world["d_world"])) if spec.get("basis") == "linear" else int(world["d_world"])
            for m, spec in world["models"].items()}


def _metric_errors(block: str, compare: dict[str, Any]) -> list[str]:
    from saegeom.metrics.registry import load_builtin_metrics

    known = load_builtin_metrics()
    out = []
    for rep, names in compare["metrics"].items():
        unknown = [n for n in names if n not in known]
        if unknown:
            out.append(f"config {block}.metrics.{rep}: unknown metrics {unknown}; registered: {sorted(known)}")
    for metric, options in compare["metric_options"].items():
        if metric not in known:
            out.append(f"config {block}.metric_options: unknown metric {metric!r}; registered: {sorted(known)}")
            continue
        params = [p for p in inspect.signature(known[metric].fn).parameters if p not in ("x", "y", "seed")]
        bad = sorted(set(options) - set(params))
        if bad:
            out.append(f"config {block}.metric_options.{metric}: unknown option(s) {bad}; {metric} takes {params}")
    return out


def knn_k(metric: str, compare: dict[str, Any]) -> int | None:
    """The ``k`` a k-NN metric will use under ``compare`` (its option, else the function's default)."""
    from saegeom.metrics.registry import get_metric

    params = inspect.signature(get_metric(metric).fn).parameters
    if KNN_OPTION not in params:
        return None
    options = compare["metric_options"].get(metric, {})
    return int(options[KNN_OPTION]) if KNN_OPTION in options else int(params[KNN_OPTION].default)


def knn_errors(block: str, compare: dict[str, Any], n_tokens: int, max_pairs: int | None) -> list[str]:
    """k-NN metrics need k < number of points: tokens for ``activations``, pairs (≤ ``max_pairs``, the
    smaller dictionary) otherwise; ``max_pairs=None`` (dictionary sizes unknown) checks ``activations`` only."""
    from saegeom.metrics.registry import load_builtin_metrics

    known = load_builtin_metrics()
    out = []
    for rep, names in compare["metrics"].items():
        if rep == "activations":
            n_points, what = n_tokens, f"compare.n_tokens = {n_tokens} tokens"
        elif max_pairs is None:
            continue
        else:
            n_points, what = max_pairs, f"at most {max_pairs} pairs"
        for m in names:
            k = knn_k(m, compare) if m in known else None
            if k is not None and k >= n_points:
                out.append(f"config {block}.metric_options.{m}.k = {k} must be smaller than the number of points "
                           f"of the {rep} representation ({what})")
    return out


def width_errors(where: str, widths: dict[str, int], compare: dict[str, Any],
                 representations: tuple[str, ...] = ("decoder", "ground_truth")) -> list[str]:
    """Metrics and pairings that compare directions across the two spaces need equal widths."""
    if len(set(widths.values())) <= 1 or compare["on_width_mismatch"] == "skip":
        return []
    from saegeom.metrics.registry import load_builtin_metrics

    known = load_builtin_metrics()
    needy = [f"compare.metrics.{rep}: {m}" for rep in representations
             for m in compare["metrics"].get(rep, []) if m in known and known[m].same_width]
    if "decoder_cosine" in compare["pairings"]:
        needy.append("compare.pairings: decoder_cosine")
    if not needy:
        return []
    return [f"{where}: model widths differ ({widths}) but {needy} need equal widths; remove them, or set "
            f"compare.on_width_mismatch: skip to report them as NaN rows with a note"]


def sae_spec_errors(where: str, spec: dict[str, Any], d_in: int) -> list[str]:
    from saegeom.sae.spec import split_spec

    try:
        _, _, trainer = split_spec(spec, d_in, where)
    except ValueError as e:
        return [str(e)]
    trainer = {**SAE_TRAINER_DEFAULTS, **trainer}
    batch, total = trainer["batch_size"], trainer["training_samples"]
    return [f"{where}: training_samples ({total}) must be at least batch_size ({batch})"] if total < batch else []


def world_errors(where: str, world: dict[str, Any], saes: dict[str, dict[str, Any]], compare: dict[str, Any],
                 block: str) -> list[str]:
    """Everything that can be checked of one synthetic world with its SAEs under a compare block."""
    widths = model_widths(world)
    out = width_errors(where, widths, compare)
    for name, spec in saes.items():
        for w in sorted(set(widths.values())):
            out += sae_spec_errors(f"config saes.{name}" if block == "compare" else "config calibration.sae", spec, w)
    d_saes = [s.get("d_sae") or round(s.get("expansion_factor", 1) * min(widths.values())) for s in saes.values()]
    out += [f"{where}: {e}" for e in knn_errors(block, compare, compare["n_tokens"], min(d_saes))]
    return out


def lm_errors(config: dict[str, Any]) -> list[str]:
    """LM comparisons: their SAE specs against SAELens, widths of toy models against width-needing metrics,
    k-NN ``k`` against the held-out tokens, metric names of ``lm.compare``."""
    lm = config.get("lm") or {}
    if not lm.get("comparisons"):
        return []
    compare = with_defaults({**config.get("compare", {}), **lm.get("compare", {})})
    out = _metric_errors("lm.compare", compare)
    models = lm.get("models", {})
    for name, c in lm["comparisons"].items():
        widths = {m: models[m]["d_model"] for m in c["models"] if m in models and "d_model" in models[m]}
        out += width_errors(f"config lm.comparisons.{name}", widths, compare, ("decoder",))  # no ground truth
        for sae in c["saes"]:
            if sae in lm.get("saes", {}):
                for w in sorted(set(widths.values())) or [1]:
                    out += sae_spec_errors(f"config lm.saes.{sae}", lm["saes"][sae], w)
        knn = knn_errors("lm.compare", compare, compare["n_tokens"], None)  # dictionary sizes: known only to jobs
        out += [f"config lm.comparisons.{name}: {e}" for e in knn]
    return out


def _guarded(check: Callable[..., list[T]], *args: Any) -> list[T]:
    """``check(*args)``, or nothing when the config is too broken for it (a block missing or of the wrong type
    after a schema error: that error is already in the message)."""
    try:
        return check(*args)
    except Exception as e:  # noqa: BLE001 (skip what cannot be checked; never crash the check)
        log.debug("config check %s skipped: %s: %s", getattr(check, "__name__", check), type(e).__name__, e)
        return []


def _compare_problems(config: dict[str, Any]) -> list[str]:
    compare = with_defaults(config.get("compare", {}))
    cal_compare = {**compare, **config.get("calibration", {}).get("compare", {})}
    return _metric_errors("compare", compare) + _metric_errors("calibration.compare", cal_compare)


def _world_problems(config: dict[str, Any]) -> list[str]:
    compare = with_defaults(config.get("compare", {}))
    out = []
    for name, world in config.get("worlds", {}).items():
        out += _guarded(world_errors, f"config worlds.{name}", world, config["saes"], compare, "compare")
    return out


def _calibration_problems(config: dict[str, Any]) -> list[str]:
    compare = with_defaults(config.get("compare", {}))
    cal = config.get("calibration", {})
    if not (cal.get("world") and cal.get("sae") and cal.get("shared_fractions")):
        return []
    return world_errors("config calibration.world", cal["world"], {"calibration": cal["sae"]},
                        {**compare, **cal.get("compare", {})}, "calibration.compare")


def _width_problems(config: dict[str, Any]) -> list[str]:
    """The width blocks (``saegeom.widths.config``)."""
    from saegeom.widths.config import width_ladder_problems

    return width_ladder_problems(config)


def semantic_errors(config: dict[str, Any]) -> list[str]:
    """Problems a schema cannot see (defaults filled as the workflow does; see the module docstring). Each
    group of checks runs on its own, so one broken block never hides the problems of another."""
    checks = (_compare_problems, _world_problems, _calibration_problems, lm_errors, lm_config_problems,
              lm_model_problems, sae_value_problems, metric_option_problems, topology_problems,
              topology_world_problems, resource_problems, _width_problems, seed_ceiling_problems,
              families_problems, lm_tokenizer_problems)
    out = [p for check in checks for p in _guarded(check, config)]
    return list(dict.fromkeys(out))


def raise_problems(problems: list[str]) -> None:
    """Raise one :class:`ConfigError` listing ``problems`` (nothing when empty)."""
    if problems:
        raise ConfigError("config error — nothing was run:\n  " + "\n  ".join(problems))


def fill_defaults(config: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of ``config`` with the schema's defaults filled in where keys are missing (what Snakemake's
    ``validate(set_default=True)`` does), also on a config that breaks the schema elsewhere."""
    import jsonschema

    base = jsonschema.Draft202012Validator
    validate_properties = base.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for prop, sub in properties.items():
                if isinstance(sub, dict) and "default" in sub:
                    instance.setdefault(prop, copy.deepcopy(sub["default"]))
        yield from validate_properties(validator, properties, instance, schema)

    filled = copy.deepcopy(config)
    filler = jsonschema.validators.extend(base, {"properties": set_defaults})(schema)
    for _ in filler.iter_errors(filled):
        pass
    return filled


def check_config(config: dict[str, Any], schema: dict[str, Any],
                 config_files: Iterable[str | Path] = ()) -> None:
    """Every check before any job, in ONE :class:`ConfigError` listing all problems by config path:
    duplicate keys in ``config_files`` (the YAML files the config was read from, e.g. Snakemake's
    ``workflow.configfiles``), schema errors, non-finite numbers / non-string keys / bad names, and the
    semantic checks on the config with its defaults filled in (``config`` itself is not modified)."""
    problems = duplicate_key_problems(config_files)
    problems += schema_errors(config, schema)
    problems += _guarded(value_problems, config)
    filled = _guarded(lambda: [fill_defaults(config, schema)])
    problems += semantic_errors(filled[0] if filled else config)
    raise_problems(list(dict.fromkeys(problems)))


# ---- YAML files -----------------------------------------------------------------------------------------------
def duplicate_key_problems(paths: Iterable[str | Path]) -> list[str]:
    """Keys given twice in one mapping of a YAML file (YAML loaders keep the last silently), with file and line."""
    import yaml

    out: list[tuple[str, int, str]] = []

    class StrictLoader(yaml.SafeLoader):
        construct_mapping_original = yaml.SafeLoader.construct_mapping

    def construct_mapping(loader: StrictLoader, node: Any, deep: bool = False) -> Any:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=deep)
            line = key_node.start_mark.line + 1
            try:
                first = seen.setdefault(key, line)
            except TypeError:  # an unhashable key: YAML itself will refuse it
                continue
            if first != line:
                out.append((loader.name, line, f"{loader.name}:{line}: key {key!r} given twice (first on line "
                                                f"{first}); YAML keeps only the last — remove one"))
        return loader.construct_mapping_original(node, deep=deep)

    StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    for path in paths:
        try:
            text = Path(path).read_text()
        except OSError as e:
            out.append((str(path), 0, f"{path}: cannot read the config file ({e})"))
            continue
        loader = StrictLoader(text)
        loader.name = str(path)
        try:
            loader.get_single_data()
        except yaml.YAMLError:
            pass  # a syntax error: Snakemake's own loader has reported it
        finally:
            loader.dispose()
    return [msg for *_, msg in sorted(out, key=lambda t: t[:2])]


# ---- values: finite numbers, string keys, names ---------------------------------------------------------------
#: mappings whose keys become path components or wildcard values, by config path ("*" = every key)
NAME_MAPPINGS = (("worlds",), ("saes",), ("worlds", "*", "models"), ("calibration", "world", "models"),
                 ("lm", "models"), ("lm", "saes"), ("lm", "pretrained_saes"), ("lm", "pretrained_saes", "*"),
                 ("lm", "comparisons"), ("lm", "groups"), ("lm", "tokenizers"),
                 ("width_worlds",), ("width_worlds", "*", "models"), ("width_ladders",),
                 ("families", "worlds"), ("families", "worlds", "*", "models"))


def _at(config: Any, path: tuple[str, ...]) -> list[tuple[tuple[Any, ...], Any]]:
    """(concrete path, node) of every node matching ``path`` ("*" = every key of a mapping)."""
    nodes: list[tuple[tuple[Any, ...], Any]] = [((), config)]
    for part in path:
        nxt = []
        for where, node in nodes:
            if not isinstance(node, dict):
                continue
            keys = list(node) if part == "*" else [part] if part in node else []
            nxt += [((*where, k), node[k]) for k in keys]
        nodes = nxt
    return nodes


def value_problems(config: dict[str, Any]) -> list[str]:
    """Numbers that are NaN or ±Inf (every numeric key), keys that YAML read as non-strings (``1:``;
    ``on``/``off``/``yes``/``no`` → booleans), and names that are not valid path components
    (``settings.valid_name``: letters, digits, ``_ . -``, no ``..``, at most ``NAME_MAX_LENGTH`` characters,
    matched in full — a trailing newline is not allowed) — including the LM hooks."""
    out = []

    def walk(node: Any, path: tuple[Any, ...]) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if not isinstance(k, str):
                    hint = (" (YAML reads on/off/yes/no/true/false as booleans)" if isinstance(k, bool)
                            else " (YAML reads it as a number)" if isinstance(k, int | float) else "")
                    out.append(f"{_where(path)}: key {k!r} is a {type(k).__name__}, not a name{hint}; quote it "
                               f"(\"{k}\":)")
                walk(v, (*path, str(k)))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, (*path, i))
        elif isinstance(node, float) and not math.isfinite(node):
            out.append(f"{_where(path)}: {node} is not a finite number")

    walk(config, ())
    for pattern in NAME_MAPPINGS:
        for where, node in _at(config, pattern):
            if isinstance(node, dict):
                out += [_name_problem((*where, k), k) for k in node if isinstance(k, str) and not valid_name(k)]
    from saegeom.lm.hook_points import is_hook_pattern

    for where, spec in _at(config, ("lm", "models", "*")):
        hooks = spec.get("hook") if isinstance(spec, dict) else None
        for h in [hooks] if isinstance(hooks, str) else (hooks if isinstance(hooks, list) else []):
            if isinstance(h, str) and not is_hook_pattern(h) and not valid_name(h):
                out.append(_name_problem((*where, "hook"), h))
    return out


def _name_problem(path: tuple[Any, ...], name: str) -> str:
    why = (f"longer than {NAME_MAX_LENGTH} characters" if len(name) > NAME_MAX_LENGTH
           else "names use letters, digits, '_', '.', '-' only, start with a letter or digit, contain no '..' "
                "and no whitespace (a trailing newline included)")
    shown = name if len(name) <= 80 else name[:40] + "…" + name[-20:]
    return f"{_where(path)}: name {shown!r} is not allowed: {why}"


# ---- LM blocks ------------------------------------------------------------------------------------------------
def lm_config_problems(config: dict[str, Any]) -> list[str]:
    """Names of the ``lm`` block that the schema cannot check across blocks: comparisons reusing world names,
    comparison models/SAEs that do not exist, pretrained SAEs missing a model, names in both SAE blocks."""
    lm = config.get("lm") or {}
    comparisons, models = lm.get("comparisons") or {}, lm.get("models") or {}
    saes, pretrained = lm.get("saes") or {}, lm.get("pretrained_saes") or {}
    out = []
    clash = sorted(set(comparisons) & set(config.get("worlds") or {}), key=str)
    if clash:
        out.append(f"config lm.comparisons {clash} reuse world names; give them other names")
    for name, c in comparisons.items():
        unknown = [m for m in c.get("models", []) if m not in models]
        if unknown:
            out.append(f"config lm.comparisons.{name}.models: unknown models {unknown}; lm.models has "
                       f"{sorted(models, key=str)}")
        for s in c.get("saes", []):
            if s in pretrained:
                missing = [m for m in c.get("models", []) if m not in pretrained[s]]
                if missing:
                    out.append(f"config lm.pretrained_saes.{s} has no entry for models {missing} of comparison {name}")
            elif s not in saes:
                out.append(f"config lm.comparisons.{name}.saes: {s!r} is neither in lm.saes nor in lm.pretrained_saes")
    both = sorted(set(saes) & set(pretrained), key=str)
    if both:
        out.append(f"config: SAE names {both} are in both lm.saes and lm.pretrained_saes")
    return out + lm_training_problems(config)


def lm_training_problems(config: dict[str, Any]) -> list[str]:
    """``lm.training`` studies: a toy model of ``lm.models``, checkpoint steps inside its training, a hook it is
    cached at, SAEs of ``lm.saes``, and names no world or comparison uses."""
    from saegeom.lm.hook_points import expand_hooks, model_n_layers
    from saegeom.settings import LM_TOY_DEFAULTS

    lm = config.get("lm") or {}
    training, models = lm.get("training") or {}, lm.get("models") or {}
    out = []
    clash = sorted(set(training) & (set(config.get("worlds") or {}) | set(lm.get("comparisons") or {})), key=str)
    if clash:
        out.append(f"config lm.training {clash} reuse world or comparison names; give them other names")
    for name, t in training.items():
        where = f"config lm.training.{name}"
        spec = models.get(t.get("model"))
        if not isinstance(spec, dict) or spec.get("source") != "toy":
            toys = sorted(m for m, s in models.items() if isinstance(s, dict) and s.get("source") == "toy")
            out.append(f"{where}.model: {t.get('model')!r} is not a toy model of lm.models (only models trained "
                       f"here have checkpoints); toy models: {toys}")
            continue
        final = int({**LM_TOY_DEFAULTS, **spec}["steps"])
        bad = [s for s in t.get("steps", []) if not 0 < s < final]
        if bad:
            out.append(f"{where}.steps: {bad} are not inside the model's training (1 .. {final - 1}; the final "
                       f"model is step {final})")
        hooks = expand_hooks(spec["hook"], lambda spec=spec: model_n_layers(spec), f"lm.models.{t['model']}.hook")
        if t.get("hook") is not None and t["hook"] not in hooks:
            out.append(f"{where}.hook: {t['hook']!r} is not one of the model's hooks {hooks}")
        unknown = [s for s in t.get("saes", []) if s not in (lm.get("saes") or {})]
        if unknown:
            out.append(f"{where}.saes: {unknown} are not in lm.saes (checkpoint SAEs are trained here)")
    return out


def lm_tokenizer_problems(config: dict[str, Any]) -> list[str]:
    """Tokenizers across the ``lm`` block: a toy model's ``tokenizer`` must be in ``lm.tokenizers`` (``word``
    always is, and must stay word-level), ``seed_from`` must name another toy model, a byte-level BPE needs
    more than 259 tokens, and a comparison whose toy models are trained with different tokenizers needs an
    ``alignment`` block (pretrained and local models bring their own tokenizers: a mismatch among them is
    found when their caches are compared, with the same advice)."""
    lm = config.get("lm") or {}
    models, tokenizers = lm.get("models") or {}, lm.get("tokenizers") or {}
    out = []
    word = tokenizers.get("word")
    if isinstance(word, dict) and word.get("kind", "word") != "word":
        out.append(f"config lm.tokenizers.word: the name word is the corpus's word-level tokenizer; give the "
                   f"{word.get('kind')!r} tokenizer another name")
    for name, t in tokenizers.items():
        if isinstance(t, dict) and t.get("kind") == "byte_bpe" and isinstance(t.get("vocab_size"), int) \
                and t["vocab_size"] <= 259:
            out.append(f"config lm.tokenizers.{name}.vocab_size: a byte_bpe tokenizer needs more than 259 tokens "
                       f"(256 bytes and 3 special tokens come first), got {t['vocab_size']}")
    toys = {m for m, s in models.items() if isinstance(s, dict) and s.get("source") == "toy"}
    for m, spec in models.items():
        if not isinstance(spec, dict):
            continue
        tok = spec.get("tokenizer")
        if tok is not None and tok != "word" and tok not in tokenizers:
            out.append(f"config lm.models.{m}.tokenizer: {tok!r} is not in lm.tokenizers ({sorted(tokenizers)})")
        if tok is not None and spec.get("source") != "toy":
            out.append(f"config lm.models.{m}.tokenizer: only toy models are trained with a tokenizer of "
                       f"lm.tokenizers; a {spec.get('source')} model brings its own")
        src = spec.get("seed_from")
        if src is not None and (src == m or src not in toys or "seed_from" in models[src] or "seed" in spec):
            out.append(f"config lm.models.{m}.seed_from: {src!r} must be another toy model without seed_from, and "
                       f"the model must not set seed as well")
    for name, c in (lm.get("comparisons") or {}).items():
        if not isinstance(c, dict) or c.get("alignment") is not None:
            continue
        used = {m: models[m].get("tokenizer", "word") for m in c.get("models", []) if m in toys}
        if len(set(used.values())) > 1:
            out.append(f"config lm.comparisons.{name}: its toy models use different tokenizers ({used}), so their "
                       f"tokens are not the same rows; add an alignment block (alignment: {{units: words, "
                       f"aggregation: last}}) to compare them on units of text both tokenizers agree on")
    return out


def lm_model_problems(config: dict[str, Any]) -> list[str]:
    """Each LM's hook against the model's hook points (``saegeom.lm.hook_points``, no weights loaded),
    pretrained names, local model directories and local pretrained-SAE folders that do not exist."""
    lm = config.get("lm") or {}
    out = []
    for name, spec in (lm.get("models") or {}).items():
        if isinstance(spec, dict):
            from saegeom.lm.hook_points import hook_problems

            out += _guarded(hook_problems, f"config lm.models.{name}", spec)
    for sae, by_model in (lm.get("pretrained_saes") or {}).items():
        for model, source in (by_model or {}).items():
            if isinstance(source, dict) and isinstance(source.get("path"), str):
                path = Path(source["path"])
                if not (path / "cfg.json").is_file() or not (path / "sae_weights.safetensors").is_file():
                    out.append(f"config lm.pretrained_saes.{sae}.{model}.path: {str(path)!r} is not a saved SAELens "
                               f"SAE folder (cfg.json and sae_weights.safetensors)")
    return out


# ---- SAE spec values ------------------------------------------------------------------------------------------
def _sae_specs(config: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    specs = [(f"config saes.{n}", s) for n, s in (config.get("saes") or {}).items()]
    specs += [(f"config lm.saes.{n}", s) for n, s in ((config.get("lm") or {}).get("saes") or {}).items()]
    cal = config.get("calibration") or {}
    if isinstance(cal.get("sae"), dict):
        specs.append(("config calibration.sae", cal["sae"]))
    return [(w, s) for w, s in specs if isinstance(s, dict)]


def sae_value_problems(config: dict[str, Any]) -> list[str]:
    """SAE spec values against SAELens' own config types (``saegeom.sae.spec.value_problems``)."""
    from saegeom.sae.spec import value_problems as spec_value_problems

    out = []
    for where, spec in _sae_specs(config):
        d_sae = spec.get("d_sae") if isinstance(spec.get("d_sae"), int) else None
        out += _guarded(spec_value_problems, spec, d_sae, where)
    return out


# ---- metric options -------------------------------------------------------------------------------------------
#: rows of the random data a metric's options are tried on (more when k needs it)
DRY_RUN_ROWS = 24


def _option_blocks(config: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    compare = config.get("compare") or {}
    blocks = [("compare", with_defaults(compare)["metric_options"])]
    for block, sub in (("calibration.compare", (config.get("calibration") or {}).get("compare") or {}),
                       ("lm.compare", (config.get("lm") or {}).get("compare") or {})):
        if "metric_options" in sub:
            blocks.append((block, sub["metric_options"]))
    return blocks


def metric_option_problems(config: dict[str, Any]) -> list[str]:
    """Option values a metric rejects: ``k`` must be a positive integer, and every metric is tried once with
    its options on a few random rows (after a run with its defaults succeeded), so a value such as
    ``rsa: {inner: cosin}`` is named here with the metric's own error instead of after hours of jobs."""
    import numpy as np

    from saegeom.metrics.registry import load_builtin_metrics

    known = load_builtin_metrics()
    out = []
    for block, options in _option_blocks(config):
        for metric, opts in (options or {}).items():
            if metric not in known or not isinstance(opts, dict):
                continue
            params = inspect.signature(known[metric].fn).parameters
            if set(opts) - set(params):
                continue  # unknown option names: reported by _metric_errors
            k = opts.get(KNN_OPTION)
            if KNN_OPTION in opts and (not isinstance(k, int) or isinstance(k, bool) or k < 1):
                out.append(f"config {block}.metric_options.{metric}.k = {k!r} must be a positive integer")
                continue
            n = max(DRY_RUN_ROWS, (k or 0) + 4)
            rng = np.random.default_rng(0)
            x, y = rng.normal(size=(n, 6)), rng.normal(size=(n, 6))
            try:
                known[metric](x, y)
            except Exception:  # noqa: BLE001 (the metric cannot run on toy data at all: nothing to learn)
                continue
            try:
                known[metric](x, y, **opts)
            except Exception as e:  # noqa: BLE001
                out.append(f"config {block}.metric_options.{metric} = {opts}: rejected by {metric}: "
                           f"{type(e).__name__}: {e}")
    return out


# ---- topology -------------------------------------------------------------------------------------------------
def topology_world_problems(config: dict[str, Any]) -> list[str]:
    """``topology.worlds`` names known studies; ``ground_truth`` is reserved for true-feature clouds."""
    out = []
    if "ground_truth" in (config.get("saes") or {}):
        out.append("config saes: 'ground_truth' is reserved for true-feature clouds; rename that SAE")
    chosen = (config.get("topology") or {}).get("worlds")
    known = [*(config.get("worlds") or {}), *((config.get("lm") or {}).get("comparisons") or {})]
    unknown = [w for w in chosen or [] if w not in known]
    if unknown:
        out.append(f"config topology.worlds: unknown worlds or LM comparisons {unknown}; have {known}")
    return out


def topology_problems(config: dict[str, Any]) -> list[str]:
    """Mapper lens names: ``pca``/``l2norm``/``umap``, ``column:<name>`` or an importable
    ``module.path:function``."""
    import importlib.util

    from saegeom.settings import TOPOLOGY_LENSES

    lens = ((config.get("topology") or {}).get("mapper") or {}).get("lens", "pca")
    where = "config topology.mapper.lens"
    if not isinstance(lens, str) or lens in TOPOLOGY_LENSES:
        return []
    if lens.startswith("column:"):
        return [] if lens.split(":", 1)[1] else [f"{where}: 'column:' needs a column name"]
    if ":" in lens:
        module, _, fn = lens.partition(":")
        try:
            found = bool(module) and bool(fn) and importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        return [] if found else [f"{where}: {lens!r}: module {module!r} cannot be imported (custom lenses are "
                                 f"'module.path:function')"]
    return [f"{where}: unknown lens {lens!r}; expected one of {list(TOPOLOGY_LENSES)}, column:<name> or "
            f"module.path:function"]


# ---- resources ------------------------------------------------------------------------------------------------
GIB = 2 ** 30


def _world_sizes(world: dict[str, Any]) -> tuple[int, int, dict[str, int]]:
    """(G features, h, {model: width}) of a world block."""
    per = int(world["n_features_per_model"])
    widths = model_widths(world)
    if world.get("sharing") is not None:
        from math import comb

        from saegeom.synthetic.world import nested_counts

        n_all, n_pair, n_private = nested_counts(world)
        return n_all + comb(len(widths), 2) * n_pair + len(widths) * n_private, int(world["d_world"]), widths
    shared = int(round(float(world.get("shared_fraction", 0.5)) * per))
    return shared + len(widths) * (per - shared), int(world["d_world"]), widths


def _sae_width(spec: dict[str, Any], d_in: int) -> int:
    return int(spec["d_sae"]) if "d_sae" in spec else int(round(float(spec.get("expansion_factor", 1)) * d_in))


def resource_estimates(config: dict[str, Any]) -> list[tuple[str, str, float, float]]:
    """(config path, stage, peak memory in bytes, disk in bytes) of every stage whose size the config fixes
    (``config`` with its defaults filled in: :func:`fill_defaults`).

    Rough upper estimates from the sizes alone: a world's features (G × h float64) and, with correlated firing,
    its G × G correlation factor; a shard set's rows on disk (n_samples × width float32 per model) and one shard
    in memory; an SAE's weights with gradients and Adam's two moments (4 × 2 × d_sae × d_in float32) plus a
    batch of latents, and its folder and checkpoint on disk; a pairing's co-activation statistics
    (≈ 4 × d_A × d_B float64). LM activation caches depend on the tokenised corpus and are not estimated."""
    out: list[tuple[str, str, float, float]] = []
    saes = config.get("saes") or {}
    worlds = [(f"config worlds.{n}", w, saes, 1) for n, w in (config.get("worlds") or {}).items()]
    fam = config.get("families") or {}
    worlds += [(f"config families.worlds.{n}", w, fam.get("saes") or {}, 1)
               for n, w in (fam.get("worlds") or {}).items()]
    cal = config.get("calibration") or {}
    if isinstance(cal.get("world"), dict) and cal.get("shared_fractions"):
        n_cal = len(cal["shared_fractions"]) * len(cal.get("seeds", [0]))
        worlds.append(("config calibration.world", cal["world"], {"calibration": cal.get("sae") or {}}, n_cal))
    for where, world, specs, copies in worlds:
        g, h, widths = _world_sizes(world)
        n, rows = int(world["n_samples"]), int(world["shard_rows"])
        corr = ((world.get("firing") or {}).get("correlation") or {}).get("enabled", False) if isinstance(
            (world.get("firing") or {}).get("correlation"), dict) else False
        corr_bytes = 2 * 8 * g * g if corr else 0
        out.append((where, "world (features G × h)", 8 * g * h * 2 + corr_bytes, copies * 8 * g * h))
        out.append((where, "activation shards", 4 * rows * (g + sum(widths.values())) * 2 + corr_bytes,
                    copies * 4 * n * sum(widths.values())))
        for sae, spec in specs.items():
            batch = int({**SAE_TRAINER_DEFAULTS, **spec}["batch_size"])
            d_saes = {m: _sae_width(spec, d) for m, d in widths.items()}
            for m, d in widths.items():
                params = 2 * d_saes[m] * d
                out.append((f"{where} × saes.{sae}" if sae != "calibration" else "config calibration.sae",
                            f"SAE training ({d_saes[m]} × {d} on model {m})",
                            4 * (4 * params + 4 * batch * d_saes[m]), copies * 4 * params * 4))
            ms = sorted(widths)
            for i, a in enumerate(ms):
                for b in ms[i + 1:]:
                    out.append((f"{where} × saes.{sae}", f"pairing {a}~{b} ({d_saes[a]} × {d_saes[b]} co-activations)",
                                4 * 8 * d_saes[a] * d_saes[b], 0))
    lm = config.get("lm") or {}
    for name, spec in (lm.get("saes") or {}).items():
        for model, m in (lm.get("models") or {}).items():
            if isinstance(m, dict) and isinstance(m.get("d_model"), int):
                d, batch = m["d_model"], int({**SAE_TRAINER_DEFAULTS, **spec}["batch_size"])
                params = 2 * _sae_width(spec, d) * d
                out.append((f"config lm.saes.{name}", f"SAE training on {model} ({_sae_width(spec, d)} × {d})",
                            4 * (4 * params + 4 * batch * _sae_width(spec, d)), 4 * params * 4))
    return out


def resource_problems(config: dict[str, Any]) -> list[str]:
    """Stages whose estimated peak memory exceeds ``limits.memory_gb``, and a run whose estimated disk use
    exceeds ``limits.disk_gb`` (:func:`resource_estimates`); each message says how to raise the limit."""
    limits = {**LIMIT_DEFAULTS, **(config.get("limits") or {})}
    est = resource_estimates(config)
    out = []
    for where, stage, mem, _ in est:
        if mem > limits["memory_gb"] * GIB:
            out.append(f"{where}: {stage} needs about {mem / GIB:,.1f} GiB of memory, above limits.memory_gb = "
                       f"{limits['memory_gb']:g}; make it smaller, or raise the limit if the machine has it "
                       f"(limits: {{memory_gb: {int(mem / GIB) + 1}}})")
    disk = sum(d for *_, d in est)
    if disk > limits["disk_gb"] * GIB:
        top = sorted(est, key=lambda e: -e[3])[:3]
        parts = ", ".join(f"{w} {s}: {d / GIB:,.1f} GiB" for w, s, _, d in top)
        out.append(f"config: the run writes about {disk / GIB:,.1f} GiB, above limits.disk_gb = {limits['disk_gb']:g} "
                   f"(largest: {parts}); make it smaller, or raise the limit if the disk has room "
                   f"(limits: {{disk_gb: {int(disk / GIB) + 1}}})")
    return out


# ---- seed ceiling and feature families ------------------------------------------------------------------------
def seed_ceiling_problems(config: dict[str, Any]) -> list[str]:
    """``seed_ceiling``: known SAE names and studies; replicate names (``<model>_s1``) that are no model's."""
    from saegeom.vocabulary import REPLICATE_SUFFIX

    sc = config.get("seed_ceiling") or {}
    lm = config.get("lm") or {}
    saes = set(config.get("saes") or {}) | set(lm.get("saes") or {})
    pretrained = set(lm.get("pretrained_saes") or {})
    out = [f"config seed_ceiling.saes: {s!r} is a pretrained SAE; only trained SAEs have a seed to change"
           if s in pretrained else f"config seed_ceiling.saes: unknown SAE {s!r}; known {sorted(saes)}"
           for s in sc.get("saes") or [] if s not in saes]
    studies = {**{w: list(b.get("models", {})) for w, b in (config.get("worlds") or {}).items()},
               **{c: list(b.get("models", [])) for c, b in (lm.get("comparisons") or {}).items()}}
    chosen = sc.get("studies")
    out += [f"config seed_ceiling.studies: unknown study {s!r}; known {sorted(studies)}"
            for s in chosen or [] if s not in studies]
    all_models = {m for ms in studies.values() for m in ms} | set(lm.get("models") or {})
    for study in chosen if chosen is not None else studies:
        for m in studies.get(study, []):
            if m + REPLICATE_SUFFIX in all_models:
                out.append(f"config seed_ceiling: the seed replicate of model {m!r} of {study!r} would be named "
                           f"{m + REPLICATE_SUFFIX!r}, which is already a model; rename that model")
    return out


def families_problems(config: dict[str, Any]) -> list[str]:
    """``families``: world names free, nested sharing within n_features_per_model, SAE specs given, studies
    known with at least two models, the pairing configured."""
    from saegeom.synthetic.world import nested_counts

    fam = config.get("families") or {}
    worlds, lm = config.get("worlds") or {}, config.get("lm") or {}
    out = []
    compare = with_defaults(config.get("compare", {}))
    pairing = fam.get("pairing", "one_to_one")
    for name, world in (fam.get("worlds") or {}).items():
        where = f"config families.worlds.{name}"
        if name in worlds:
            out.append(f"{where}: the name is already a world of `worlds`")
        if len(world.get("models", {})) < 2:
            out.append(f"{where}: families need at least two models")
        if world.get("sharing") is not None:
            try:
                nested_counts(world)
            except ValueError as e:
                out.append(f"{where}: {e}")
        if not fam.get("saes"):
            out.append(f"{where}: families.saes is empty; give the SAE specs the families worlds train")
        else:
            out += _guarded(world_errors, where, world, fam["saes"], compare, "compare")
        if pairing not in compare["pairings"]:
            out.append(f"config families.pairing: {pairing!r} is not in compare.pairings {compare['pairings']}")
    comparisons = lm.get("comparisons") or {}
    for study in fam.get("studies") or []:
        if study in worlds:
            n, pairings = len(worlds[study].get("models", {})), compare["pairings"]
        elif study in comparisons:
            n = len(comparisons[study].get("models", []))
            pairings = with_defaults({**config.get("compare", {}), **lm.get("compare", {})})["pairings"]
        else:
            out.append(f"config families.studies: unknown study {study!r}; known {sorted([*worlds, *comparisons])}")
            continue
        if n < 2:
            out.append(f"config families.studies: {study!r} has {n} model(s); families need at least two")
        if pairing not in pairings:
            out.append(f"config families.pairing: {pairing!r} is not among the pairings {pairings} of {study!r}")
    return out
