"""Rules of the comparison stack, shared by every source (synthetic and calibration worlds, LM comparisons):
feature caches, pairing, comparison tables, reference recoveries, and the collected outputs.

A comparison's subspace labels come from its source: a synthetic world's ground truth (``world`` given) or,
for language models, the keyword groups of both SAEs' feature caches (``features_a``/``features_b``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from saegeom.io.atomic import atomic_path
from saegeom.io.tables import METRIC_ROW_KEY, METRICS_SCHEMA, concat_metrics, read_metrics, write_metrics, write_table
from saegeom.settings import CompareSettings, PairingSettings

PathLike = str | Path
T = TypeVar("T")


def _need(value: T | None, name: str, why: str) -> T:
    """``value``, or a ValueError naming the rule argument ``name`` that ``why`` needs but is missing."""
    if value is None:
        raise ValueError(f"{name} is required {why}")
    return value


def _load_pair(sae_a: PathLike, sae_b: PathLike, shards_a: PathLike, shards_b: PathLike, device: str, *,
               world: PathLike | None, model_a: str | None, model_b: str | None, gt_threshold: float):
    """Both SAEs and, for a synthetic world, its ``WorldLabels`` (None for LM shards, whose token streams
    are checked to be the same instead)."""
    from saegeom.sae.load import load_sae

    if world is None:
        from saegeom.io.shards import ShardSet
        from saegeom.lm.activations import check_same_tokens

        check_same_tokens(ShardSet(shards_a), ShardSet(shards_b))  # before loading anything
        return load_sae(sae_a, device), load_sae(sae_b, device), None
    saes = load_sae(sae_a, device), load_sae(sae_b, device)
    from saegeom.compare.worlds import WorldLabels
    from saegeom.synthetic.world import World

    why = "to label a synthetic world's comparison"
    return (*saes, WorldLabels(World.load(world), _need(model_a, "model_a", why), _need(model_b, "model_b", why),
                               *saes, gt_threshold))


def pair_features(*, sae_a: PathLike, sae_b: PathLike, shards_a: PathLike, shards_b: PathLike,
                  pairing: PairingSettings, device: str, out: PathLike, world: PathLike | None = None,
                  model_a: str | None = None, model_b: str | None = None) -> None:
    """Rule ``pair_features``: every configured pairing of two models' SAEs over their shard sets
    (``world``: a synthetic world's file, which adds the ``ground_truth`` pairing)."""
    from saegeom.pairing import pair_saes, write_pairs

    a, b, labels = _load_pair(sae_a, sae_b, shards_a, shards_b, device, world=world, model_a=model_a,
                              model_b=model_b, gt_threshold=pairing.gt_threshold)
    extra = labels.extra_pairings() if labels is not None else None
    write_pairs(pair_saes(shards_a, shards_b, a, b, pairing, device=device, extra=extra), out)


def compare_models(*, sae_a: PathLike, sae_b: PathLike, shards_a: PathLike, shards_b: PathLike, pairs: PathLike,
                   compare: CompareSettings, pairing: PairingSettings, context: dict[str, Any], device: str,
                   out: PathLike, world: PathLike | None = None, model_a: str | None = None,
                   model_b: str | None = None, features_a: PathLike | None = None,
                   features_b: PathLike | None = None, corpus: PathLike | None = None,
                   groups: dict[str, list[str]] | None = None, concept_filter: bool | None = False) -> None:
    """Rule ``compare_models``: every pairing × subspace × representation × metric × null of two models' SAEs.

    Subspaces: a synthetic world's ground truth (``world``, ``model_a``, ``model_b``), or ``all`` and every
    ``group:<name>`` of the LM feature caches ``features_a``/``features_b`` (``groups``: the config's keyword
    groups, or None for the categories of ``corpus``; ``concept_filter``: drop non-concept latents)."""
    from saegeom.compare import Context, compare_saes
    from saegeom.pairing import read_pairs

    a, b, labels = _load_pair(sae_a, sae_b, shards_a, shards_b, device, world=world, model_a=model_a,
                              model_b=model_b, gt_threshold=pairing.gt_threshold)
    if labels is None:
        from saegeom.features.latents import read_latents
        from saegeom.lm.groups import GroupLabels
        from saegeom.lm.runtime import resolve_groups

        if features_a is None or features_b is None:
            raise ValueError("features_a and features_b are required to compare language-model SAEs")
        labels = GroupLabels(read_latents(features_a), read_latents(features_b),
                             list(resolve_groups(groups, corpus)), bool(concept_filter))
    df = compare_saes(shards_a, shards_b, a, b, pairs=read_pairs(pairs), subspaces=labels, settings=compare,
                      pairing=pairing, context=Context(**context), device=device)
    write_metrics(df, out)


def features(*, sae: PathLike, shards: PathLike, device: str, out: PathLike, world: PathLike | None = None,
             model: str | None = None, gt_threshold: float | None = None, lm: dict[str, Any] | None = None,
             corpus: PathLike | None = None, groups: dict[str, list[str]] | None = None,
             group_share: float | None = None, k: int | None = None, n_top: int | None = None) -> None:
    """Rule ``features``: the feature cache of one SAE, a directory holding ``latents.parquet`` (one row per
    latent: labels, frequency; ``saegeom.features.latents``).

    Synthetic (``world``, ``model``, ``gt_threshold``): labels from the ground truth. Language models (``lm``:
    ``{"spec", "model_dir", "hook"}``, ``corpus``, ``groups``, ``group_share``, ``k``, ``n_top``): keyword groups
    of each latent's top tokens, plus ``top_tokens.parquet`` and ``codes.safetensors``
    (``saegeom.features.cache``).

    ``codes.safetensors`` (the top-``k`` codes of every held-out token) is an artefact for inspecting latents
    in a notebook (``saegeom.features.read_codes``); no rule reads it. The comparison rules encode the tokens
    they sample themselves, since they need every latent's activation (top-``k`` codes drop the rest of a
    ReLU SAE's code) on tokens that the pairing and nulls choose."""
    if world is not None:
        from saegeom.features.latents import LATENTS_FILE, write_latents
        from saegeom.viz.latents import synthetic_latents_table

        with atomic_path(out) as tmp:
            Path(tmp).mkdir(parents=True, exist_ok=True)
            why = "for a synthetic world's feature cache"
            write_latents(synthetic_latents_table(world, shards, _need(model, "model", why), sae,
                                                  _need(gt_threshold, "gt_threshold", why), device),
                          Path(tmp) / LATENTS_FILE)
        return
    from saegeom.features.cache import build_feature_cache
    from saegeom.io.shards import ShardSet
    from saegeom.lm.runtime import load_tokenizer_of, resolve_groups
    from saegeom.sae.load import load_sae

    why = "for a language model's feature cache"
    lm = _need(lm, "lm", why)
    build_feature_cache(load_sae(sae, device), ShardSet(shards), load_tokenizer_of(lm["spec"], lm["model_dir"]), out,
                        groups=resolve_groups(groups, corpus), group_share=_need(group_share, "group_share", why),
                        k=_need(k, "k", why), n_top=_need(n_top, "n_top", why), device=device)


def ground_truth_recovery(*, world: PathLike, model: str, sae: PathLike, context: dict[str, Any], n_baseline: int,
                          threshold: float, out: PathLike) -> None:
    """Rule ``ground_truth_recovery``: how well one SAE recovers its model's true features."""
    from saegeom.compare import Context
    from saegeom.compare.worlds import ground_truth_recovery_rows
    from saegeom.sae.load import decoder_directions
    from saegeom.synthetic.world import World

    rows = ground_truth_recovery_rows(World.load(world), model, decoder_directions(sae),
                                      Context(**context), n_baseline, threshold)
    write_metrics(pd.DataFrame(rows), out)


def category_recovery(*, sae: PathLike, acts: PathLike, lm: dict[str, Any], corpus: PathLike, precision: float,
                      fire_fraction: float, context: dict[str, Any], device: str, out: PathLike) -> None:
    """Rule ``category_recovery``: per corpus category, the best latent's precision/recall (metrics rows);
    ``acts``: the model's activation cache, ``lm``: ``{"spec", "model_dir", "hook"}``."""
    import logging

    from saegeom.compare import Context
    from saegeom.io.shards import ShardSet, split_shards
    from saegeom.lm.corpus import read_categories
    from saegeom.lm.groups import category_recovery_rows, category_scores
    from saegeom.lm.runtime import load_tokenizer_of
    from saegeom.sae.load import load_sae

    s = ShardSet(acts)
    scores = category_scores(load_sae(sae, device), s, load_tokenizer_of(lm["spec"], lm["model_dir"]),
                             read_categories(corpus), split_shards(s)[1], fire_fraction, device)
    logging.getLogger(__name__).info("category recovery:\n%s", scores.to_string())
    write_metrics(pd.DataFrame(category_recovery_rows(scores, Context(**context), precision)), out)


def metrics(*, tables: list[PathLike], calibration: PathLike | None = None, ceiling: PathLike | None = None,
            out: PathLike) -> None:
    """Rule ``metrics``: every comparison table in one ``results/metrics.parquet``, rows in a stable order,
    with ``q_value`` (Benjamini–Hochberg per family, ``saegeom.compare.multiple_testing``) and, given the
    calibration report, ``trusted`` (its verdict on each row's metric × representation × pairing × null) and,
    given the ceiling table, ``ceiling``/``value_vs_ceiling`` (``saegeom.compare.ceiling.add_ceilings``)."""
    from saegeom.compare.calibration import join_trust
    from saegeom.compare.multiple_testing import add_q_values

    df = concat_metrics(list(tables))
    df = df.sort_values(list(METRIC_ROW_KEY), kind="stable", ignore_index=True)
    df = add_q_values(df)
    if calibration is not None:
        df = join_trust(df, pd.read_parquet(calibration))
    if ceiling is not None:
        from saegeom.compare.ceiling import add_ceilings

        df = add_ceilings(df, pd.read_parquet(ceiling))
    write_metrics(df, out)


def comparison_figure(*, metrics: PathLike, out: PathLike) -> None:
    """Rule ``comparison_figure``: the overview heatmaps of ``results/metrics.parquet``."""
    from saegeom.viz.summary import plot_comparison_summary

    plot_comparison_summary(read_metrics(metrics), out)


def calibration(*, tables: list[PathLike], topology_cases: PathLike | None = None,
                shared_fraction: dict[str, float], table: PathLike, figure: PathLike) -> pd.DataFrame:
    """Rule ``calibration``: false-positive rates, uniformity and trust verdicts of every metric × pairing ×
    null on the calibration worlds (and, given ``topology_cases``, of the topology nulls), and power."""
    from saegeom.compare.calibration import CALIBRATION_SCHEMA, summarise
    from saegeom.viz.calibration import plot_calibration

    summary = summarise(concat_metrics(list(tables)), shared_fraction)
    if topology_cases is not None:
        from saegeom.topology.calibration import topology_calibration

        summary = pd.concat([summary, topology_calibration(read_metrics(topology_cases))], ignore_index=True)
    write_table(summary, table, CALIBRATION_SCHEMA)
    plot_calibration(summary, figure)
    return summary



# ---- seed ceiling ---------------------------------------------------------------------------------------------
def ceiling(*, tables: list[PathLike], replicates: dict[str, dict[str, str]], out: PathLike) -> pd.DataFrame:
    """Rule ``ceiling``: ``results/ceiling.parquet``, the self-replicate values of every seed replicate's
    comparison table (``replicates``: {study: {replicate: model}}; ``saegeom.compare.ceiling``)."""
    from saegeom.compare.ceiling import CEILING_SCHEMA, ceiling_table

    frames = [read_metrics(p) for p in tables]
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=METRICS_SCHEMA.names)
    table = ceiling_table(df, replicates)
    write_table(table, out, CEILING_SCHEMA)
    return table


# ---- LM layers and checkpoints (saegeom.compare.layers) -------------------------------------------------------
def layer_matrix(*, tables: list[PathLike], units: list[dict[str, Any]], out: PathLike) -> pd.DataFrame:
    """Rule ``layer_matrix``: the layer × layer table of one LM study and SAE from its unit-pair comparison
    tables (``units``: the plan's unit records, ``Plan.unit_table``)."""
    from saegeom.compare.layers import LAYER_SCHEMA
    from saegeom.compare.layers import layer_matrix as build

    table = build(concat_metrics(list(tables)), units)
    write_table(table, out, LAYER_SCHEMA)
    return table


def training_table(*, tables: list[PathLike], recovery: list[PathLike], units: list[dict[str, Any]],
                   out: PathLike) -> pd.DataFrame:
    """Rule ``training_table``: each checkpoint's SAE against the final model's, and category recovery per
    checkpoint, of one training study and SAE."""
    from saegeom.compare.layers import TRAINING_SCHEMA
    from saegeom.compare.layers import training_table as build

    table = build(concat_metrics(list(tables)), concat_metrics(list(recovery)), units)
    write_table(table, out, TRAINING_SCHEMA)
    return table
