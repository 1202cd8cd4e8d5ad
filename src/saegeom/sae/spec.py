"""SAE specs: which keys go to SAELens' architecture config and which to the trainer; checked by name.

An SAE spec is a config block like::

    architecture: topk          # any SAELens training architecture: standard, topk, batchtopk, jumprelu, ...
    d_sae: 256                  # or expansion_factor: 4
    k: 8                        # architecture options are SAELens config fields
    lr: 3.0e-4                  # trainer options: lr, training_samples, batch_size, lr_warm_up_steps,
    training_samples: 400000    #   lr_decay_steps, lr_scheduler, lr_end, dead_feature_window

Training keys go to ``SAETrainerConfig``; every other key must be a field of the architecture's
SAELens config class, otherwise the spec is rejected by name. The architectures and their fields are
read from SAELens once per installed version and cached as JSON (importing SAELens takes seconds; the
workflow checks every spec when the DAG is built, before any job).
"""

from __future__ import annotations

import dataclasses
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import Any

from saegeom.settings import SAE_TRAINER_DEFAULTS
from saegeom.utils import read_json_cache, user_cache_file, write_json_cache

TRAINER_KEYS = {*SAE_TRAINER_DEFAULTS, "lr_end"}
SPEC_ONLY_KEYS = {"architecture", "expansion_factor"}
#: SAELens config fields a spec may not set (saegeom sets them)
RESERVED_FIELDS = {"d_in", "device", "metadata"}


def sae_registry():
    """SAELens' training registry {architecture: (TrainingSAE class, config class)} (imports SAELens)."""
    import sae_lens  # noqa: F401  (registers the architectures)
    from sae_lens.registry import SAE_TRAINING_CLASS_REGISTRY

    return SAE_TRAINING_CLASS_REGISTRY


def _cache_file(kind: str) -> Path:
    return user_cache_file(f"sae_lens-{version('sae-lens')}-{kind}.json")


@cache
def architecture_fields() -> dict[str, list[str]]:
    """{architecture: its SAELens config fields}, from the JSON cache of this SAELens version when present."""
    file = _cache_file("fields")
    cached = read_json_cache(file)
    if cached is not None:
        return cached
    fields = {arch: sorted(f.name for f in dataclasses.fields(cfg)) for arch, (_, cfg) in sae_registry().items()}
    return write_json_cache(file, fields)


def split_spec(spec: dict[str, Any], d_in: int, where: str = "SAE spec") -> tuple[str, dict[str, Any], dict[str, Any]]:
    """(architecture, SAE config kwargs, trainer kwargs) of a spec; unknown names raise ``ValueError``
    naming ``where``, the key and the allowed names."""
    known = architecture_fields()
    arch = spec.get("architecture", "standard")
    if arch not in known:
        raise ValueError(f"{where}.architecture: unknown SAE architecture {arch!r}; SAELens has {sorted(known)}")
    fields = set(known[arch]) - RESERVED_FIELDS
    sae_kw: dict[str, Any] = {"d_in": d_in}
    trainer_kw: dict[str, Any] = {}
    for key, val in spec.items():
        if key in TRAINER_KEYS:
            trainer_kw[key] = val
        elif key in SPEC_ONLY_KEYS:
            continue
        elif key in fields:
            sae_kw[key] = val
        else:
            raise ValueError(f"{where}: key {key!r} is neither a trainer option {sorted(TRAINER_KEYS)} nor a field "
                             f"of SAELens' {arch!r} config {sorted(fields)}")
    if "d_sae" not in sae_kw:
        if "expansion_factor" not in spec:
            raise ValueError(f"{where}: needs d_sae or expansion_factor")
        sae_kw["d_sae"] = int(round(spec["expansion_factor"] * d_in))
    if "k" in sae_kw and sae_kw["k"] > sae_kw["d_sae"]:
        raise ValueError(f"{where}: k ({sae_kw['k']}) must be at most d_sae ({sae_kw['d_sae']})")
    return arch, sae_kw, trainer_kw


