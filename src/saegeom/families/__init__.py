"""Feature families across N models: the match graph of every pair's pairing, clustered into families, and
their validation against a synthetic world's planted sharing pattern.

    from saegeom.families import families_from_pairs, latent_features, validate_families
    fam = families_from_pairs({("a", "b"): pairs_ab, ("a", "c"): pairs_ac, ("b", "c"): pairs_bc},
                              sizes={"a": 256, "b": 256, "c": 256})
    rows = validate_families(fam, world, latent_features(world, decoders, threshold=0.7))
"""

from saegeom.families.clustering import FAMILY_COLUMNS, cluster_families, families_from_pairs, match_edges
from saegeom.families.validation import VALIDATION_COLUMNS, latent_features, level_name, validate_families

__all__ = ["FAMILY_COLUMNS", "VALIDATION_COLUMNS", "cluster_families", "families_from_pairs", "latent_features",
           "level_name", "match_edges", "validate_families"]
