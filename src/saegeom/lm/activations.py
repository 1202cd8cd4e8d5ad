"""Activation caches of a language model: one hook over the held-out stories, as a shard set.

Rows are token positions, story after story (``doc`` = story index in the held-out split, ``pos``
= position in it, position 0 = BOS); columns are the hook's dimensions. Per-row extras:
``token_ids`` (int64), ``doc`` (int32), ``pos`` (int32), ``mask`` (uint8: 0 at BOS, 1 elsewhere;
padding is never written). Every model that tokenises alike writes the same rows in the same
order, so the shard sets of two models are row-aligned and the pairing works unchanged; the index
metadata records the tokenizer's fingerprint so two sets from different tokenizers are refused
(:func:`check_same_tokens`) unless they were aligned into unit rows (``saegeom.lm.alignment``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from saegeom.io.atomic import atomic_path
from saegeom.io.shards import MASK, ShardSet, ShardWriter
from saegeom.lm.tokenizer import encode_stories, pad_batch, tokenizer_fingerprint

TOKEN_IDS, DOC, POS = "token_ids", "doc", "pos"


class TokenizerMismatch(ValueError):
    """Two language models of one comparison tokenise the corpus differently."""


def hook_layer(hook: str) -> int | None:
    """Layer of a ``blocks.<i>.…`` hook name (None for embedding hooks)."""
    parts = hook.split(".")
    return int(parts[1]) if parts[0] == "blocks" and len(parts) > 2 else None


def check_hook(model, hook: str) -> None:
    """A clear error when ``hook`` is not a hook point of ``model``."""
    if hook not in model.hook_dict:
        near = [h for h in model.hook_dict if h.split(".")[-1] == hook.split(".")[-1]][:6]
        raise ValueError(f"hook {hook!r} is not a hook point of this model ({model.cfg.n_layers} layers); "
                         f"e.g. {near or list(model.hook_dict)[:6]}")


@torch.no_grad()
def model_activations(model, hook: str, seqs: list[np.ndarray], pad_id: int, batch_size: int = 32):
    """Yield (activations (len_i, d), i) of ``hook`` for each sequence of ``seqs``, batched and padded."""
    check_hook(model, hook)
    layer = hook_layer(hook)
    stop = None if layer is None or layer + 1 >= model.cfg.n_layers else layer + 1
    for start in range(0, len(seqs), batch_size):
        batch = seqs[start : start + batch_size]
        tokens, mask = pad_batch(batch, pad_id)
        _, cache = model.run_with_cache(torch.from_numpy(tokens).to(model.cfg.device), names_filter=hook,
                                        stop_at_layer=stop, return_type=None)
        acts = cache[hook].float().cpu().numpy()
        for j, s in enumerate(batch):
            yield acts[j, : len(s)], start + j


def balanced_shard_rows(n_rows: int, shard_rows: int) -> int:
    """Rows per shard that split ``n_rows`` into as many shards as ``shard_rows`` needs (⌈n_rows / shard_rows⌉)
    of near-equal size: every shard ≤ ``shard_rows`` and the last one ≥ n_rows / n_shards − n_shards + 1.

    The last shard is the held-out set (comparisons' activations and firing frequencies). Cut at exactly
    ``shard_rows`` it held ``n_rows mod shard_rows`` rows, whatever that happened to be: 264 of 49 416 rows
    for one demo seed, so most latents looked dead there and the ``random_partners`` null was undefined."""
    if n_rows < 0 or shard_rows <= 0:
        raise ValueError(f"need n_rows >= 0 and shard_rows > 0, got {n_rows} and {shard_rows}")
    n_shards = max(1, -(-n_rows // shard_rows))
    return max(1, -(-n_rows // n_shards))


def cache_activations(model, tokenizer, hook: str, stories: list[str], out_dir: str | Path, shard_rows: int,
                      n_ctx: int | None = None, batch_size: int = 32, meta: dict[str, Any] | None = None) -> ShardSet:
    """Write ``hook``'s activations on ``stories`` as a shard set (module doc), atomically; shards of at most
    ``shard_rows`` rows, near-equal in size (:func:`balanced_shard_rows`)."""
    from tqdm.auto import tqdm

    n_ctx = n_ctx or model.cfg.n_ctx
    seqs = encode_stories(tokenizer, stories, n_ctx)
    shard_rows = balanced_shard_rows(sum(len(q) for q in seqs), shard_rows)  # one row per token of each sequence
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    info = {**(meta or {}), "hook": hook, "tokenizer": tokenizer_fingerprint(tokenizer), "n_docs": len(seqs),
            "n_ctx": n_ctx}
    with atomic_path(out_dir) as tmp:
        writer = None
        for acts, i in tqdm(model_activations(model, hook, seqs, int(pad_id), batch_size), total=len(seqs),
                            desc=f"cache {hook}", mininterval=5):
            if writer is None:
                d = acts.shape[1]
                writer = ShardWriter(tmp, d, shard_rows, {**info, "d_model": d})
            n = len(acts)
            mask = np.ones(n, np.uint8)
            mask[0] = 0  # BOS
            writer.add(acts, {TOKEN_IDS: seqs[i][:n], DOC: np.full(n, i, np.int32), POS: np.arange(n, dtype=np.int32),
                              MASK: mask})
        if writer is None:
            raise ValueError("no activations to cache: no stories were given")
        writer.close()
    return ShardSet(out_dir)


def check_same_tokens(a: ShardSet, b: ShardSet) -> None:
    """Refuse two LM shard sets whose tokenizers or token streams differ (they are not row-aligned)."""
    ta, tb = a.meta.get("tokenizer"), b.meta.get("tokenizer")
    if ta != tb:
        raise TokenizerMismatch(
            f"{a.path} ({a.meta.get('model', '?')}) and {b.path} ({b.meta.get('model', '?')}) were tokenised by "
            f"different tokenizers (fingerprints {ta} vs {tb}): their token positions are not the same, so the "
            f"SAEs cannot be compared token by token. To compare them across tokenizers, give the comparison an "
            f"alignment block (lm.comparisons.<name>.alignment: {{units: words, aggregation: last}}; "
            f"docs/language-models.md, 'Comparing models with different tokenizers'): rows then become units of "
            f"text both tokenizers agree on")
    if a.n_rows != b.n_rows:
        raise TokenizerMismatch(f"{a.path} and {b.path} hold {a.n_rows} vs {b.n_rows} token rows although their "
                                f"tokenizers agree: were they cached from different corpora or n_ctx?")


def read_tokens(shards: ShardSet, shard_ids: list[int] | None = None) -> dict[str, np.ndarray]:
    """``token_ids``, ``doc``, ``pos``, ``mask`` of every row of the given shards (all rows, masked included)."""
    parts: dict[str, list[np.ndarray]] = {TOKEN_IDS: [], DOC: [], POS: [], MASK: []}
    for i in shard_ids if shard_ids is not None else range(shards.n_shards):
        arr = shards.shard_arrays(i)
        for k in parts:
            parts[k].append(arr[k])
    return {k: np.concatenate(v) for k, v in parts.items()}


def docs_of(tokens: dict[str, np.ndarray], max_docs: int | None = None) -> list[np.ndarray]:
    """Whole stories (token-id arrays starting at position 0) found in ``tokens`` rows, in order."""
    out = []
    starts = np.flatnonzero(tokens[POS] == 0)
    bounds = [*starts, len(tokens[POS])]
    for s, e in zip(bounds[:-1], bounds[1:], strict=True):
        seg_doc = tokens[DOC][s:e]
        n = int((seg_doc == seg_doc[0]).sum())
        out.append(tokens[TOKEN_IDS][s : s + n])
        if max_docs is not None and len(out) >= max_docs:
            break
    return out
