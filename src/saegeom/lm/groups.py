"""Semantic subspaces of language-model SAEs and category recovery.

**Subspaces** (``group:<name>``): a latent belongs to a keyword group when at least ``group_share``
of its top-activating tokens are the group's words (``saegeom.features.cache.latent_groups``; the
groups come from config, by default the corpus categories). A pair is in ``group:<g>`` when its
**A end** belongs to g, whatever its B partner's top tokens are. Membership is decided on one side
only so that it does not depend on the similarity being tested: requiring both ends to fall in g
keeps only the pairs whose two latents already agree on which tokens they fire on, so even word
groups with no meaning would look "more similar than a random subset of pairs" (the ``random_subset``
null draws pairs without that selection). The group's question is thus "do A's latents for these
words have partners in B that behave like them?". With the non-concept filter on, pairs with an end
whose top tokens are punctuation/whitespace/special tokens are left out of every subspace, ``all``
included (a filter applied to ``all`` alike, so the nulls draw from the same filtered pairs).

**Category recovery** (the LM analogue of ground-truth recovery): for each category, over the
SAE's held-out tokens, every latent's precision (share of its firings on the category's words) and
recall (share of the category's tokens it fires on), where a latent fires when its activation is at
least ``fire_fraction`` of its maximum; the best latent is the one with the highest F1, and the
category counts as recovered when that latent's precision is ≥ ``precision``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch

from saegeom.compare.rows import Context, make_row
from saegeom.io.shards import MASK, TENSOR, ShardSet
from saegeom.sae.encode import encode_batches

CATEGORY_MODEL = "categories"  # model_b / sae_b of category-recovery rows
RECOVERY_METRICS = ("category_precision", "category_recall", "category_f1")


class GroupLabels:
    """``PairLabels`` of two LM SAEs from their feature caches' ``group`` and ``is_concept`` columns."""

    def __init__(self, latents_a: pd.DataFrame, latents_b: pd.DataFrame, groups: list[str],
                 concept_filter: bool = False):
        self.group_a = latents_a.sort_values("latent")["group"].to_numpy(object)
        self.group_b = latents_b.sort_values("latent")["group"].to_numpy(object)
        self.concept_a = latents_a.sort_values("latent")["is_concept"].to_numpy(bool)
        self.concept_b = latents_b.sort_values("latent")["is_concept"].to_numpy(bool)
        self.groups, self.concept_filter = list(groups), concept_filter

    def masks(self, a_idx: np.ndarray, b_idx: np.ndarray) -> dict[str, np.ndarray]:
        keep = np.ones(len(a_idx), bool)
        if self.concept_filter:
            keep = self.concept_a[a_idx] & self.concept_b[b_idx]
        ga = self.group_a[a_idx]  # the A end decides (module doc)
        return {"all": keep} | {f"group:{g}": keep & (ga == g) for g in self.groups}

    def ground_truth(self, a_idx: np.ndarray, b_idx: np.ndarray) -> None:
        return None

    def extra_pairings(self) -> dict[str, pd.DataFrame]:
        return {}


def token_categories(token_strings: list[str], categories: dict[str, list[str]]) -> np.ndarray:
    """(n_vocab_seen, n_categories) bool: which category each token string belongs to."""
    names = list(categories)
    sets = [{w.strip().lower() for w in categories[c]} for c in names]
    return np.array([[t.strip().lower() in s for s in sets] for t in token_strings], bool).reshape(-1, len(names))


@torch.no_grad()
def category_scores(sae, shards: ShardSet, tokenizer, categories: dict[str, list[str]], shard_ids: list[int],
                    fire_fraction: float = 0.5, device: str = "cpu", batch_size: int = 4096) -> pd.DataFrame:
    """Per category, the best-F1 latent and its precision/recall/F1 on the unmasked rows of ``shard_ids``.

    A latent *fires* on a token when its activation is > 0 and ≥ ``fire_fraction`` × its largest
    activation on these tokens (weak activations of a TopK/ReLU code are not counted as the latent
    "being about" the token; 0 counts every non-zero activation). Counts are exact: ``hits[l, c]`` =
    tokens of category c where latent l fires; precision = hits / firings of l, recall = hits / tokens of c.
    Also reports ``max_precision`` (over latents that fire on ≥ 1 token of c, any recall).
    """
    from saegeom.lm.activations import TOKEN_IDS

    if not 0 <= fire_fraction < 1:
        raise ValueError(f"fire_fraction must be in [0, 1), got {fire_fraction}")
    names = list(categories)
    sae.eval()
    codes, ids = [], []
    for s in shard_ids:
        arr = shards.shard_arrays(s)
        keep = arr[MASK].astype(bool) if MASK in arr else np.ones(len(arr[TENSOR]), bool)
        x = arr[TENSOR][keep]
        ids.append(arr[TOKEN_IDS][keep])
        codes += [z.cpu() for z in encode_batches(sae, x, device, batch_size)]
    z = torch.cat(codes)  # (n_tokens, d_sae)
    token_ids = np.concatenate(ids)
    vocab = np.unique(token_ids)
    member = token_categories([tokenizer.decode([int(t)]) for t in vocab], categories)
    onehot = torch.from_numpy(member[np.searchsorted(vocab, token_ids)].astype(np.float64))  # (n_tokens, n_cat)
    fire = ((z > 0) & (z >= fire_fraction * z.max(0).values)).double()
    hits, fires, size = fire.T @ onehot, fire.sum(0), onehot.sum(0)
    prec = hits / fires.clamp(min=1)[:, None]
    rec = hits / size.clamp(min=1)[None, :]
    f1 = torch.where(prec + rec > 0, 2 * prec * rec / (prec + rec).clamp(min=1e-12), torch.zeros_like(prec))
    best = f1.argmax(0)
    rows = []
    for j, c in enumerate(names):
        b = int(best[j])
        rows.append(dict(category=c, latent=b, precision=float(prec[b, j]), recall=float(rec[b, j]),
                         f1=float(f1[b, j]), n_tokens=int(size[j]), max_precision=float(prec[:, j].max())))
    return pd.DataFrame(rows)


def category_recovery_rows(scores: pd.DataFrame, ctx: Context, precision: float) -> list[dict[str, Any]]:
    """Metrics rows of :func:`category_scores`: per category (``group:<c>``) precision, recall and F1 of the
    best latent; subspace ``all``: ``categories_recovered``, the share of categories whose best latent has
    precision ≥ ``precision``. No null: these are descriptive (pairing ``none``, baseline empty)."""
    rows = []
    for r in scores.itertuples():
        note = "" if r.n_tokens else "category absent from the held-out tokens"
        for metric, value in zip(RECOVERY_METRICS, (r.precision, r.recall, r.f1), strict=True):
            rows.append(make_row(ctx, subspace=f"group:{r.category}", metric=metric,
                                 value=value if r.n_tokens else float("nan"), n_items=r.n_tokens, n_pairs=1,
                                 n_tokens=r.n_tokens, note=note, representation="activations",
                                 pairing="none"))
    present = scores[scores.n_tokens > 0]
    rows.append(make_row(ctx, subspace="all", metric="categories_recovered",
                         value=float((present.precision >= precision).mean()) if len(present) else float("nan"),
                         n_items=len(present), n_pairs=len(present), n_tokens=float(present.n_tokens.sum()),
                         note=f"best-F1 latent precision >= {precision}", representation="activations",
                         pairing="none"))
    return rows
