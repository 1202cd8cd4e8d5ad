"""One keyword-only function per workflow rule, named after the rule: read the rule's input files, call the
library, write its outputs atomically.

``workflow/scripts/<rule>.py`` calls ``saegeom.workflow.run_rule(snakemake, <rule function>)``, which passes
the rule's named inputs, params and outputs (a single unnamed output as ``out``) by name, builds typed
settings from their config blocks and resolves ``device`` once. So a job is reproducible from a notebook::

    from saegeom.rules import pair_features
    from saegeom.settings import PairingSettings
    pair_features(sae_a="results/saes/blobs/a/relu", sae_b="results/saes/blobs/b/relu",
                  shards_a="results/worlds/blobs/acts/a", shards_b="results/worlds/blobs/acts/b",
                  world="results/worlds/blobs/world.safetensors", model_a="a", model_b="b",
                  pairing=PairingSettings(), device="cpu", out="pairs.parquet")

Adding an input or a param to a rule: add the keyword here (with a default if other callers omit it) and
the same name to the rule's ``input:``/``params:`` (or to the plan method that builds them).
"""

from saegeom.rules.compare import (
    calibration,
    category_recovery,
    ceiling,
    compare_models,
    comparison_figure,
    features,
    ground_truth_recovery,
    layer_matrix,
    metrics,
    pair_features,
    training_table,
)
from saegeom.rules.families import families
from saegeom.rules.figures import (
    figure_families,
    figure_features_over_training,
    figure_layer_heatmaps,
    figure_semantic_subspaces,
    figure_synthetic_overview,
    figure_trust,
    figure_width_families,
)
from saegeom.rules.lm import lm_activations, lm_align, lm_corpus, lm_named_tokenizer, lm_tokenizer, train_lm
from saegeom.rules.sae import pretrained_sae, train_sae
from saegeom.rules.synthetic import shards, world
from saegeom.rules.topology import topology, topology_calibration, topology_compare, topology_summary
from saegeom.rules.viewer import umap_coords, viewer
from saegeom.rules.widths import width_families

__all__ = [
    "calibration", "category_recovery", "compare_models", "comparison_figure", "features", "ground_truth_recovery",
    "lm_activations", "lm_align", "lm_corpus", "lm_named_tokenizer", "lm_tokenizer", "metrics", "pair_features",
    "pretrained_sae", "shards",
    "topology", "topology_calibration", "topology_compare", "topology_summary", "train_lm", "train_sae",
    "umap_coords", "viewer", "world",
    # paper figures
    "figure_features_over_training", "figure_layer_heatmaps", "figure_semantic_subspaces",
    "figure_synthetic_overview", "figure_trust", "figure_families", "figure_width_families",
    "width_families",
]
__all__ += ["ceiling", "families"]  # seed ceiling and feature families
__all__ += ["layer_matrix", "training_table"]  # LM layers and checkpoints
