"""Every configured pairing of two SAEs' latents in one table (the rule ``pair_features``)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from saegeom.io.shards import ShardSet, split_shards
from saegeom.pairing.correlation import coactivation_stats
from saegeom.pairing.match import calibrated_min_corr, decoder_cosine_pairs, pair_features
from saegeom.sae.load import check_input_width, decoder_directions
from saegeom.settings import CORRELATION_PAIRINGS, PairingSettings

log = logging.getLogger(__name__)


def as_shards(acts: ShardSet | str | Path) -> ShardSet:
    return acts if isinstance(acts, ShardSet) else ShardSet(acts)


def available_pairings(dec_a: np.ndarray, dec_b: np.ndarray, extra: Iterable[str] = ()) -> set[str]:
    """Pairings that can exist for two SAEs with decoders (d_A, w_A), (d_B, w_B): the correlation
    pairings, ``decoder_cosine`` when the widths match, and the ``extra`` ones a source supplies."""
    out = {*CORRELATION_PAIRINGS, *extra}
    if dec_a.shape[1] == dec_b.shape[1]:
        out.add("decoder_cosine")
    return out


def pair_saes(acts_a: ShardSet | str | Path, acts_b: ShardSet | str | Path, sae_a, sae_b,
              settings: PairingSettings | None = None, *, device: str = "cpu",
              extra: dict[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    """Pairs of every method in ``settings.pairings`` (table ``PAIRS_SCHEMA``, column ``pairing``).

    ``acts_a``/``acts_b``: row-aligned shard sets of the two models (the same tokens). Correlations
    use the training shards (the last shard is held out for the comparison), at most
    ``settings.pairing_rows`` rows; ``min_corr: auto`` is calibrated on the same rows with B's tokens
    shifted; the co-activation sums stay within ``settings.pairing_memory_gib`` (host accumulation).
    ``decoder_cosine`` needs equal widths and is skipped otherwise. ``extra``: pairings
    a source computes itself (e.g. ``ground_truth`` of a synthetic world); a configured pairing
    neither computed here nor given in ``extra`` is skipped with a log message.
    """
    settings = settings or PairingSettings()
    sa, sb = as_shards(acts_a), as_shards(acts_b)
    check_input_width(sae_a, sa, "A")
    check_input_width(sae_b, sb, "B")
    extra = extra or {}
    frames = []
    stats = None
    needs_stats = [m for m in settings.pairings if m in CORRELATION_PAIRINGS or m == "decoder_cosine"]
    if needs_stats:
        train_ids, _ = split_shards(sa)
        stats = coactivation_stats(sae_a, sa, sae_b, sb, device=device, max_rows=settings.pairing_rows,
                                   shard_ids=train_ids, shifted=settings.min_corr == "auto",
                                   memory_bytes=None if settings.pairing_memory_gib is None
                                   else settings.pairing_memory_gib * 2**30)
    min_corr = settings.min_corr
    if min_corr == "auto" and stats is not None:  # one threshold for every correlation pairing
        min_corr = calibrated_min_corr(stats, settings.min_corr_quantile)
        log.info("min_corr auto: %.4f", min_corr)
    dec_a, dec_b = decoder_directions(sae_a), decoder_directions(sae_b)
    available = available_pairings(dec_a, dec_b, extra)
    for method in settings.pairings:
        if method not in available:
            log.warning("pairing %r is not available here (widths %d and %d, source pairings %s); skipped",
                        method, dec_a.shape[1], dec_b.shape[1], sorted(extra))
        elif method in CORRELATION_PAIRINGS:
            assert stats is not None  # computed whenever a pairing in needs_stats is requested
            frames.append(pair_features(stats, method, min_corr))
            log.info("%s: %d pairs", method, len(frames[-1]))
        elif method == "decoder_cosine":
            assert stats is not None  # computed whenever a pairing in needs_stats is requested
            frames.append(decoder_cosine_pairs(dec_a, dec_b, alive_a=stats.alive_a, alive_b=stats.alive_b))
        else:
            frames.append(extra[method].assign(pairing=method))
    if not frames:
        raise ValueError(f"none of the pairings {settings.pairings} could be computed")
    out = pd.concat(frames, ignore_index=True)
    if "min_score" not in out:
        out["min_score"] = np.nan
    return out
