"""The words of saegeom: every name that appears in ``config.yaml``, the JSON schema, the tables and the
figures (sources, representations, pairings, subspace families, nulls) and the pattern of user-given names.

A leaf module (it imports nothing of saegeom), so the metrics, the settings and the workflow can all use
it; :mod:`saegeom.settings` re-exports every name.
"""

from __future__ import annotations

SOURCES = ("synthetic", "lm")
REPRESENTATIONS = ("decoder", "activations", "ground_truth")
#: how features of A and B are matched (the ``pairing`` column of every table)
PAIRINGS = ("many_to_one", "one_to_one", "hungarian", "decoder_cosine", "ground_truth", "none")
CORRELATION_PAIRINGS = ("many_to_one", "one_to_one", "hungarian")
#: subspaces defined by the roles of both ends of a pair (synthetic worlds)
ROLE_SUBSPACES = ("shared", "private_a", "private_b", "mixed")
#: subspace families whose names carry an id: ``cluster:3``, ``group:animals``
LABELLED_FAMILIES = ("cluster", "circle", "group", "discovered", "random")

#: each null says what it destroys (README "Reading p-values")
NULLS: dict[str, str] = {
    "random_partners": "B's partners replaced by as many distinct live B latents drawn uniformly among all of them, "
                       "the partners included (same tokens; by default stratified by firing-frequency decile: as "
                       "many per decile as the partners have): destroys which B latents are the partners",
    "repairing": "B partners permuted among the subspace's own pairs: destroys the pairing, keeps both sets",
    "random_subset": "the subspace replaced by a same-size random subset of all pairs: destroys subspace membership",
    "mismatched_subspace": "A's subspace against B's partners of another subspace of the same family (as many "
                           "distinct null values as sibling subspaces: NaN p when too few to reach 0.05)",
    "random_directions": "B's rows replaced by Gaussian rows with B's second moment (random directions spread like "
                         "B's, for pairing-free measures such as MMCS)",
    "token_shuffle": "activations only: B's tokens permuted, destroying token alignment between the models; an "
                     "alignment check, never a similarity null",
    "unit_shuffle": "activations on aligned unit rows (cross-tokenizer comparisons): B's units re-paired with "
                    "other units of the same length class (tokens on A, tokens on B, capped): destroys the unit "
                    "correspondence, keeps each side's rows and the token-length profile",
}
#: a p-value is reported only when its null could reach this level: NaN (with a note) when the smallest
#: attainable p, 1 / (1 + defined draws) or 1 / (1 + configurations) for a null over few of them, is above it
REACHABLE_ALPHA = 0.05
#: a metric is undefined on fewer distinct items (rows of X or of Y) than this
MIN_DISTINCT_ITEMS = 3
#: tolerance relative to the items' scale (Frobenius norm of the uncentred matrix): rows closer than it count
#: as one, and a side whose centred norm falls below it is constant (rank 0 up to rounding)
RANK_RTOL = 1e-9
#: the null a figure shows per row: "are these partners more alike than unrelated latents?"
HEADLINE_NULLS = ("random_partners", "random_directions")
#: which pairing an overview figure shows when several exist
PAIRING_PREFERENCE = ("hungarian", "one_to_one", "many_to_one", "ground_truth", "decoder_cosine")
#: names from config that become path components (worlds, models, SAEs, ...): letters, digits, ``_ . -``,
#: starting with a letter or digit, never ``..`` (so never a parent directory nor a CLI flag); the schema's
#: name patterns and the rules' wildcard constraints are this pattern
NAME_PATTERN = r"[A-Za-z0-9](?:(?!\.\.)[A-Za-z0-9_.-])*"
#: longest allowed name (names become file-name components; most file systems stop at 255 bytes per component)
NAME_MAX_LENGTH = 64


def valid_name(name: object) -> bool:
    """Whether ``name`` is a valid config name: ``NAME_PATTERN`` matched in full (``re.fullmatch``, so a trailing
    newline never passes, unlike ``$``) and at most ``NAME_MAX_LENGTH`` characters."""
    import re

    return isinstance(name, str) and len(name) <= NAME_MAX_LENGTH and re.fullmatch(NAME_PATTERN, name) is not None


#: what a comparison does with a metric or pairing that needs equal model widths when the widths differ
WIDTH_MISMATCH = ("error", "skip")
DEFAULT_ON_WIDTH_MISMATCH = "error"


def calibration_world_name(fraction: float, seed: int) -> str:
    """Wildcard-safe name of one calibration world, e.g. ``cal_f025_s1`` (the ``cal_`` prefix is reserved)."""
    return f"cal_f{round(fraction * 100):03d}_s{seed}"


#: nulls each representation may use
REPRESENTATION_NULLS: dict[str, tuple[str, ...]] = {
    "decoder": ("random_partners", "repairing", "random_subset", "mismatched_subspace"),
    # no "repairing": permuting the columns (pairs) of an activation matrix moves none of the measures
    "activations": ("random_partners", "random_subset", "mismatched_subspace", "token_shuffle", "unit_shuffle"),
    "ground_truth": ("random_partners", "repairing", "random_subset", "mismatched_subspace"),
}

#: a model's seed replicate is the derived model ``f"{model}{REPLICATE_SUFFIX}"`` (``seed_ceiling``; its SAEs
#: read the model's activations and are trained with the seed derived from the replicate's name)
REPLICATE_SUFFIX = "_s1"
