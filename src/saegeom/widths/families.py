"""Feature families across SAE widths: one-to-many links between the latents of adjacent widths, and labels.

Two SAEs of one model, a narrower one (n latents) and a wider one (w latents), are related by

- ``cosine`` (w, n): cosine of their unit decoder rows (``saegeom.sae.load.decoder_directions``);
- ``coactivation`` (w, n): Pearson correlation of their codes over the same tokens
  (``saegeom.pairing.coactivation_stats``; NaN where a latent never fired), or None (decoders only).

**Link.** Each relation is measured in units of its threshold, ``score = max(cosine / min_cosine,
coactivation / min_coactivation)``; wide latent j and narrow latent i are *linked* when ``score ≥ 1``, i.e.
their decoder directions agree (cosine ≥ ``min_cosine``) or they fire together (correlation ≥
``min_coactivation``). Co-activation is what links a child that fires only with its parent to the narrow
latent of that parent, whose direction it need not share; cosine is what links a direction that split into
several (a narrow latent near the normalised sum of wider ones).

**Parent** of wide latent j: the linked narrow latent of highest score (none if j is linked to none).
**Children** of narrow latent i: the wide latents whose parent it is. **Best continuation** of narrow latent
i: the linked wide latent of highest score.

**Labels** of each wide latent, the first that applies:

- ``dead``: it never fired on the pairing tokens (only when co-activation is given);
- ``novel``: linked to no narrow latent;
- ``merged``: the best continuation of two or more narrow latents (absorbed/merged: several narrower
  latents end in this one);
- ``split``: its parent has two or more children (one of several children of a narrower latent);
- ``same``: its parent's only child (a one-to-one continuation).

The narrowest SAE's latents are the trees' roots (label ``root``). Ties in the argmax go to the lower index.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

#: defaults of a ladder's thresholds (``width_ladders.<name>``; the schema's equal them)
WIDTH_DEFAULTS: dict[str, Any] = {"min_cosine": 0.5, "min_coactivation": 0.15, "gt_threshold": 0.7}
LABELS = ("root", "same", "split", "merged", "novel", "dead")

FAMILIES_SCHEMA = pa.schema([
    ("width", pa.int64()), ("latent", pa.int64()), ("label", pa.string()),
    ("parent_width", pa.int64()), ("parent_latent", pa.int64()), ("n_siblings", pa.int64()),
    ("cosine", pa.float64()), ("coactivation", pa.float64()), ("feature", pa.int64()),
    ("feature_cosine", pa.float64()),
])


def link_scores(cosine: np.ndarray, coactivation: np.ndarray | None, min_cosine: float,
                min_coactivation: float) -> np.ndarray:
    """(w, n) link score of every (wide, narrow) latent pair; NaN counts as no relation."""
    if not 0 < min_cosine <= 1 or not 0 < min_coactivation <= 1:
        raise ValueError(f"min_cosine ({min_cosine}) and min_coactivation ({min_coactivation}) must be in (0, 1]")
    score = np.nan_to_num(np.asarray(cosine, np.float64), nan=-np.inf) / min_cosine
    if coactivation is not None:
        if np.shape(coactivation) != np.shape(cosine):
            raise ValueError(f"coactivation {np.shape(coactivation)} and cosine {np.shape(cosine)} differ in shape")
        score = np.maximum(score, np.nan_to_num(np.asarray(coactivation, np.float64), nan=-np.inf) / min_coactivation)
    return score


def label_latents(cosine: np.ndarray, coactivation: np.ndarray | None = None, *, alive: np.ndarray | None = None,
                  min_cosine: float = WIDTH_DEFAULTS["min_cosine"],
                  min_coactivation: float = WIDTH_DEFAULTS["min_coactivation"]) -> pd.DataFrame:
    """Labels of the wide latents (rows of ``cosine``, (w, n)) against the narrow ones (columns); see the module
    docstring. ``alive``: (w,) whether each wide latent fired (default: all). Returns one row per wide latent:
    ``latent, label, parent_latent`` (−1 when none), ``n_siblings`` (children of its parent, itself included;
    0 when none), ``cosine``, ``coactivation`` (to its parent; NaN when none)."""
    cosine = np.asarray(cosine, np.float64)
    if cosine.ndim != 2 or 0 in cosine.shape:
        raise ValueError(f"cosine must be a non-empty (wide, narrow) matrix, got shape {cosine.shape}")
    w, n = cosine.shape
    score = link_scores(cosine, coactivation, min_cosine, min_coactivation)
    linked = score >= 1
    parent = np.where(linked.any(1), np.argmax(np.where(linked, score, -np.inf), axis=1), -1)
    n_children = np.bincount(parent[parent >= 0], minlength=n)
    best = np.where(linked.any(0), np.argmax(np.where(linked, score, -np.inf), axis=0), -1)  # (n,)
    n_continued = np.bincount(best[best >= 0], minlength=w)
    alive = np.ones(w, bool) if alive is None else np.asarray(alive, bool)
    label = np.where(parent < 0, "novel", np.where(n_continued >= 2, "merged",
                     np.where(n_children[np.maximum(parent, 0)] >= 2, "split", "same")))
    label = np.where(alive, label, "dead").astype(object)
    rows = np.arange(w)
    has = parent >= 0
    coact = np.full(w, np.nan) if coactivation is None else np.asarray(coactivation, np.float64)[rows,
                                                                                               np.maximum(parent, 0)]
    return pd.DataFrame({
        "latent": rows, "label": label, "parent_latent": parent,
        "n_siblings": np.where(has, n_children[np.maximum(parent, 0)], 0),
        "cosine": np.where(has, cosine[rows, np.maximum(parent, 0)], np.nan),
        "coactivation": np.where(has, coact, np.nan),
    })


def feature_map(decoder: np.ndarray, gt: np.ndarray, gt_threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Each latent's true feature: (feature index (−1 below ``gt_threshold``), cosine) for unit decoder rows
    ``decoder`` (d_sae, d) against unit true directions ``gt`` (G, d) — argmax cosine, as the project's
    ``ground_truth`` pairing does."""
    cos = decoder @ gt.T
    f = np.argmax(cos, axis=1)
    c = cos[np.arange(len(f)), f]
    return np.where(c >= gt_threshold, f, -1), c


