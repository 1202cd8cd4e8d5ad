"""The feature cache: per SAE, what each latent is and does on held-out tokens.

One directory per SAE, ``results/features/{world}/{model}/{sae}/`` (for language models ``world``
is the LM comparison name), holding (contract shared with the viewer and topology code):

``latents.parquet`` — one row per latent (``LATENTS_SCHEMA``): ``latent``, ``frequency`` (share of
  unmasked tokens where it fires), ``mean_activation`` (over the tokens where it fires; NaN if never),
  ``max_activation``, ``top_tokens`` (≤ 10 distinct top-activating token strings, most active first;
  empty for synthetic), ``label`` (tooltip text: the top tokens joined by " · "), ``group`` (the
  keyword group the latent belongs to, or null), ``is_concept`` (False when its top tokens are
  punctuation, whitespace or special tokens).
``top_tokens.parquet`` (LM) — one row per (latent, rank) of its top activations (``TOP_TOKENS_SCHEMA``),
  with the token and a window of decoded context.
``codes.safetensors`` (LM) — sparse top-k codes of every row of the shard set: ``indices`` (n, k) int32,
  ``values`` (n, k) float32 (masked rows are all zero); metadata ``k``, ``d_sae``, ``shards``.

Token strings are data: anything rendering them into HTML must escape them.
"""

from __future__ import annotations

import json
import unicodedata
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from saegeom.features.latents import (
    CODES_FILE,
    LATENTS_FILE,
    LATENTS_SCHEMA,
    N_LABEL_TOKENS,
    TOP_TOKENS_FILE,
    TOP_TOKENS_SCHEMA,
)
from saegeom.io.atomic import atomic_path
from saegeom.io.shards import MASK, TENSOR, ShardSet
from saegeom.io.tables import write_table
from saegeom.sae.encode import encode_rows


def is_non_concept(token: str, special: frozenset[str] = frozenset()) -> bool:
    """True for special tokens and tokens without a letter or digit (punctuation, whitespace)."""
    if token in special:
        return True
    return not any(unicodedata.category(c)[0] in "LN" for c in token)


def _normal(token: str) -> str:
    return token.strip().lower()


def latent_groups(top_tokens: list[list[str]], groups: dict[str, list[str]], share: float) -> list[str | None]:
    """Group of each latent: the group holding the largest share of its top-activation tokens, if that
    share is ≥ ``share`` (else None). ``top_tokens``: per latent, the tokens of its top activations
    (one entry per activation, not deduplicated)."""
    word_group: dict[str, list[str]] = {}
    for g, words in groups.items():
        for w in words:
            word_group.setdefault(_normal(w), []).append(g)
    out: list[str | None] = []
    for toks in top_tokens:
        if not toks:
            out.append(None)
            continue
        counts: dict[str, int] = {}
        for t in toks:
            for g in word_group.get(_normal(t), []):
                counts[g] = counts.get(g, 0) + 1
        best = max(counts.items(), key=lambda kv: (kv[1], kv[0]), default=(None, 0))
        out.append(best[0] if best[1] / len(toks) >= share else None)
    return out


def _merge_top(best_v: torch.Tensor, best_i: torch.Tensor, v: torch.Tensor, rows: torch.Tensor, n: int):
    """Keep the ``n`` largest values per latent (columns) of the running best and a new batch."""
    cat_v = torch.cat([best_v, v], 0)
    cat_i = torch.cat([best_i, rows[:, None].expand(-1, v.shape[1])], 0)
    top = torch.topk(cat_v, min(n, cat_v.shape[0]), dim=0)
    return top.values, torch.gather(cat_i, 0, top.indices)


