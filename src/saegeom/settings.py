"""The one place that owns saegeom's vocabulary and defaults.

Every word that appears in ``config.yaml``, the JSON schema, the tables and the
figures (pairings, representations, subspace families, nulls, metric lists) is
defined here, and so is every default. Settings classes take config keys under
their config names, so a config block passes through unchanged::

    from saegeom.settings import CompareSettings, PairingSettings
    pairing = PairingSettings(**config["compare"]["pairing"])   # hypothetical block
    settings = CompareSettings(metrics={"activations": ["linear_cka"]}, n_baseline=200)

``tests/workflow/test_settings.py`` checks that the schema's defaults and enums equal
what is written here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from saegeom.vocabulary import (  # noqa: F401 - the vocabulary is re-exported here
    CORRELATION_PAIRINGS,
    DEFAULT_ON_WIDTH_MISMATCH,
    HEADLINE_NULLS,
    LABELLED_FAMILIES,
    MIN_DISTINCT_ITEMS,
    NAME_MAX_LENGTH,
    NAME_PATTERN,
    NULLS,
    PAIRING_PREFERENCE,
    PAIRINGS,
    RANK_RTOL,
    REACHABLE_ALPHA,
    REPRESENTATION_NULLS,
    REPRESENTATIONS,
    ROLE_SUBSPACES,
    SOURCES,
    WIDTH_MISMATCH,
    calibration_world_name,
    valid_name,
)

# ---- defaults ------------------------------------------------------------------------------
DEFAULT_METRICS: dict[str, list[str]] = {
    "decoder": ["mmcs", "svcca", "pwcca", "linear_cka", "linear_cka_debiased", "rsa", "mutual_knn", "jaccard_knn",
                "orthogonal_procrustes", "permutation_procrustes", "soft_matching"],
    "activations": ["svcca", "pwcca", "linear_cka", "linear_cka_debiased", "rsa", "mutual_knn", "jaccard_knn",
                    "orthogonal_procrustes", "permutation_procrustes", "soft_matching"],
    "ground_truth": ["mmcs", "svcca", "linear_cka", "linear_cka_debiased", "rsa", "mutual_knn",
                     "orthogonal_procrustes"],
}
DEFAULT_BASELINES: dict[str, list[str]] = {
    "decoder": ["random_partners", "random_subset", "mismatched_subspace"],
    "activations": ["random_partners", "random_subset"],
    "ground_truth": ["random_partners"],
}
DEFAULT_METRIC_OPTIONS: dict[str, dict[str, Any]] = {"mutual_knn": {"k": 10}, "jaccard_knn": {"k": 10}}
DEFAULT_SEED = 0
DEFAULT_DEVICE = "auto"
DEFAULT_N_BASELINE = 1000

#: SAE trainer options (SAELens ``SAETrainerConfig``) and their defaults
SAE_TRAINER_DEFAULTS: dict[str, Any] = {
    "lr": 3e-4, "training_samples": 1_000_000, "batch_size": 1024, "lr_warm_up_steps": 0, "lr_decay_steps": 0,
    "lr_scheduler": "constant", "dead_feature_window": 1000,
}


#: resource guard (config block ``limits``): largest estimated memory of one stage and disk use of a run, GiB
#: (a workstation; ``saegeom.config_checks.resource_problems``)
LIMIT_DEFAULTS: dict[str, float] = {"memory_gb": 64.0, "disk_gb": 500.0}

#: SAE training checkpoints (config block ``checkpoint``; ``saegeom.sae.checkpoint.CheckpointPolicy``)
CHECKPOINT_DEFAULTS: dict[str, Any] = {"enabled": True, "every_minutes": 10.0, "every_steps": 0}


def _copy(d):
    return {k: (list(v) if isinstance(v, list) else dict(v)) for k, v in d.items()}


def _check_names(kind: str, got, allowed) -> None:
    bad = [g for g in got if g not in allowed]
    if bad:
        raise ValueError(f"unknown {kind} {bad}; expected some of {list(allowed)}")


@dataclass
class PairingSettings:
    """How latents of two SAEs are paired (config block ``compare``, keys of the same names).

    ``pairings``: methods to run (``PAIRINGS`` minus ``none``). ``min_corr``: a number ≥ 0, or
    ``"auto"`` — a pair is kept only when its correlation beats the ``min_corr_quantile`` quantile of
    each B latent's best correlation with A after B's tokens are circularly shifted (alignment
    destroyed, marginals kept), so noise-level partners are not paired. ``pairing_rows``: tokens behind
    the correlations (None = all training rows). ``pairing_memory_gib``: bound on the co-activation
    sums (None = unbounded; see ``saegeom.pairing.correlation.bounded_coactivation_stats`` for what stays
    exact when the bound splits the work into passes). ``gt_threshold``: a latent's ground-truth feature needs
    decoder cosine ≥ this (synthetic subspaces and the ``ground_truth`` pairing).
    """

    pairings: list[str] = field(default_factory=lambda: ["many_to_one", "one_to_one", "hungarian",
                                                          "decoder_cosine", "ground_truth"])
    min_corr: float | str = "auto"
    min_corr_quantile: float = 0.99
    pairing_rows: int | None = 200_000
    pairing_memory_gib: float | None = 4.0
    gt_threshold: float = 0.7

    def __post_init__(self) -> None:
        _check_names("pairings", self.pairings, [p for p in PAIRINGS if p != "none"])
        if self.min_corr != "auto" and not (isinstance(self.min_corr, int | float) and 0 <= self.min_corr <= 1):
            raise ValueError(f"min_corr must be 'auto' or a number in [0, 1], got {self.min_corr!r}")
        if not 0 < self.min_corr_quantile < 1:
            raise ValueError(f"min_corr_quantile must be in (0, 1), got {self.min_corr_quantile}")
        if self.pairing_memory_gib is not None and not self.pairing_memory_gib > 0:
            raise ValueError(f"pairing_memory_gib must be > 0 or null, got {self.pairing_memory_gib}")


@dataclass
class CompareSettings:
    """What to compute for every pairing (config block ``compare``, keys of the same names).

    ``metrics``/``baselines``: registered metric names / null names (``NULLS``) per representation;
    ``metric_options``: keyword arguments per metric; ``n_baseline``: draws per null (top-level config
    key); ``min_pairs``: subspaces with fewer pairs get a NaN row with a note; ``min_valid_fraction``:
    a p-value needs at least this share of defined null draws, else it is NaN with a note;
    ``n_tokens``: held-out tokens of the ``activations`` representation; ``match_frequency``:
    ``random_partners`` draws replacements stratified by firing-frequency decile (as many per decile as
    the partners have, the partners among the candidates); ``random_subspaces``: per representation, that
    many extra subspaces ``random:<i>``, each ``random_subspace_size`` pairs drawn at random from ``all``
    (the same draws for every representation; null cases for the calibration report: in a world that
    shares nothing every such subspace is a true null).
    """

    metrics: dict[str, list[str]] = field(default_factory=lambda: _copy(DEFAULT_METRICS))
    baselines: dict[str, list[str]] = field(default_factory=lambda: _copy(DEFAULT_BASELINES))
    metric_options: dict[str, dict[str, Any]] = field(default_factory=lambda: _copy(DEFAULT_METRIC_OPTIONS))
    n_baseline: int = DEFAULT_N_BASELINE
    min_pairs: int = 3
    min_valid_fraction: float = 0.5
    n_tokens: int = 1024
    match_frequency: bool = True
    random_subspaces: dict[str, int] = field(default_factory=dict)
    random_subspace_size: int = 8

    def __post_init__(self) -> None:
        from saegeom.metrics.registry import get_metric

        _check_names("representations", self.random_subspaces, REPRESENTATIONS)
        if any(n < 0 for n in self.random_subspaces.values()) or self.random_subspace_size < 1:
            raise ValueError(f"random_subspaces must be >= 0 and random_subspace_size >= 1, got "
                             f"{self.random_subspaces} and {self.random_subspace_size}")
        _check_names("representations", self.metrics, REPRESENTATIONS)
        _check_names("representations", self.baselines, REPRESENTATIONS)
        for names in self.metrics.values():
            for name in names:
                get_metric(name)  # unknown names fail here, before any work
        for rep, names in self.baselines.items():
            _check_names(f"{rep} baselines", names, REPRESENTATION_NULLS[rep])
        if self.n_baseline < 1 or self.min_pairs < 1 or self.n_tokens < 2:
            raise ValueError("n_baseline and min_pairs must be >= 1 and n_tokens >= 2")
        if not 0 < self.min_valid_fraction <= 1:
            raise ValueError(f"min_valid_fraction must be in (0, 1], got {self.min_valid_fraction}")


# ---- language models (config block ``lm``; saegeom.lm) --------------------------------------
#: where a language model comes from: trained here, TransformerLens official name, local HF directory
LM_SOURCES = ("toy", "pretrained", "local")
#: toy LM: HookedTransformerConfig fields and trainer options a spec may leave out
LM_TOY_DEFAULTS: dict[str, Any] = {
    "n_ctx": 64, "act_fn": "gelu", "normalization_type": "LN", "steps": 600, "batch_size": 32, "lr": 1e-3,
    "weight_decay": 0.01, "warmup_steps": 50, "eval_every": 50,
}
#: HookedTransformerConfig fields a toy spec may set, and the toy trainer's options
TOY_ARCH_KEYS = ("n_layers", "d_model", "n_heads", "d_head", "d_mlp", "n_ctx", "act_fn", "normalization_type",
                 "positional_embedding_type")
TOY_TRAIN_KEYS = ("steps", "batch_size", "lr", "weight_decay", "warmup_steps", "seed", "eval_every")
LM_SPEC_KEYS = ("source", "hook", "name", "path", "tokenizer", "seed_from")
#: top-level keys of the ``lm`` block and their defaults (``models``/``saes``/``comparisons`` empty: no LM work)
LM_DEFAULTS: dict[str, Any] = {
    "corpus": {"n_stories": 4000, "heldout_fraction": 0.25},
    "shard_rows": 16384,             # rows per activation shard; the last shard is the SAEs' held-out set
    "group_share": 0.5,              # a latent is in a group when >= this share of its top tokens are its words
    "concept_filter": False,         # drop pairs with a punctuation/whitespace/special-token latent
    "features": {"k": 16, "n_top": 20},         # top-k sparse codes per token; top activations per latent
    "recovery": {"precision": 0.8, "fire_fraction": 0.5},  # category recovered at precision >= this
}
#: ``lm.tokenizers`` default: the word-level tokenizer only (a dict of specs, so not in LM_DEFAULTS' flat check)
LM_DEFAULT_TOKENIZERS: dict[str, Any] = {"word": {"kind": "word"}}


# ---- topology (Mapper, persistent homology, shape distances) --------------------------------
#: pairing-free shape measures between two feature clouds (rows of metrics.parquet with pairing ``none``);
#: all are distances (lower = more alike)
TOPOLOGY_METRICS = ("bottleneck_h0", "bottleneck_h1", "wasserstein_h0", "wasserstein_h1", "msid", "geometry_score")
#: nulls of the topology rows: ``random_subset`` (same-size random subsets of both whole clouds; subspaces
#: only) and ``random_directions`` (B's cloud replaced by as many isotropic Gaussian directions in B's own span)
TOPOLOGY_NULLS = ("random_subset", "random_directions")
TOPOLOGY_LENSES = ("pca", "l2norm", "umap")
TOPOLOGY_DEFAULT_MAPPER: dict[str, Any] = {
    "lens": "pca", "n_components": 2, "n_cubes": 8, "overlap": 0.3, "clusterer": "dbscan", "min_samples": 3,
    "eps_quantile": 0.5, "linkage": "single",
}
TOPOLOGY_DEFAULT_MSID: dict[str, Any] = {"k": 5, "lanczos_steps": 10, "n_vectors": 100, "exact_max_points": 512}
TOPOLOGY_DEFAULT_GEOMETRY_SCORE: dict[str, Any] = {"n_landmarks": 32, "gamma": 0.1, "i_max": 100, "n_repeats": 10}


@dataclass
class TopologySettings:
    """Mapper, persistence and shape-distance settings (config block ``topology``, keys of the same names).

    ``n_points``: farthest-point subsample size for persistence (Rips cost grows fast with it);
    ``complex``: ``rips`` on the ``distance`` matrix (``cosine`` or ``euclidean``) or ``alpha`` on the
    first ``alpha_dim`` principal components; ``max_dim``: highest homology dimension; ``min_points``:
    subspaces with fewer points get NaN rows; ``min_frequency``: with a feature cache, latents firing at
    most this often are dropped; ``gt_threshold``: a latent's true feature needs decoder cosine ≥ this;
    ``n_baseline``: null draws per topology row (each costs persistence computations; fewer than 19 give
    NaN p-values, since p ≤ 0.05 is then out of reach); ``wasserstein_ground``: ``linf`` | ``l2``, the norm
    on the diagram plane of the Wasserstein distances (``saegeom.topology.diagram_distances``); ``metrics`` /
    ``baselines``: subsets of ``TOPOLOGY_METRICS`` / ``TOPOLOGY_NULLS``; ``mapper``, ``msid``,
    ``geometry_score``: options of those steps (README "Topology").
    """

    n_points: int = 200
    complex: str = "rips"
    distance: str = "cosine"
    alpha_dim: int = 3
    max_dim: int = 1
    min_points: int = 5
    min_frequency: float = 0.0
    gt_threshold: float = 0.7
    n_baseline: int = 20
    wasserstein_ground: str = "linf"
    metrics: list[str] = field(default_factory=lambda: list(TOPOLOGY_METRICS))
    baselines: list[str] = field(default_factory=lambda: list(TOPOLOGY_NULLS))
    mapper: dict[str, Any] = field(default_factory=lambda: dict(TOPOLOGY_DEFAULT_MAPPER))
    msid: dict[str, Any] = field(default_factory=lambda: dict(TOPOLOGY_DEFAULT_MSID))
    geometry_score: dict[str, Any] = field(default_factory=lambda: dict(TOPOLOGY_DEFAULT_GEOMETRY_SCORE))

    def __post_init__(self) -> None:
        _check_names("topology metrics", self.metrics, TOPOLOGY_METRICS)
        _check_names("topology baselines", self.baselines, TOPOLOGY_NULLS)
        _check_names("topology.mapper keys", self.mapper, TOPOLOGY_DEFAULT_MAPPER)
        _check_names("topology.msid keys", self.msid, TOPOLOGY_DEFAULT_MSID)
        _check_names("topology.geometry_score keys", self.geometry_score, TOPOLOGY_DEFAULT_GEOMETRY_SCORE)
        self.mapper = {**TOPOLOGY_DEFAULT_MAPPER, **self.mapper}
        self.msid = {**TOPOLOGY_DEFAULT_MSID, **self.msid}
        self.geometry_score = {**TOPOLOGY_DEFAULT_GEOMETRY_SCORE, **self.geometry_score}
        if self.wasserstein_ground not in ("linf", "l2"):
            raise ValueError(f"topology: wasserstein_ground must be linf or l2, got {self.wasserstein_ground!r}")
        if self.complex not in ("rips", "alpha") or self.distance not in ("cosine", "euclidean"):
            raise ValueError(f"topology: complex must be rips|alpha and distance cosine|euclidean, "
                             f"got {self.complex!r}, {self.distance!r}")
        if self.n_points < 3 or self.min_points < 3 or self.n_baseline < 1 or self.max_dim < 0:
            raise ValueError("topology: n_points and min_points must be >= 3, n_baseline >= 1, max_dim >= 0")
        if self.max_dim < 1 and any(m.endswith("_h1") for m in self.metrics):
            raise ValueError("topology: h1 metrics need max_dim >= 1")


# ---- linked feature-map viewer (config block ``viewer``) ------------------------------------
UMAP_METRICS = ("cosine", "euclidean", "correlation")


@dataclass
class ViewerSettings:
    """UMAP layout and page options of the linked viewer (config block ``viewer``, keys of the same names).

    ``n_neighbors``/``min_dist``/``metric``: umap-learn options for each SAE's decoder rows;
    ``aligned``: AlignedUMAP of all models of a world, anchored on the pairs (``anchor_pairing``),
    instead of one independent UMAP per SAE; ``pairing``: the pairing the page shows first
    (None = the first available of ``PAIRING_PREFERENCE``); ``table_rows``: rows the pairs table
    lists at most (sorted by the chosen column).
    """

    n_neighbors: int = 15
    min_dist: float = 0.01
    metric: str = "cosine"
    aligned: bool = False
    anchor_pairing: str = "hungarian"
    pairing: str | None = None
    table_rows: int = 200

    def __post_init__(self) -> None:
        _check_names("UMAP metric", [self.metric], UMAP_METRICS)
        _check_names("pairings", [p for p in (self.pairing, self.anchor_pairing) if p is not None],
                     [p for p in PAIRINGS if p != "none"])
        if self.n_neighbors < 2 or not 0 <= self.min_dist <= 1 or self.table_rows < 1:
            raise ValueError("viewer: n_neighbors must be >= 2, min_dist in [0, 1], table_rows >= 1")
