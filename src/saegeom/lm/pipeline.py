"""One function per language-model rule (``rules/lm.smk``): read the rule's inputs, call the library,
write its outputs atomically. Settings arrive as config blocks (``lm`` in ``config.yaml``)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from saegeom.io.shards import ShardSet, split_shards
from saegeom.utils import resolve_device

PathLike = str | Path
log = logging.getLogger(__name__)


def corpus(out_dir: PathLike, n_stories: int, heldout_fraction: float, seed: int) -> None:
    """Rule ``lm_corpus``: stories, held-out split and word categories."""
    from saegeom.lm.corpus import write_corpus

    write_corpus(out_dir, n_stories, heldout_fraction, seed)


def tokenizer(corpus_dir: PathLike, out: PathLike) -> None:
    """Rule ``lm_tokenizer``: a word-level ``tokenizer.json`` trained on the training stories."""
    from saegeom.lm.corpus import read_stories
    from saegeom.lm.tokenizer import train_tokenizer

    train_tokenizer(read_stories(Path(corpus_dir) / "train.txt"), out)


def train_lm(corpus_dir: PathLike, tokenizer_file: PathLike, spec: dict[str, Any], seed: int, device: str,
             out: PathLike, checkpoint_dir: PathLike | None = None,
             checkpoint: dict[str, Any] | None = None) -> dict[str, Any]:
    """Rule ``train_lm``: one toy ``HookedTransformer`` on the training stories (metrics.json beside it);
    ``checkpoint``: the config block (``saegeom.sae.checkpoint.CheckpointPolicy``), state in ``checkpoint_dir``."""
    import torch

    from saegeom.lm.corpus import read_stories
    from saegeom.lm.models import toy_config, train_toy_lm
    from saegeom.lm.tokenizer import encode_stories, load_tokenizer

    device = resolve_device(device)
    tok = load_tokenizer(tokenizer_file)
    n_ctx = toy_config(spec, len(tok.get_vocab()), seed).n_ctx
    torch.manual_seed(seed)
    train = encode_stories(tok, read_stories(Path(corpus_dir) / "train.txt"), n_ctx)
    held = encode_stories(tok, read_stories(Path(corpus_dir) / "heldout.txt"), n_ctx)
    from saegeom.sae.checkpoint import CheckpointPolicy

    return train_toy_lm(spec, tokenizer_file, train, held, out, seed, device, checkpoint_dir=checkpoint_dir,
                        checkpoint=CheckpointPolicy(**(checkpoint or {})))


def load_tokenizer_of(spec: dict[str, Any], model_dir: PathLike | None):
    """The tokenizer of a model spec without loading the model (toy: its saved ``tokenizer.json``)."""
    from saegeom.lm.tokenizer import TOKENIZER_FILE, load_tokenizer

    if spec["source"] == "toy":
        return load_tokenizer(Path(model_dir) / TOKENIZER_FILE)
    from transformers import AutoTokenizer

    if spec["source"] == "local":
        return AutoTokenizer.from_pretrained(str(spec["path"]), local_files_only=True)
    from saegeom.lm.models import ModelUnavailable

    try:
        return AutoTokenizer.from_pretrained(spec["name"])
    except OSError as e:
        raise ModelUnavailable(f"could not load the tokenizer of pretrained model {spec['name']!r}: {e}. Point "
                               f"`source: local, path: DIR` at a downloaded copy instead") from e


def cache_lm(corpus_dir: PathLike, name: str, spec: dict[str, Any], model_dir: PathLike | None, hook: str,
             shard_rows: int, device: str, out: PathLike) -> None:
    """Rule ``lm_activations``: ``hook`` of one model over the held-out stories, as a shard set."""
    from saegeom.lm.activations import cache_activations
    from saegeom.lm.corpus import read_stories
    from saegeom.lm.models import load_lm

    device = resolve_device(device)
    model, tok = load_lm(spec, model_dir, device)
    cache_activations(model, tok, hook, read_stories(Path(corpus_dir) / "heldout.txt"), out, shard_rows,
                      meta={"model": name, "source": spec["source"]})


def splice_metrics(spec: dict[str, Any], model_dir: PathLike | None, shards: PathLike, hook: str, device: str,
                   max_docs: int = 256):
    """A callable SAE → CE-loss recovered / KL on the held-out shard's stories (``saegeom.lm.splice``)."""
    from saegeom.lm.activations import docs_of, read_tokens
    from saegeom.lm.models import load_lm
    from saegeom.lm.splice import spliced_loss
    from saegeom.lm.tokenizer import bos_id

    def evaluate(sae) -> dict[str, Any]:
        model, tok = load_lm(spec, model_dir, device)
        s = ShardSet(shards)
        docs = docs_of(read_tokens(s, split_shards(s)[1]), max_docs)
        pad = tok.pad_token_id if tok.pad_token_id is not None else bos_id(tok)
        return {**spliced_loss(model, sae, hook, docs, int(pad), bos_id(tok)), "hook": hook}

    return evaluate