@torch.no_grad()
def build_feature_cache(sae, shards: ShardSet, tokenizer, out_dir: str | Path, *,
                        groups: dict[str, list[str]] | None = None, group_share: float = 0.5, k: int = 16,
                        n_top: int = 20, context: tuple[int, int] = (8, 4), batch_size: int = 4096,
                        device: str = "cpu") -> pd.DataFrame:
    """Encode every row of an LM shard set with ``sae`` and write the feature cache (module doc).

    ``groups``: keyword groups (latent ``group``: share of its ``n_top`` top-activation tokens that
    are the group's words ≥ ``group_share``); ``is_concept``: False when at least ``group_share`` of
    them are punctuation/whitespace/special tokens. Returns the latents table.
    """
    from tqdm.auto import tqdm

    from saegeom.io.tensors import save_tensors
    from saegeom.lm.activations import DOC, POS, TOKEN_IDS, read_tokens

    sae.eval()
    d_sae = int(sae.cfg.d_sae)
    k = min(k, d_sae)
    n_rows = shards.n_rows
    indices = np.zeros((n_rows, k), np.int32)
    values = np.zeros((n_rows, k), np.float32)
    fire = torch.zeros(d_sae, dtype=torch.float64)
    act_sum = torch.zeros(d_sae, dtype=torch.float64)
    act_max = torch.zeros(d_sae, dtype=torch.float64)
    best_v = torch.zeros((0, d_sae))
    best_i = torch.zeros((0, d_sae), dtype=torch.long)
    n_valid = 0
    offset = 0
    for s in tqdm(range(shards.n_shards), desc="feature cache", mininterval=5):
        arr = shards.shard_arrays(s)
        x_all, mask = arr[TENSOR], arr.get(MASK, np.ones(len(arr[TENSOR]), np.uint8)).astype(bool)
        for start in range(0, len(x_all), batch_size):
            x = x_all[start : start + batch_size]
            m = torch.from_numpy(mask[start : start + batch_size])
            z = encode_rows(sae, x, device).cpu() * m[:, None]  # masked rows have no code
            top = torch.topk(z, k, dim=1)
            rows = slice(offset + start, offset + start + len(x))
            indices[rows] = top.indices.numpy().astype(np.int32)
            values[rows] = top.values.numpy()
            zv = z[m]
            fire += (zv > 0).sum(0).double()
            act_sum += zv.double().sum(0)  # float64 sums: a float32 sum can put the mean above the max
            act_max = torch.maximum(act_max, zv.max(0).values.double()) if len(zv) else act_max
            n_valid += len(zv)
            row_ids = torch.arange(offset + start, offset + start + len(x))[m]
            best_v, best_i = _merge_top(best_v, best_i, zv, row_ids, n_top)
        offset += len(x_all)
    values[values <= 0] = 0.0

    tok = read_tokens(shards)
    decode = lru_cache(maxsize=None)(lambda i: tokenizer.decode([int(i)]))
    special = frozenset(getattr(tokenizer, "all_special_tokens", []))
    top_rows, top_strings = [], []
    left, right = context
    for latent in range(d_sae):
        strings = []
        for rank in range(best_v.shape[0]):
            a = float(best_v[rank, latent])
            if a <= 0:
                break
            r = int(best_i[rank, latent])
            doc, pos = int(tok[DOC][r]), int(tok[POS][r])
            lo = max(r - min(pos, left), 0)
            hi = r + 1
            while hi < len(tok[DOC]) and hi <= r + right and tok[DOC][hi] == doc:
                hi += 1
            token = decode(int(tok[TOKEN_IDS][r]))
            strings.append(token)
            top_rows.append(dict(latent=latent, rank=rank, activation=a, doc=doc, pos=pos,
                                 token_id=int(tok[TOKEN_IDS][r]), token=token,
                                 context_left=tokenizer.decode(tok[TOKEN_IDS][lo:r].tolist()),
                                 context_right=tokenizer.decode(tok[TOKEN_IDS][r + 1 : hi].tolist())))
        top_strings.append(strings)
    distinct = [list(dict.fromkeys(s))[:N_LABEL_TOKENS] for s in top_strings]
    freq = (fire / max(n_valid, 1)).numpy()
    mean = np.where(fire.numpy() > 0, act_sum.numpy() / np.maximum(fire.numpy(), 1), np.nan)
    latents = pd.DataFrame({
        "latent": np.arange(d_sae, dtype=np.int32), "frequency": freq, "mean_activation": mean,
        "max_activation": act_max.numpy(), "top_tokens": distinct,
        "label": [" · ".join(_normal(t) or repr(t) for t in s) for s in distinct],
        "group": latent_groups(top_strings, groups or {}, group_share),
        "is_concept": [not s or sum(is_non_concept(t, special) for t in s) / len(s) < group_share
                       for s in top_strings],
    })
    with atomic_path(out_dir) as tmp:
        tmp.mkdir(parents=True)
        write_table(latents, tmp / LATENTS_FILE, LATENTS_SCHEMA)
        write_table(pd.DataFrame(top_rows, columns=TOP_TOKENS_SCHEMA.names), tmp / TOP_TOKENS_FILE, TOP_TOKENS_SCHEMA)
        save_tensors(tmp / CODES_FILE, {"indices": indices, "values": values},
                     {"k": k, "d_sae": d_sae, "shards": str(shards.path), "n_rows": n_rows,
                      "groups": json.dumps(sorted(groups or {}), allow_nan=False)})
    return latents