def _describe_type(hint: Any) -> dict[str, Any]:
    """JSON description of a SAELens config field annotation: the base types a value may have and, for
    ``Literal`` options, the allowed values."""
    import typing

    types: set[str] = set()
    choices: list[Any] = []
    for arg in typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, getattr(__import__("types"),
                                                                     "UnionType", None)) else (hint,):
        origin = typing.get_origin(arg)
        if origin is typing.Literal:
            choices += list(typing.get_args(arg))
            types |= {type(c).__name__ for c in typing.get_args(arg)}
        elif arg is type(None):
            types.add("NoneType")
        elif origin in (list, tuple) or arg in (list, tuple):
            types.add("list")
        elif isinstance(arg, type):
            types.add(arg.__name__)
        else:
            types.add("any")
    return {"types": sorted(types), **({"choices": choices} if choices else {})}


def _sae_lens_value_rules() -> dict[str, Any]:
    """What SAELens accepts as values (imports SAELens): per architecture {field: type description}, the
    ``dtype`` names of ``sae_lens.util.DTYPE_MAP`` and the learning-rate schedulers of
    ``sae_lens.training.optim`` (the names its scheduler factory compares against)."""
    import inspect
    import re
    import typing

    from sae_lens.training import optim
    from sae_lens.util import DTYPE_MAP

    fields = {}
    for arch, (_, cfg) in sae_registry().items():
        hints = typing.get_type_hints(cfg)
        fields[arch] = {f.name: _describe_type(hints.get(f.name, Any)) for f in dataclasses.fields(cfg)}
    schedulers = re.findall(r'scheduler_name == "([a-z_]+)"', inspect.getsource(optim._get_main_lr_scheduler))
    return {"fields": fields, "dtypes": sorted(DTYPE_MAP), "lr_schedulers": schedulers}


@cache
def value_rules() -> dict[str, Any]:
    """:func:`_sae_lens_value_rules`, cached as JSON per SAELens version (so the DAG check does not import it)."""
    file = _cache_file("values")
    cached = read_json_cache(file)
    if cached is not None:
        return cached
    return write_json_cache(file, _sae_lens_value_rules())


_PY_TYPES = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,), "list": (list, tuple),
             "NoneType": (type(None),)}


def value_problems(spec: dict[str, Any], d_sae: int | None, where: str) -> list[str]:
    """Values of an SAE spec that SAELens would reject or misread: a value of the wrong type or outside a
    ``Literal`` field's options, a ``dtype`` SAELens does not know, an ``lr_scheduler`` its factory does not
    build, and (``matryoshka_widths``) widths that are not positive and strictly increasing up to ``d_sae``
    (SAELens' rules for them; it would otherwise append ``d_sae`` with only a warning)."""
    rules = value_rules()
    arch = spec.get("architecture", "standard")
    fields = rules["fields"].get(arch, {})
    out = []
    for key, val in spec.items():
        rule = fields.get(key)
        if rule is None or key in RESERVED_FIELDS:
            continue
        if "choices" in rule and val not in rule["choices"] and not (val is None and "NoneType" in rule["types"]):
            out.append(f"{where}.{key}: {val!r} is not allowed; SAELens accepts {rule['choices']}")
            continue
        allowed = tuple(t for name in rule["types"] for t in _PY_TYPES.get(name, (object,)))
        if isinstance(val, bool) and "bool" not in rule["types"] and "any" not in rule["types"]:
            allowed = ()
        if allowed and not isinstance(val, allowed):
            out.append(f"{where}.{key}: {val!r} ({type(val).__name__}) is not a {' or '.join(rule['types'])}, "
                       f"the type of SAELens' {arch!r} field {key}")
    if "dtype" in spec and spec["dtype"] not in rules["dtypes"]:
        out.append(f"{where}.dtype: {spec['dtype']!r} is not allowed; SAELens accepts {rules['dtypes']}")
    if "lr_scheduler" in spec and spec["lr_scheduler"] not in rules["lr_schedulers"]:
        out.append(f"{where}.lr_scheduler: {spec['lr_scheduler']!r} is not allowed; SAELens accepts "
                   f"{rules['lr_schedulers']}")
    widths = spec.get("matryoshka_widths")
    if widths is not None and "matryoshka_widths" in fields:
        ok = isinstance(widths, list) and widths and all(isinstance(w, int) and not isinstance(w, bool) and w > 0
                                                         for w in widths)
        if not ok:
            out.append(f"{where}.matryoshka_widths: {widths!r} must be a non-empty list of positive integers")
        elif (any(b <= a for a, b in zip(widths, widths[1:], strict=False))
              or (d_sae is not None and widths[-1] > d_sae)):
            out.append(f"{where}.matryoshka_widths: {widths} must increase strictly up to d_sae ({d_sae})")
    return out
