"""Synthetic inputs of the viewer page (coordinates, latents tables, pairs) with a known structure."""

from __future__ import annotations

import numpy as np
import pandas as pd

GROUP_TOKENS = {"fruit": ["apple", "pear", "plum"], "tools": ["hammer", "saw", "drill"],
                "weather": ["rain", "snow", "wind"]}
INJECTIONS = ["</script><script>window.__pwned = 1</script>", '<img src=x onerror="window.__pwned = 1">',
              "<!--", "&lt;b&gt;not bold&lt;/b&gt;", "\u2028x"]


def latents(n: int, side: str, groups: np.ndarray, extra_tokens: list[str] | None = None) -> pd.DataFrame:
    """latents.parquet-shaped table: latent i of group g has tokens [<side>tok<i>, <the group's tokens>]."""
    names = list(GROUP_TOKENS)
    tokens = [[f"{side}tok{i}", *GROUP_TOKENS[names[g]]] + (extra_tokens or []) for i, g in enumerate(groups)]
    return pd.DataFrame({"latent": np.arange(n, dtype=np.int32), "frequency": np.linspace(0.001, 0.1, n),
                         "mean_activation": 1.0, "max_activation": 2.0, "top_tokens": tokens,
                         "label": [" · ".join(t) for t in tokens], "group": [names[g] for g in groups],
                         "is_concept": True})


def viewer_inputs(n: int = 300, seed: int = 0, extra_tokens: list[str] | None = None):
    """(coords_a, coords_b, latents_a, latents_b, pairs, groups_a, groups_b) for ``n`` latents per side.

    Three groups as well-separated blobs in each map; pairing ``many_to_one``: B latent j → A latent
    ``j // 2`` for j < n (so A latent i has partners 2i and 2i + 1); pairing ``hungarian``: i → perm(i)."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [5.0, 9.0]])
    ga, gb = rng.integers(0, 3, n), rng.integers(0, 3, n)
    ca = centres[ga] + rng.standard_normal((n, 2))
    cb = centres[::-1][gb] + rng.standard_normal((n, 2))
    j = np.arange(n)
    m2o = pd.DataFrame({"a_idx": j // 2, "b_idx": j, "score": rng.uniform(0.3, 1.0, n), "pairing": "many_to_one",
                        "min_score": 0.3})
    hun = pd.DataFrame({"a_idx": j, "b_idx": rng.permutation(n), "score": rng.uniform(0.3, 1.0, n),
                        "pairing": "hungarian", "min_score": 0.3})
    pairs = pd.concat([m2o, hun], ignore_index=True)
    return ca, cb, latents(n, "a", ga, extra_tokens), latents(n, "b", gb, extra_tokens), pairs, ga, gb


def metric_rows():
    from saegeom.compare.rows import Context, make_row

    ctx = Context(source="synthetic", world="w", model_a="a", sae_a="s", model_b="b", sae_b="s")
    return pd.DataFrame([make_row(ctx, subspace=s, representation="decoder", pairing="many_to_one", metric="linear_cka",
                                  value=v, baseline="random_partners", baseline_mean=0.2, baseline_std=0.1, p_value=p,
                                  n_baseline=100, n_baseline_valid=100, n_pairs=50, note="<b>note</b>")
                         for s, v, p in [("all", 0.81, 0.0099), ("cluster:1", 0.4, 0.2)]])


LM_TOKENS = [" the", ",", ".", " of", "\n", " and", "'s", " (", ")", "-", ":", ' "', "ing", " a", "\t", "...",
             " ·", ";"]


def demo_like_inputs(n: int = 400, n_groups: int = 40, seed: int = 0):
    """A page like an LM comparison: ``n`` latents per side in ``n_groups`` keyword groups ("topic 0", ...;
    a fifth of the latents in none), LM-style tokens (leading spaces, punctuation, newline, tab), both
    pairings of :func:`viewer_inputs`, and metric rows for every group × representation × metric
    (p-values (k + 1)/101 of 100 null draws, some undefined)."""
    from saegeom.compare.rows import Context, make_row

    rng = np.random.default_rng(seed)
    ca, cb, la, lb, pairs, _, _ = viewer_inputs(n=n, seed=seed)
    centres = rng.uniform(-30, 30, (n_groups, 2))
    names = [f"topic {g}" for g in range(n_groups)]
    out = []
    for coords, lat in ((ca, la), (cb, lb)):
        g = rng.integers(0, n_groups, n)
        coords[:] = centres[g] + rng.standard_normal((n, 2))
        lat["group"] = [None if rng.random() < 0.2 else names[k] for k in g]
        lat["top_tokens"] = [list(rng.choice(LM_TOKENS, 5, replace=False)) for _ in range(n)]
        lat["label"] = [f"{grp if isinstance(grp, str) else 'no group'} · f={f:.3f}"
                        for grp, f in zip(lat.group, lat.frequency, strict=True)]
        out.append(g)
    ctx = Context(source="lm", world="lm", model_a="lm_a", sae_a="s", model_b="lm_b", sae_b="s")
    rows = []
    for sub in ["all", *[f"group:{g}" for g in names]]:
        for rep in ("decoder", "activations"):
            for metric in ("linear_cka", "rsa"):
                k = 0 if rng.random() < 0.15 else int(rng.integers(0, 101))   # some at the floor 1/101
                undefined = rng.random() < 0.3
                rows.append(make_row(ctx, subspace=sub, representation=rep, pairing="hungarian", metric=metric,
                                     value=float("nan") if undefined else rng.uniform(0, 1),
                                     baseline="random_partners", baseline_mean=0.1, baseline_std=0.05,
                                     p_value=float("nan") if undefined else (k + 1) / 101, n_baseline=100,
                                     n_baseline_valid=0 if undefined else 100, n_pairs=30,
                                     note="too few pairs (1 < 2)" if undefined else ""))
    return ca, cb, la, lb, pairs, pd.DataFrame(rows)


def families_table(n: int, pairs: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """A families table (``results/families/{study}/{sae}.parquet`` shape) of three models ``a``, ``b``, ``c``
    with ``n`` latents each, clustered (saegeom.families) from 70% of the ``hungarian`` pairs of
    :func:`viewer_inputs` as a~b and random partial one-to-one matches a~c and b~c: families of one, two and
    three models, and A latents whose family has no B latent."""
    from saegeom.families import families_from_pairs

    rng = np.random.default_rng(seed)
    ab = pairs[pairs.pairing == "hungarian"].sample(frac=0.7, random_state=seed)

    def random_matches() -> pd.DataFrame:
        k = int(0.6 * n)
        return pd.DataFrame({"a_idx": rng.permutation(n)[:k], "b_idx": rng.permutation(n)[:k],
                             "score": rng.uniform(0.3, 1.0, k), "pairing": "hungarian"})

    tables = {("a", "b"): ab, ("a", "c"): random_matches(), ("b", "c"): random_matches()}
    fam = families_from_pairs(tables, {"a": n, "b": n, "c": n}, pairing="hungarian")
    return fam.sample(frac=1.0, random_state=seed).reset_index(drop=True)  # row order must not matter
