"""Feature families across N ≥ 2 models: the match graph of every model pair's pairing, clustered.

**Match graph.** Nodes are (model, latent) for every latent of every model's SAE; an undirected edge joins
two latents of different models that a pairing paired (one row of the pairs table of ``pair_features``),
weighted by the pair's score (the co-activation correlation of the correlation pairings, a cosine for
``decoder_cosine``/``ground_truth``). Only pairs of one pairing (``one_to_one`` by default: mutual best
partners) with score ≥ ``min_score`` become edges.

**Clustering: cycle-consistent greedy merging.** A family holds at most one latent per model (a feature is
one latent in each model that has it). Edges are visited from the highest score down; an edge joins the
families of its two ends unless the merged family would hold two latents of one model, in which case it is
dropped. This is single-linkage agglomeration under a cannot-link constraint (Kruskal's maximum spanning
forest with the constraint); with consistent matches (a–b, b–c and a–c agree) it returns the connected
components, and a chain a1–b1–c1–a2 that would put a1 and a2 together is cut at its weakest link. Written
with a union–find here because no library offers agglomeration with cannot-link constraints (networkx and
scipy give the plain connected components, which would merge a1 and a2).

Every latent belongs to exactly one family; latents without edges are families of one model (size 1).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

#: columns of a families table (one row per member latent)
FAMILY_COLUMNS = ("family", "model", "latent", "n_models", "models", "mean_score")


class _UnionFind:
    def __init__(self, n: int):
        self.parent = np.arange(n)

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:  # path compression
            self.parent[i], i = root, self.parent[i]
        return int(root)


def match_edges(pairs: Mapping[tuple[str, str], pd.DataFrame], pairing: str = "one_to_one",
                min_score: float = 0.0) -> pd.DataFrame:
    """The edges of the match graph: columns ``model_a, latent_a, model_b, latent_b, score``, from the pairs
    tables ``{(model_a, model_b): table with a_idx, b_idx, score, pairing}`` restricted to ``pairing`` and
    ``score >= min_score``. A pair repeated within a table (many-to-one pairings) keeps its best score."""
    frames = []
    for (ma, mb), df in pairs.items():
        if ma == mb:
            raise ValueError(f"a match graph joins different models; got the pair {ma}~{mb}")
        d = df[(df["pairing"] == pairing) & (df["score"] >= min_score)]
        d = d.groupby(["a_idx", "b_idx"], as_index=False)["score"].max()
        frames.append(pd.DataFrame({"model_a": ma, "latent_a": d["a_idx"].to_numpy(np.int64), "model_b": mb,
                                    "latent_b": d["b_idx"].to_numpy(np.int64),
                                    "score": d["score"].to_numpy(np.float64)}))
    cols = ["model_a", "latent_a", "model_b", "latent_b", "score"]
    return pd.concat(frames, ignore_index=True)[cols] if frames else pd.DataFrame(columns=cols)


def cluster_families(edges: pd.DataFrame, sizes: Mapping[str, int]) -> pd.DataFrame:
    """Families of the match graph (module doc): one row per latent of every model in ``sizes``
    ({model: d_sae}), columns ``FAMILY_COLUMNS``. ``family`` numbers families 0, 1, … in the order of their
    first member (models in ``sizes`` order, then latent); ``models``: the comma-joined models that hold the
    family, in ``sizes`` order; ``mean_score``: the mean score of the edges kept inside it (NaN for size 1)."""
    models = list(sizes)
    offset = dict(zip(models, np.cumsum([0, *[int(sizes[m]) for m in models[:-1]]]).tolist(), strict=True))
    n = sum(int(s) for s in sizes.values())
    model_of = np.repeat(np.arange(len(models)), [int(sizes[m]) for m in models])
    unknown = sorted((set(edges["model_a"]) | set(edges["model_b"])) - set(models))
    if unknown:
        raise ValueError(f"match edges name models {unknown} that have no SAE size; known {models}")
    uf = _UnionFind(n)
    holds = {i: {int(model_of[i])} for i in range(n)}  # models held by each root's family
    score_sum, n_edges = np.zeros(n), np.zeros(n, np.int64)
    ordered = edges.sort_values(["score", "model_a", "latent_a", "model_b", "latent_b"],
                                ascending=[False, True, True, True, True], kind="stable")
    for ma, la, mb, lb, s in ordered.itertuples(index=False):
        i, j = offset[ma] + int(la), offset[mb] + int(lb)
        if not (0 <= la < sizes[ma] and 0 <= lb < sizes[mb]):
            raise ValueError(f"edge {ma}:{la}–{mb}:{lb} names a latent outside the SAEs' sizes {dict(sizes)}")
        ri, rj = uf.find(i), uf.find(j)
        if ri == rj:
            score_sum[ri] += s
            n_edges[ri] += 1
            continue
        if holds[ri] & holds[rj]:
            continue  # cannot-link: the merged family would hold two latents of one model
        uf.parent[rj] = ri
        holds[ri] |= holds.pop(rj)
        score_sum[ri] += score_sum[rj] + s
        n_edges[ri] += n_edges[rj] + 1
    roots = np.array([uf.find(i) for i in range(n)])
    _, family = np.unique(roots, return_inverse=True)
    first = pd.Series(np.arange(n)).groupby(family).min()  # renumber in order of the first member
    renumber = np.empty(len(first), np.int64)
    renumber[np.argsort(first.to_numpy(), kind="stable")] = np.arange(len(first))
    family = renumber[family]
    names = np.array(models, dtype=object)
    held = {r: ",".join(names[sorted(holds[r])]) for r in set(roots.tolist())}
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n_edges[roots] > 0, score_sum[roots] / np.maximum(n_edges[roots], 1), np.nan)
    return pd.DataFrame({
        "family": family,
        "model": names[model_of],
        "latent": np.concatenate([np.arange(int(sizes[m]), dtype=np.int64) for m in models]),
        "n_models": np.array([len(holds[r]) for r in roots], np.int64),
        "models": [held[r] for r in roots],
        "mean_score": mean.astype(np.float64),
    }).sort_values(["family", "model", "latent"], kind="stable", ignore_index=True)[list(FAMILY_COLUMNS)]


def families_from_pairs(pairs: Mapping[tuple[str, str], pd.DataFrame], sizes: Mapping[str, int],
                        pairing: str = "one_to_one", min_score: float = 0.0) -> pd.DataFrame:
    """:func:`cluster_families` of :func:`match_edges`."""
    return cluster_families(match_edges(pairs, pairing, min_score), sizes)
