"""A width ladder end to end: SAEs of one model at several widths → family table (and its validation)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from saegeom.widths.families import WIDTH_DEFAULTS, family_table, feature_map, label_latents
from saegeom.widths.validation import validate_links

log = logging.getLogger(__name__)


def ladder_families(shards: str | Path, saes: dict[int, str | Path], *, world: str | Path | None = None,
                    model: str | None = None, min_cosine: float = WIDTH_DEFAULTS["min_cosine"],
                    min_coactivation: float = WIDTH_DEFAULTS["min_coactivation"],
                    gt_threshold: float = WIDTH_DEFAULTS["gt_threshold"], pairing_rows: int | None = 65536,
                    device: str = "cpu") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Family trees of the SAEs ``saes`` ({width: SAE folder}, all trained on the shard set ``shards``) and their
    per-width summary (:func:`saegeom.widths.validation.validate_links`: label counts and, for a synthetic
    ``world`` whose firing plants a hierarchy, precision/recall of parent → child links).

    Adjacent widths are linked by decoder cosine and by the Pearson correlation of their codes over the first
    ``pairing_rows`` rows of the training shards (``saegeom.pairing.coactivation_stats``, the statistics of
    feature pairing). Correlation rather than containment P(narrow fires | wide fires): a TopK SAE fires k
    latents on every row, so at a narrow width each latent fires on a large share of rows and containment
    is high for unrelated pairs too (measured on the demo ladder: the true parent's latent was not the most
    containing one for 7 of 18 children), while weak activations add little to a correlation.
    With ``world``, each latent's ``feature`` is its true world feature (``model``'s true directions, cosine
    ≥ ``gt_threshold``); otherwise −1. Returns (families, summary)."""
    from saegeom.io.shards import ShardSet, split_shards
    from saegeom.pairing.correlation import coactivation_stats
    from saegeom.sae.load import check_input_width, decoder_directions, load_sae

    widths = sorted(saes)
    if len(widths) < 2:
        raise ValueError(f"a width ladder needs at least two widths, got {widths}")
    s = ShardSet(shards)
    loaded = {w: load_sae(saes[w], device) for w in widths}
    for w in widths:
        check_input_width(loaded[w], s, f"of width {w}")
        if int(loaded[w].cfg.d_sae) != w:
            raise ValueError(f"SAE {saes[w]} has {loaded[w].cfg.d_sae} latents, not the ladder's width {w}")
    decoders = {w: decoder_directions(loaded[w]) for w in widths}
    train_ids, _ = split_shards(s)
    links = {}
    for narrow, wide in zip(widths, widths[1:], strict=False):
        stats = coactivation_stats(loaded[wide], s, loaded[narrow], s, device=device, max_rows=pairing_rows,
                                   shard_ids=train_ids, shifted=False, progress=False)
        with np.errstate(invalid="ignore"):
            corr = stats.correlation_dense()
        links[wide] = label_latents(decoders[wide] @ decoders[narrow].T, corr, alive=stats.alive_a,
                                    min_cosine=min_cosine, min_coactivation=min_coactivation)
        log.info("width %d → %d: %s", narrow, wide, links[wide]["label"].value_counts().to_dict())
    features = None
    hierarchy = None
    if world is not None:
        from saegeom.synthetic.world import World

        wd = World.load(world)
        model = model or sorted(wd.models)[0]
        gt, owned = wd.gt_features(model), wd.models[model].owned
        features = {}
        for w in widths:
            f, c = feature_map(decoders[w], gt, gt_threshold)
            features[w] = (np.where(f >= 0, owned[np.maximum(f, 0)], -1), c)
        hierarchy = wd.hierarchy
    families = family_table(decoders, links, features)
    return families, validate_links(families, hierarchy)
