"""Running a language model inside a job: its tokenizer, the spliced-SAE loss, the keyword groups."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from saegeom.io.shards import ShardSet, split_shards

PathLike = str | Path


def load_tokenizer_of(spec: dict[str, Any], model_dir: PathLike | None):
    """The tokenizer of a model spec without loading the model (toy: its saved ``tokenizer.json``)."""
    from saegeom.lm.tokenizer import TOKENIZER_FILE, load_tokenizer

    if spec["source"] == "toy":
        if model_dir is None:
            raise ValueError("a toy model's tokenizer is read from its model_dir, and none was given")
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


def resolve_groups(groups: dict[str, list[str]] | None, corpus_dir: PathLike | None) -> dict[str, list[str]]:
    """Keyword groups of the config, or (empty/None) the categories of the corpus at ``corpus_dir``."""
    from saegeom.lm.corpus import read_categories

    if groups:
        return dict(groups)
    if corpus_dir is None:
        raise ValueError("no keyword groups configured and no corpus given to take the categories from")
    return read_categories(corpus_dir)
