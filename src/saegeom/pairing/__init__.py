"""Pair features across two SAEs: activation correlation (streamed, sparse) and decoder cosine.

    from saegeom.pairing import pair_saes
    from saegeom.settings import PairingSettings
    pairs = pair_saes("acts/A", "acts/B", sae_a, sae_b, PairingSettings(pairings=["hungarian"]))
    # columns a_idx, b_idx, score (Pearson r), pairing, min_score (the threshold used)

The co-activation sums stay within ``PairingSettings.pairing_memory_gib`` at any width
(``bounded_coactivation_stats``: blocks of A latents, exact best partners).
"""

from saegeom.pairing.correlation import (
    CoactivationStats,
    bounded_coactivation_stats,
    coactivation_stats,
    encode_sparse,
)
from saegeom.pairing.match import (
    PAIRS_SCHEMA,
    assign_positive,
    assign_positive_sparse,
    best_partners,
    calibrated_min_corr,
    decoder_cosine_pairs,
    pair_features,
    read_pairs,
    write_pairs,
)
from saegeom.pairing.saes import pair_saes

__all__ = ["PAIRS_SCHEMA", "CoactivationStats", "assign_positive", "assign_positive_sparse", "best_partners",
           "bounded_coactivation_stats",
           "calibrated_min_corr", "coactivation_stats", "decoder_cosine_pairs", "encode_sparse", "pair_features",
           "pair_saes", "read_pairs", "write_pairs"]