def family_table(decoders: dict[int, np.ndarray], links: dict[int, pd.DataFrame],
                 features: dict[int, tuple[np.ndarray, np.ndarray]] | None = None) -> pd.DataFrame:
    """The family trees of a width ladder as one table (``FAMILIES_SCHEMA``), rows sorted by (width, latent).

    ``decoders``: {width: (width, d) unit decoder rows}; ``links``: {width: :func:`label_latents` of that width
    against the next narrower one} for every width but the narrowest (whose latents are roots);
    ``features``: {width: :func:`feature_map`} or None (columns ``feature`` −1, ``feature_cosine`` NaN)."""
    widths = sorted(decoders)
    frames = []
    for k, width in enumerate(widths):
        if k == 0:
            df = pd.DataFrame({"latent": np.arange(width), "label": "root", "parent_latent": -1, "n_siblings": 0,
                               "cosine": np.nan, "coactivation": np.nan})
            parent_width = -1
        else:
            df = links[width]
            parent_width = widths[k - 1]
        df = df.assign(width=width, parent_width=np.where(df["parent_latent"] >= 0, parent_width, -1))
        if features is not None:
            f, c = features[width]
            df = df.assign(feature=f[df["latent"]], feature_cosine=c[df["latent"]])
        else:
            df = df.assign(feature=-1, feature_cosine=np.nan)
        frames.append(df)
    out = pd.concat(frames, ignore_index=True)[FAMILIES_SCHEMA.names]
    return out.astype({n: "int64" for n in ("width", "latent", "parent_width", "parent_latent", "n_siblings",
                                            "feature")}).sort_values(["width", "latent"], ignore_index=True)
