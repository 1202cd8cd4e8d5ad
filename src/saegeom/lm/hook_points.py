"""Hook points of a language model from its config alone (no weights), so a hook the model does not have is
named before any job.

Toy models: the ``HookedTransformer`` their spec describes is built on the meta device (no memory) and its
``hook_dict`` read. Pretrained models are known by TransformerLens' list of official names; their hooks are
checked against the hook names of a standard transformer block (their layer count needs the hub). Local models:
the layer count is read from the directory's Hugging Face ``config.json``. What TransformerLens says is cached as
JSON per TransformerLens version (``~/.cache/saegeom``), so the workflow's config check imports it only once.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import Any

from saegeom.utils import config_hash, read_json_cache, user_cache_file, write_json_cache

BLOCK = re.compile(r"blocks\.(\d+)\.(.+)")
#: Hugging Face config keys that hold the number of layers
HF_LAYER_KEYS = ("num_hidden_layers", "n_layer", "num_layers", "n_layers")


def _cache_file() -> Path:
    return user_cache_file(f"transformer_lens-{version('transformer-lens')}-hooks.json")


def _read_cache() -> dict[str, Any]:
    return read_json_cache(_cache_file()) or {}


def _write_cache(key: str, value: Any) -> Any:
    write_json_cache(_cache_file(), {**_read_cache(), key: value})
    return value


def toy_hook_names(spec: dict[str, Any]) -> list[str]:
    """Every hook point of the toy model ``spec`` describes (built on the meta device); raises ``ValueError``
    when TransformerLens cannot build it."""
    from saegeom.settings import LM_SPEC_KEYS, TOY_TRAIN_KEYS

    arch = {k: v for k, v in spec.items() if k not in (*TOY_TRAIN_KEYS, *LM_SPEC_KEYS)}
    key = "toy:" + config_hash(arch)
    cached = _read_cache().get(key)
    if cached is not None:
        return cached
    import warnings

    from transformer_lens import HookedTransformer

    from saegeom.lm.models import toy_config

    cfg = toy_config(arch, d_vocab=8, seed=0)
    cfg.device = "meta"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        names = sorted(HookedTransformer(cfg).hook_dict)
    return _write_cache(key, names)


@cache
def standard_block_hooks() -> tuple[list[str], list[str]]:
    """(hook names outside blocks, hook-name suffixes inside ``blocks.<i>.``) of a standard LayerNorm
    transformer, the shape of every pretrained model TransformerLens loads (some add more)."""
    names = toy_hook_names({"n_layers": 1, "d_model": 8, "n_heads": 2, "d_mlp": 16})
    return ([n for n in names if not BLOCK.fullmatch(n)],
            sorted({m.group(2) for n in names if (m := BLOCK.fullmatch(n))}))


def official_model_names() -> dict[str, str]:
    """{name or alias: official name} of TransformerLens' pretrained models (no network)."""
    cached = _read_cache().get("official")
    if cached is not None:
        return cached
    from transformer_lens import loading_from_pretrained as loading

    names = {n: n for n in loading.OFFICIAL_MODEL_NAMES}
    for official, aliases in loading.MODEL_ALIASES.items():
        names.update({a: official for a in aliases})
    return _write_cache("official", names)


def local_n_layers(path: str | Path) -> int | None:
    """Number of layers a local Hugging Face model directory's ``config.json`` states (None when it states none)."""
    cfg = json.loads((Path(path) / "config.json").read_text())
    for key in HF_LAYER_KEYS:
        if isinstance(cfg.get(key), int):
            return cfg[key]
    return None


#: ``hook: all`` caches this hook of every block
ALL_HOOKS, DEFAULT_BLOCK_HOOK = "all", "hook_resid_post"


def hook_layer(hook: str) -> int | None:
    """The block index of a hook point (``blocks.<i>.…``), None for hooks outside the blocks."""
    m = BLOCK.fullmatch(hook)
    return int(m.group(1)) if m else None


def is_hook_pattern(hook: str) -> bool:
    """``all`` or ``blocks.*.<hook>``: a hook entry that needs the model's layer count."""
    return hook == ALL_HOOKS or hook.startswith("blocks.*.")


