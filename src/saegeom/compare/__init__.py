"""Compare two SAEs: pair their features, then measure similarity per subspace against nulls.

One entry point for every source (synthetic world, language model, your own shards)::

    from saegeom.compare import compare_saes, CompareSettings
    from saegeom.sae import load_sae

    df = compare_saes("acts/A", "acts/B", load_sae("sae_A"), load_sae("sae_B"),
                      settings=CompareSettings(n_baseline=200))   # rows of results/metrics.parquet

``acts/A`` and ``acts/B`` are row-aligned shard sets (``saegeom.io.ShardWriter``) of the two
models on the same tokens. Pass ``subspaces=`` a ``PairLabels`` (e.g. ``WorldLabels`` of a
synthetic world) to get subspace rows beyond ``all``.
"""

from saegeom.compare.core import AllPairs, GroundTruthPairs, HeldOut, PairLabels, compare_saes, held_out_codes
from saegeom.compare.rows import Context, make_row, row_with_null
from saegeom.compare.worlds import WorldLabels, ground_truth_recovery_rows
from saegeom.settings import CompareSettings, PairingSettings

__all__ = ["AllPairs", "CompareSettings", "Context", "GroundTruthPairs", "HeldOut", "PairLabels", "PairingSettings",
           "WorldLabels", "compare_saes", "ground_truth_recovery_rows", "held_out_codes", "make_row", "row_with_null"]
