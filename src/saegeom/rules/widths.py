"""Rule ``width_families``: the family trees of one width ladder and their validation on a planted hierarchy."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

PathLike = str | Path

#: provenance columns in front of both width tables (one ladder per file)
PROVENANCE = [("world", pa.string()), ("model", pa.string()), ("ladder", pa.string()), ("config_hash", pa.string())]


def width_families(*, world: PathLike, saes: list[PathLike], shards: PathLike, ladder: str, study: str,
                   model: str, widths: list[int], config_hash: str, device: str, families: PathLike,
                   validation: PathLike, min_cosine: float | None = None, min_coactivation: float | None = None,
                   gt_threshold: float | None = None, pairing_rows: int | None = None, acts: PathLike | None = None,
                   lm_model: PathLike | None = None) -> None:
    """Rule ``width_families``: ``saes`` (one folder per width, in ``widths`` order) of ``model`` → ``families``
    (``results/widths/{study}/{ladder}.parquet``, ``saegeom.widths.FAMILIES_SCHEMA`` after the provenance
    columns) and ``validation`` (``…_validation.parquet``, ``VALIDATION_SCHEMA``: per width, label counts and
    precision/recall of parent → child links; NaN where the world plants no hierarchy). The figure
    ``saegeom.viz.figures.width_families`` draws the latter. ``acts``/``lm_model`` are the shard set's producing outputs
    (dependencies only)."""
    from saegeom.io.tables import write_table
    from saegeom.widths import FAMILIES_SCHEMA, VALIDATION_SCHEMA, WIDTH_DEFAULTS, ladder_families

    if len(saes) != len(widths):
        raise ValueError(f"width ladder {ladder}: {len(saes)} SAE folders for {len(widths)} widths {widths}")
    options = {k: v for k, v in dict(min_cosine=min_cosine, min_coactivation=min_coactivation,
                                     gt_threshold=gt_threshold).items() if v is not None}
    fam, val = ladder_families(shards, dict(zip(widths, saes, strict=True)), world=world, model=model,
                               pairing_rows=pairing_rows, device=device, **{**WIDTH_DEFAULTS, **options})
    prov = {"world": study, "model": model, "ladder": ladder, "config_hash": config_hash}
    for df, schema, path in ((fam, FAMILIES_SCHEMA, families), (val, VALIDATION_SCHEMA, validation)):
        out = df.assign(**prov)[[n for n, _ in PROVENANCE] + schema.names]
        write_table(out, path, pa.schema([*PROVENANCE, *schema]))
