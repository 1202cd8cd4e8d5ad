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
