"""A width ladder end to end: SAEs of one model at several widths → family table (and its validation)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from saegeom.widths.families import WIDTH_DEFAULTS, family_table, feature_map, label_latents
from saegeom.widths.validation import validate_links

log = logging.getLogger(__name__)


def containment(sae_wide, sae_narrow, shards, shard_ids: list[int] | None = None, max_rows: int | None = 65536,
                device: str = "cpu", batch_size: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """Co-activation of two SAEs of one model as containment: (w, n) P(narrow latent i fires | wide latent j
    fires) over the rows of ``shards`` (NaN where j never fired), and (w,) whether each wide latent fired.

    Containment, not Pearson correlation, because the relation sought is asymmetric: a child that fires only
    with its parent is contained in the parent's firing (containment 1) however rare it is, while its Pearson
    correlation with the parent is about √(child rate / parent rate) and falls with rarity. Codes come from
    ``saegeom.pairing.encode_sparse`` (the encoder every pairing uses); the counts are one sparse product."""
    from saegeom.pairing.correlation import encode_sparse

    d_w, d_n = int(sae_wide.cfg.d_sae), int(sae_narrow.cfg.d_sae)
    both = np.zeros((d_w, d_n))
    fired = np.zeros(d_w)
    for x in shards.iter_batches(batch_size, max_rows=max_rows, shards=shard_ids):
        zw = (encode_sparse(sae_wide, x, device) > 0).astype(np.float64)
        zn = (encode_sparse(sae_narrow, x, device) > 0).astype(np.float64)
        both += (zw.T @ zn).toarray()
        fired += np.asarray(zw.sum(0)).ravel()
    alive = fired > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(alive[:, None], both / fired[:, None], np.nan), alive


def ladder_families(shards: str | Path, saes: dict[int, str | Path], *, world: str | Path | None = None,
                    model: str | None = None, min_cosine: float = WIDTH_DEFAULTS["min_cosine"],
                    min_coactivation: float = WIDTH_DEFAULTS["min_coactivation"],
                    gt_threshold: float = WIDTH_DEFAULTS["gt_threshold"], pairing_rows: int | None = 65536,
                    device: str = "cpu") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Family trees of the SAEs ``saes`` ({width: SAE folder}, all trained on the shard set ``shards``) and their
    per-width summary (:func:`saegeom.widths.validation.validate_links`: label counts and, for a synthetic
    ``world`` whose firing plants a hierarchy, precision/recall of parent → child links).

    Adjacent widths are linked by decoder cosine and by co-activation (:func:`containment`) over the first
    ``pairing_rows`` rows of the training shards. With ``world``, each latent's ``feature`` is its true world
    feature (``model``'s true directions, cosine ≥ ``gt_threshold``); otherwise −1. Returns (families,
    summary)."""
    from saegeom.io.shards import ShardSet, split_shards
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
        contained, alive = containment(loaded[wide], loaded[narrow], s, train_ids, pairing_rows, device)
        links[wide] = label_latents(decoders[wide] @ decoders[narrow].T, contained, alive=alive,
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
