"""Rules of the language-model source: corpus → tokenizer → toy LMs → activation caches."""

from __future__ import annotations

from pathlib import Path
from typing import Any

PathLike = str | Path


def lm_corpus(*, n_stories: int, heldout_fraction: float, seed: int, out: PathLike) -> None:
    """Rule ``lm_corpus``: stories, held-out split and word categories (a directory)."""
    from saegeom.lm.corpus import write_corpus

    write_corpus(out, n_stories, heldout_fraction, seed)


def lm_tokenizer(*, corpus: PathLike, out: PathLike) -> None:
    """Rule ``lm_tokenizer``: a word-level ``tokenizer.json`` trained on the training stories."""
    from saegeom.lm.corpus import read_stories
    from saegeom.lm.tokenizer import train_tokenizer

    train_tokenizer(read_stories(Path(corpus) / "train.txt"), out)


def train_lm(*, corpus: PathLike, tokenizer: PathLike, spec: dict[str, Any], seed: int, device: str, out: PathLike,
             checkpoint_dir: PathLike | None = None, checkpoint: dict[str, Any] | None = None,
             snapshot_steps: list[int] | None = None) -> dict[str, Any]:
    """Rule ``train_lm``: one toy ``HookedTransformer`` on the training stories (metrics.json beside it);
    ``checkpoint``: the config block (``saegeom.sae.checkpoint.CheckpointPolicy``), state in ``checkpoint_dir``;
    ``snapshot_steps``: steps whose weights are saved too (``steps/<N>/``, the checkpoints of ``lm.training``)."""
    import torch

    from saegeom.lm.corpus import read_stories
    from saegeom.lm.models import toy_config, train_toy_lm
    from saegeom.lm.tokenizer import encode_stories, load_tokenizer
    from saegeom.sae.checkpoint import CheckpointPolicy

    tok = load_tokenizer(tokenizer)
    n_ctx = toy_config(spec, len(tok.get_vocab()), seed).n_ctx
    torch.manual_seed(seed)
    train = encode_stories(tok, read_stories(Path(corpus) / "train.txt"), n_ctx)
    held = encode_stories(tok, read_stories(Path(corpus) / "heldout.txt"), n_ctx)
    return train_toy_lm(spec, tokenizer, train, held, out, seed, device, checkpoint_dir=checkpoint_dir,
                        checkpoint=CheckpointPolicy(**(checkpoint or {})), snapshot_steps=snapshot_steps or ())


def lm_activations(*, corpus: PathLike, lm: str, spec: dict[str, Any], model_dir: PathLike | None, hook: str,
                   shard_rows: int, device: str, out: PathLike) -> None:
    """Rule ``lm_activations``: ``hook`` of model ``lm`` over the held-out stories, as a shard set."""
    from saegeom.lm.activations import cache_activations
    from saegeom.lm.corpus import read_stories
    from saegeom.lm.models import load_lm

    model, tok = load_lm(spec, model_dir, device)
    cache_activations(model, tok, hook, read_stories(Path(corpus) / "heldout.txt"), out, shard_rows,
                      meta={"model": lm, "source": spec["source"]})


# ---- models with different tokenizers ------------------------------------------------------------------------
def lm_named_tokenizer(*, corpus: PathLike, spec: dict[str, Any], out: PathLike) -> None:
    """Rule ``lm_named_tokenizer``: a tokenizer of ``lm.tokenizers`` (``spec``: ``{kind, vocab_size}``) trained on
    the training stories (``saegeom.lm.tokenizer.train_tokenizer_of_kind``)."""
    from saegeom.lm.corpus import read_stories
    from saegeom.lm.tokenizer import train_tokenizer_of_kind

    train_tokenizer_of_kind(read_stories(Path(corpus) / "train.txt"), out, spec["kind"], spec.get("vocab_size"))


def lm_align(*, corpus: PathLike, caches: dict[str, str], lms: dict[str, dict[str, Any]], units: str,
             aggregation: str, length_cap: int, shard_rows: int, out: PathLike) -> dict[str, Any]:
    """Rule ``lm_align``: the models of a cross-tokenizer comparison on the held-out stories, as aligned unit
    rows (one shard set per model under ``out``, plus ``units.parquet`` and the alignment report;
    ``saegeom.lm.alignment.align_caches``). ``caches``: {model: its token activation cache}; ``lms``:
    {model: ``{"spec", "model_dir", "hook"}``} (the tokenizer of each)."""
    import logging

    from saegeom.io.shards import ShardSet
    from saegeom.lm.alignment import align_caches
    from saegeom.lm.corpus import read_stories
    from saegeom.lm.runtime import load_tokenizer_of

    tokenizers = {m: load_tokenizer_of(info["spec"], info["model_dir"]) for m, info in lms.items()}
    report = align_caches(read_stories(Path(corpus) / "heldout.txt"), {m: ShardSet(p) for m, p in caches.items()},
                          tokenizers, out, units=units, aggregation=aggregation, length_cap=length_cap,
                          shard_rows=shard_rows)
    logging.getLogger(__name__).info("alignment: %d of %d units aligned (%.3f of their characters); dropped %s",
                                     report["n_aligned"], report["n_units"], report["share_chars_aligned"],
                                     report["dropped"])
    return report
