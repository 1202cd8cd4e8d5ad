"""Config checks run when the workflow's DAG is built, so a mistake stops the run in seconds, before any job.

Two layers: :func:`schema_errors` validates against ``workflow/schemas/config.schema.yaml`` and explains each
violation by its config path with the allowed keys or values; :func:`semantic_errors` checks what a schema
cannot (metric names and their options, SAE specs against SAELens, equal widths where a metric needs them,
k-NN ``k`` against the number of points). :func:`check_config` raises one :class:`ConfigError` listing all.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import Any

from saegeom.settings import DEFAULT_ON_WIDTH_MISMATCH, SAE_TRAINER_DEFAULTS, CompareSettings, PairingSettings

#: metrics whose option ``k`` counts neighbours among the items
KNN_OPTION = "k"


class ConfigError(ValueError):
    """The config cannot run; the message lists every problem by its config path."""


def _where(path: Iterable[Any]) -> str:
    return "config" + "".join(f".{p}" if isinstance(p, str) else f"[{p}]" for p in path)


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
        return f"{where}: unknown key(s) {sorted(set(e.instance) - set(allowed))}; allowed keys: {allowed}"
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
        if rep != "activations" and max_pairs is None:
            continue
        n_points = n_tokens if rep == "activations" else max_pairs
        what = f"compare.n_tokens = {n_tokens} tokens" if rep == "activations" else f"at most {max_pairs} pairs"
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
    if out:
        return out
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


def semantic_errors(config: dict[str, Any]) -> list[str]:
    """Problems a schema cannot see (``config`` already schema-valid, defaults filled)."""
    compare = with_defaults(config.get("compare", {}))
    cal = config.get("calibration", {})
    cal_compare = {**compare, **cal.get("compare", {})}
    out = _metric_errors("compare", compare) + _metric_errors("calibration.compare", cal_compare)
    if out:
        return out  # the checks below look metrics up
    for name, world in config.get("worlds", {}).items():
        out += world_errors(f"config worlds.{name}", world, config["saes"], compare, "compare")
    if cal.get("world") and cal.get("sae") and cal.get("shared_fractions"):
        out += world_errors("config calibration.world", cal["world"], {"calibration": cal["sae"]}, cal_compare,
                            "calibration.compare")
    out += lm_errors(config)
    return list(dict.fromkeys(out))


def raise_problems(problems: list[str]) -> None:
    """Raise one :class:`ConfigError` listing ``problems`` (nothing when empty)."""
    if problems:
        raise ConfigError("config error — nothing was run:\n  " + "\n  ".join(problems))


def check_config(config: dict[str, Any], schema: dict[str, Any]) -> None:
    """Schema, then semantic checks of a config whose defaults are already filled (as the workflow does:
    schema errors → Snakemake's ``validate(set_default=True)`` → :func:`semantic_errors`)."""
    raise_problems(schema_errors(config, schema))
    raise_problems(semantic_errors(config) + workflow_errors(config))


def lm_name_errors(config: dict[str, Any]) -> list[str]:
    """Names the schema cannot check across blocks: LM comparisons against worlds, models and SAEs."""
    lm = config.get("lm") or {}
    comparisons, models = lm.get("comparisons", {}), lm.get("models", {})
    saes, pretrained = lm.get("saes", {}), lm.get("pretrained_saes", {})
    out = []
    clash = sorted(set(comparisons) & set(config.get("worlds", {})))
    if clash:
        out.append(f"config lm.comparisons {clash} reuse world names; give them other names")
    for name, c in comparisons.items():
        unknown = [m for m in c["models"] if m not in models]
        if unknown:
            out.append(f"config lm.comparisons.{name}.models: unknown models {unknown}; lm.models has {sorted(models)}")
        for s in c["saes"]:
            if s in pretrained:
                missing = [m for m in c["models"] if m not in pretrained[s]]
                if missing:
                    out.append(f"config lm.pretrained_saes.{s} has no entry for models {missing} of comparison {name}")
            elif s not in saes:
                out.append(f"config lm.comparisons.{name}.saes: {s!r} is neither in lm.saes nor in lm.pretrained_saes")
    both = sorted(set(saes) & set(pretrained))
    if both:
        out.append(f"config: SAE names {both} are in both lm.saes and lm.pretrained_saes")
    return out


def topology_errors(config: dict[str, Any]) -> list[str]:
    """``topology.worlds`` names known studies; ``ground_truth`` is reserved for true-feature clouds."""
    out = []
    if "ground_truth" in config.get("saes", {}):
        out.append("config saes: 'ground_truth' is reserved for true-feature clouds; rename that SAE")
    chosen = (config.get("topology") or {}).get("worlds")
    known = [*config.get("worlds", {}), *(config.get("lm") or {}).get("comparisons", {})]
    unknown = [w for w in chosen or [] if w not in known]
    if unknown:
        out.append(f"config topology.worlds: unknown worlds or LM comparisons {unknown}; have {known}")
    return out


def workflow_errors(config: dict[str, Any]) -> list[str]:
    """Cross-block names of the workflow (LM comparisons, topology) that the schema cannot check."""
    return lm_name_errors(config) + topology_errors(config)