def model_n_layers(spec: dict[str, Any]) -> int | None:
    """A model spec's layer count without loading weights: toy ``n_layers``, a local directory's config.json, or
    a pretrained spec's ``n_layers`` (a pretrained model's count needs the hub, so such a spec states it)."""
    if spec.get("source") == "local" and isinstance(spec.get("path"), str):
        try:
            return local_n_layers(spec["path"])
        except (OSError, ValueError):
            return None
    n = spec.get("n_layers")
    return int(n) if isinstance(n, int) else None


def expand_hooks(hook: str | list[str], n_layers, where: str = "hook") -> list[str]:
    """The hook points of a ``hook`` entry, in layer order (hooks outside the blocks first, in the given order):
    a name, a list of names, ``all`` (every block's ``hook_resid_post``) or ``blocks.*.<hook>`` (that hook of every
    block). ``n_layers``: a callable returning the model's layer count (called only for patterns; None: unknown,
    a ValueError naming ``where``). Duplicates are an error."""
    entries = [hook] if isinstance(hook, str) else list(hook)
    out: list[str] = []
    for h in entries:
        if not is_hook_pattern(h):
            out.append(h)
            continue
        n = n_layers()
        if n is None:
            raise ValueError(f"{where}: {h!r} needs the model's layer count; give n_layers in the model's spec "
                             f"(pretrained models) or list the hooks")
        suffix = DEFAULT_BLOCK_HOOK if h == ALL_HOOKS else h[len("blocks.*."):]
        out += [f"blocks.{i}.{suffix}" for i in range(n)]
    dup = sorted({h for h in out if out.count(h) > 1})
    if dup:
        raise ValueError(f"{where}: hooks {dup} are listed more than once")
    return sorted(out, key=lambda h: (hook_layer(h) is not None, hook_layer(h) or 0))


def hook_problems(where: str, spec: dict[str, Any]) -> list[str]:
    """Why ``spec``'s ``hook`` is not a hook point of its model (empty when it is, or cannot be known), plus a
    pretrained name TransformerLens does not know and a local path that is not a model directory. A list or
    pattern of hooks (:func:`expand_hooks`) is checked hook by hook."""
    hook, source = spec.get("hook"), spec.get("source")
    if isinstance(hook, list) or (isinstance(hook, str) and is_hook_pattern(hook)):
        try:
            hooks = expand_hooks(hook, lambda: model_n_layers(spec), f"{where}.hook")
        except ValueError as e:
            return [str(e)]
        problems = [p for h in hooks for p in hook_problems(where, {**spec, "hook": h})]
        return list(dict.fromkeys(problems))
    if not isinstance(hook, str):
        return []
    if source == "toy":
        try:
            names = toy_hook_names(spec)
        except (ValueError, TypeError, AssertionError) as e:
            return [f"{where}: TransformerLens cannot build this toy model: {e}"]
        if hook not in names:
            return [f"{where}.hook: {hook!r} is not a hook point of this model; it has e.g. "
                    f"{[n for n in names if n.endswith(('resid_post', 'mlp_out'))]} (all: HookedTransformer.hook_dict)"]
        return []
    out = []
    n_layers = None
    if source == "pretrained" and isinstance(spec.get("name"), str):
        if spec["name"] not in official_model_names():
            out.append(f"{where}.name: {spec['name']!r} is not a TransformerLens model name (see "
                       f"transformer_lens.loading_from_pretrained.OFFICIAL_MODEL_NAMES)")
    elif source == "local" and isinstance(spec.get("path"), str):
        path = Path(spec["path"])
        if not (path / "config.json").is_file():
            return [f"{where}.path: {str(path)!r} is not a Hugging Face model directory (no config.json there)"]
        try:
            n_layers = local_n_layers(path)
        except (OSError, ValueError) as e:
            return [f"{where}.path: cannot read {path / 'config.json'}: {e}"]
    outside, suffixes = standard_block_hooks()
    m = BLOCK.fullmatch(hook)
    if m is None and hook not in outside:
        out.append(f"{where}.hook: {hook!r} is not a TransformerLens hook point (blocks.<i>.<{'|'.join(suffixes)}> "
                   f"or {outside})")
    elif m is not None and m.group(2) not in suffixes:
        out.append(f"{where}.hook: {hook!r}: blocks have no hook {m.group(2)!r}; they have {suffixes}")
    elif m is not None and n_layers is not None and int(m.group(1)) >= n_layers:
        out.append(f"{where}.hook: {hook!r}: the model has {n_layers} layers (blocks.0 .. blocks.{n_layers - 1})")
    return out
