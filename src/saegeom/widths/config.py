"""The ``width_worlds`` and ``width_ladders`` config blocks: names, settings and checks (no SAELens import).

    width_worlds:                  # worlds used only by width ladders: world + shards, no comparisons
      hierarchy: {<a world block, e.g. with firing.hierarchy>}
    width_ladders:
      hier:
        world: hierarchy           # a world of `worlds` or of `width_worlds`
        model: a                   # default: the world's first model by name
        sae: {architecture: topk, k: 4, ...}   # an SAE spec without d_sae; d_sae = each width
        widths: [8, 16, 32, 64]
        min_cosine: 0.5            # link thresholds (saegeom.widths.families)
        min_coactivation: 0.15
        gt_threshold: 0.7
        pairing_rows: 65536

The ladder's SAEs are ordinary SAE folders, ``results/saes/{world}/{model}/{ladder}-w{width}``
(:func:`ladder_sae_name`), trained by the rule ``train_sae`` like any other.
"""

from __future__ import annotations

import re
from typing import Any

#: a ladder SAE's name: ``<ladder>-w<width>``
LADDER_SAE = re.compile(r"^(?P<ladder>.+)-w(?P<width>[0-9]+)$")


def ladder_sae_name(ladder: str, width: int) -> str:
    return f"{ladder}-w{int(width)}"


def parse_ladder_sae(name: str, ladders: dict[str, Any]) -> tuple[str, int] | None:
    """(ladder, width) of a ladder SAE name, or None when ``name`` is not one of ``ladders``' SAEs."""
    m = LADDER_SAE.match(name)
    if m and m["ladder"] in ladders and int(m["width"]) in ladders[m["ladder"]]["widths"]:
        return m["ladder"], int(m["width"])
    return None


def ladder_spec(block: dict[str, Any], width: int) -> dict[str, Any]:
    """The SAE spec of one rung: the ladder's ``sae`` with ``d_sae`` = ``width``."""
    return {**{k: v for k, v in block["sae"].items() if k not in ("d_sae", "expansion_factor")}, "d_sae": int(width)}


def width_ladder_problems(config: dict[str, Any]) -> list[str]:
    """Problems of the width blocks a schema cannot see: unknown worlds and models, widths not strictly
    increasing, names that clash with other worlds or SAEs, k above the narrowest width."""
    out = []
    worlds, extra = config.get("worlds") or {}, config.get("width_worlds") or {}
    clash = sorted(set(worlds) & set(extra))
    if clash:
        out.append(f"config width_worlds: {clash} are also in worlds; rename them")
    saes = set(config.get("saes") or {})
    for name, block in (config.get("width_ladders") or {}).items():
        where = f"config width_ladders.{name}"
        world = block.get("world")
        wcfg = worlds.get(world) or extra.get(world)
        if wcfg is None:
            out.append(f"{where}.world: {world!r} is neither in worlds nor in width_worlds")
        elif block.get("model") is not None and block["model"] not in wcfg.get("models", {}):
            out.append(f"{where}.model: {block['model']!r} is not a model of world {world!r} "
                       f"({sorted(wcfg.get('models', {}))})")
        widths = block.get("widths") or []
        if len(widths) < 2 or any(b <= a for a, b in zip(widths, widths[1:], strict=False)):
            out.append(f"{where}.widths: {widths} must hold at least two strictly increasing widths")
        k = (block.get("sae") or {}).get("k")
        if k is not None and widths and k > min(widths):
            out.append(f"{where}.sae.k: {k} exceeds the narrowest width {min(widths)}")
        named = sorted(saes & {ladder_sae_name(name, w) for w in widths})
        if named:
            out.append(f"{where}: SAE names {named} clash with saes; rename the ladder or those SAEs")
    return out