def load_pretrained_sae(source: dict[str, Any], shards: PathLike, spec: dict[str, Any], model_dir: PathLike | None,
                        hook: str, device: str, out: PathLike) -> dict[str, Any]:
    """Rule ``pretrained_sae``: a SAELens SAE (``release``/``sae_id`` or a local ``path``) saved like a
    trained one, with ``metrics.json`` measured on the held-out shard (and CE-loss recovered)."""
    from saegeom.io import strict_json
    from saegeom.io.atomic import atomic_path
    from saegeom.sae.evaluate import evaluate_sae
    from saegeom.sae.load import METRICS_FILE, load_sae_source

    device = resolve_device(device)
    sae = load_sae_source(source, device, model_name=spec.get("name") if spec["source"] == "pretrained" else None,
                          hook=hook)  # verified folder, finite weights, recorded model/hook
    s = ShardSet(shards)
    if int(sae.cfg.d_in) != s.d:
        raise ValueError(f"pretrained SAE {source} reads d_in={sae.cfg.d_in} but hook {hook} has width {s.d}")
    metrics = evaluate_sae(sae, s.iter_batches(4096, max_rows=65536, shards=split_shards(s)[1]), device)
    metrics.update(splice_metrics(spec, model_dir, shards, hook, device)(sae))
    metrics.update(d_in=s.d, d_sae=int(sae.cfg.d_sae), pretrained=source, device=device)
    with atomic_path(out) as tmp:
        sae.save_inference_model(tmp) if hasattr(sae, "save_inference_model") else sae.save_model(tmp)
        (Path(tmp) / METRICS_FILE).write_text(strict_json.dumps(metrics, indent=1))
    return metrics


def resolve_groups(groups: dict[str, list[str]] | None, corpus_dir: PathLike) -> dict[str, list[str]]:
    """Keyword groups of the config, or (empty/None) the corpus categories."""
    from saegeom.lm.corpus import read_categories

    return dict(groups) if groups else read_categories(corpus_dir)


def features(sae_dir: PathLike, shards: PathLike, spec: dict[str, Any], model_dir: PathLike | None,
             corpus_dir: PathLike, groups: dict[str, list[str]] | None, group_share: float, k: int, n_top: int,
             device: str, out: PathLike) -> None:
    """Rule ``lm_features``: the feature cache of one LM SAE (``saegeom.features.cache``)."""
    from saegeom.features.cache import build_feature_cache
    from saegeom.sae.load import load_sae

    device = resolve_device(device)
    build_feature_cache(load_sae(sae_dir, device), ShardSet(shards), load_tokenizer_of(spec, model_dir), out,
                        groups=resolve_groups(groups, corpus_dir), group_share=group_share, k=k, n_top=n_top,
                        device=device)


def category_recovery(sae_dir: PathLike, shards: PathLike, spec: dict[str, Any], model_dir: PathLike | None,
                      corpus_dir: PathLike, precision: float, fire_fraction: float, context: dict[str, Any],
                      device: str, out: PathLike) -> None:
    """Rule ``category_recovery``: per corpus category, the best latent's precision/recall (metrics rows)."""
    import pandas as pd

    from saegeom.compare import Context
    from saegeom.io.tables import write_metrics
    from saegeom.lm.corpus import read_categories
    from saegeom.lm.groups import category_recovery_rows, category_scores
    from saegeom.sae.load import load_sae

    device = resolve_device(device)
    s = ShardSet(shards)
    scores = category_scores(load_sae(sae_dir, device), s, load_tokenizer_of(spec, model_dir),
                             read_categories(corpus_dir), split_shards(s)[1], fire_fraction, device)
    log.info("category recovery:\n%s", scores.to_string())
    write_metrics(pd.DataFrame(category_recovery_rows(scores, Context(**context), precision)), out)


def pair_lm_features(acts_a: PathLike, acts_b: PathLike, sae_a: PathLike, sae_b: PathLike,
                     pairing: dict[str, Any], device: str, out: PathLike) -> None:
    """Rule ``lm_pair_features``: every configured pairing of two LMs' SAEs (same tokens required)."""
    from saegeom.lm.activations import check_same_tokens
    from saegeom.pairing import pair_saes, write_pairs
    from saegeom.sae.load import load_sae
    from saegeom.settings import PairingSettings

    check_same_tokens(ShardSet(acts_a), ShardSet(acts_b))
    device = resolve_device(device)
    settings = PairingSettings(**pairing)
    write_pairs(pair_saes(acts_a, acts_b, load_sae(sae_a, device), load_sae(sae_b, device), settings,
                          device=device), out)


def compare_lm_models(acts_a: PathLike, acts_b: PathLike, sae_a: PathLike, sae_b: PathLike, pairs: PathLike,
                      features_a: PathLike, features_b: PathLike, corpus_dir: PathLike,
                      groups: dict[str, list[str]] | None, concept_filter: bool, compare: dict[str, Any],
                      pairing: dict[str, Any], context: dict[str, Any], device: str, out: PathLike) -> None:
    """Rule ``lm_compare``: ``all`` and every ``group:<name>`` of two LMs' SAEs through ``compare_saes``."""
    from saegeom.compare import Context, compare_saes
    from saegeom.features.latents import read_latents
    from saegeom.io.tables import write_metrics
    from saegeom.lm.activations import check_same_tokens
    from saegeom.lm.groups import GroupLabels
    from saegeom.pairing import read_pairs
    from saegeom.sae.load import load_sae
    from saegeom.settings import CompareSettings, PairingSettings

    check_same_tokens(ShardSet(acts_a), ShardSet(acts_b))
    device = resolve_device(device)
    labels = GroupLabels(read_latents(features_a), read_latents(features_b),
                         list(resolve_groups(groups, corpus_dir)), concept_filter)
    df = compare_saes(acts_a, acts_b, load_sae(sae_a, device), load_sae(sae_b, device), pairs=read_pairs(pairs),
                      subspaces=labels, settings=CompareSettings(**compare), pairing=PairingSettings(**pairing),
                      context=Context(**context), device=device)
    write_metrics(df, out)
