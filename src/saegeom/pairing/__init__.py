"""Pair features across two SAEs: activation correlation (streamed, sparse) and decoder cosine."""

from saegeom.pairing.correlation import CoactivationStats, coactivation_stats, encode_sparse
from saegeom.pairing.match import PAIRS_SCHEMA, decoder_cosine_pairs, pair_features, read_pairs, write_pairs

__all__ = ["PAIRS_SCHEMA", "CoactivationStats", "coactivation_stats", "decoder_cosine_pairs", "encode_sparse",
           "pair_features", "read_pairs", "write_pairs"]
