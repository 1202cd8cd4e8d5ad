"""Rules of synthetic worlds: ``world`` (ground truth) and ``shards`` (paired activation shards)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from saegeom.io.atomic import atomic_path

PathLike = str | Path


def world(*, name: str, cfg: dict[str, Any], seed: int, out: PathLike) -> None:
    """Rule ``world``: the ground truth of one synthetic world (``cfg``: its ``worlds.<name>`` block)."""
    from saegeom.synthetic.world import build_world

    build_world(name, cfg, seed).save(out)


def shards(*, world: PathLike, n_samples: int, shard_rows: int, device: str, out: PathLike) -> None:
    """Rule ``shards``: paired activation shards of every simulated model of a world (one folder per model
    under ``out``); firing drawn on ``device``."""
    from saegeom.synthetic.world import World, write_paired_shards

    with atomic_path(out) as tmp:
        write_paired_shards(World.load(world), tmp, n_samples, shard_rows, device=device)
