"""The configuration reference, generated from the workflow's JSON schema.

``workflow/schemas/config.schema.yaml`` is the single source of every config key: its type, default, allowed
values and description. :func:`config_keys` walks it (following ``$ref`` into ``$defs``) and yields one
:class:`ConfigKey` per key, with its dotted path (``compare.min_corr``; ``worlds.<name>.d_world`` for keys
under a map of user-chosen names); :func:`render_markdown` turns them into the docs' configuration page.
A test asserts that every key has a description.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"


@dataclass(frozen=True)
class ConfigKey:
    """One key of the config: dotted ``path``, its schema ``node`` (``$ref`` resolved) and the ``$defs`` name
    it came from (``None`` for inline definitions)."""

    path: str
    node: dict[str, Any]
    definition: str | None = None

    @property
    def description(self) -> str:
        return " ".join(str(self.node.get("description", "")).split())

    @property
    def type(self) -> str:
        return _type_of(self.node)

    @property
    def default(self) -> str:
        if "default" not in self.node:
            return ""
        return json.dumps(self.node["default"], ensure_ascii=False)


def load_schema(path: str | Path = SCHEMA_FILE) -> dict[str, Any]:
    return yaml.safe_load(Path(path).read_text())


def _resolve(node: dict[str, Any], schema: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    ref = node.get("$ref")
    if not ref:
        return node, None
    name = ref.rsplit("/", 1)[-1]
    target = schema["$defs"][name]
    # Keys written next to a $ref (a description, a default) override the definition's.
    return {**target, **{k: v for k, v in node.items() if k != "$ref"}}, name


def _type_of(node: dict[str, Any]) -> str:
    if "enum" in node:
        return "one of " + ", ".join(f"`{v}`" for v in node["enum"])
    if "const" in node:
        return f"`{node['const']}`"
    for key in ("oneOf", "anyOf"):
        if key in node:
            return " or ".join(_type_of(sub) for sub in node[key])
    kind = node.get("type", "")
    if isinstance(kind, list):
        kind = " or ".join(kind)
    if kind == "array" and isinstance(node.get("items"), dict):
        return f"list of {_type_of(node['items']) or 'values'}"
    bounds = [f"{sym} {node[k]}" for k, sym in (("minimum", "≥"), ("exclusiveMinimum", ">"),
                                                 ("maximum", "≤"), ("exclusiveMaximum", "<")) if k in node]
    return f"{kind} ({', '.join(bounds)})" if bounds else str(kind)


def config_keys(schema: dict[str, Any] | None = None) -> Iterator[ConfigKey]:
    """Every key of the config schema, depth first, in file order.

    A map of user-chosen names (``worlds``, ``saes``, ``lm.models``: ``additionalProperties`` holding a schema)
    is described once under the placeholder ``<name>``.
    """
    schema = load_schema() if schema is None else schema
    yield from _walk(schema, schema, "", set())


def _walk(node: dict[str, Any], schema: dict[str, Any], prefix: str, seen: set[str]) -> Iterator[ConfigKey]:
    for name, sub in (node.get("properties") or {}).items():
        resolved, definition = _resolve(sub, schema)
        path = f"{prefix}{name}"
        yield ConfigKey(path, resolved, definition)
        yield from _children(resolved, schema, path, seen, definition)


def _children(node: dict[str, Any], schema: dict[str, Any], path: str, seen: set[str],
              definition: str | None) -> Iterator[ConfigKey]:
    if definition is not None:
        if definition in seen:  # recursive or repeated definitions are expanded once per branch
            return
        seen = seen | {definition}
    yield from _walk(node, schema, path + ".", seen)
    extra = node.get("additionalProperties")
    if isinstance(extra, dict) and extra:
        resolved, sub_definition = _resolve(extra, schema)
        yield from _children(resolved, schema, f"{path}.<name>", seen, sub_definition)


def render_markdown(schema: dict[str, Any] | None = None) -> str:
    """The configuration reference as a markdown table (one row per key)."""
    schema = load_schema() if schema is None else schema
    lines = ["| key | type | default | description |", "|---|---|---|---|"]
    for key in config_keys(schema):
        cells = [f"`{key.path}`", key.type, f"`{key.default}`" if key.default else "", key.description]
        lines.append("| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |")
    return "\n".join(lines) + "\n"
