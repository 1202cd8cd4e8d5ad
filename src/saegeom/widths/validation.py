"""Per-width summary of a width ladder: label counts and recovered parent → child links against a planted
hierarchy.

At each width but the narrowest, a **recovered link** is the pair (true feature of the narrow parent latent,
true feature of the wide latent) of a wide latent labelled ``split``, when both latents map to a true feature
(decoder cosine ≥ ``gt_threshold``, :func:`saegeom.widths.families.feature_map`) and the features differ (a
continuation of the same feature is not a link). Links are sets of feature pairs (duplicates count once).

- ``precision`` = |recovered ∩ planted| / |recovered| (NaN when nothing is recovered);
- ``recall`` = |recovered ∩ planted| / |planted|;
- ``recall_cumulative``: the same for the links recovered at this width or any narrower one (children
  appear at different widths: a link counts once found);
- ``n_new_children``: planted children that first appear at this width (some latent maps to them here and
  none at any narrower width); ``recall_new``: the share of their links recovered at this width — the recall
  "where the children first appear" (NaN when no child is new);
- ``children_present``/``parents_present``: fraction of planted children/parents that some latent of the
  width maps to (where children "first appear" along the ladder).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from saegeom.synthetic.hierarchy import PlantedHierarchy

#: label counts per width (every ladder), then the validation (NaN / 0 without a planted hierarchy)
COUNT_LABELS = ("same", "split", "merged", "novel", "dead")
VALIDATION_SCHEMA = pa.schema([
    ("width", pa.int64()), ("parent_width", pa.int64()), ("n_latents", pa.int64()),
    *[(f"n_{label}", pa.int64()) for label in COUNT_LABELS],
    ("n_planted", pa.int64()), ("n_recovered", pa.int64()),
    ("n_correct", pa.int64()), ("precision", pa.float64()), ("recall", pa.float64()),
    ("recall_cumulative", pa.float64()), ("n_new_children", pa.int64()), ("recall_new", pa.float64()),
    ("children_present", pa.float64()), ("parents_present", pa.float64()),
])


def recovered_links(families: pd.DataFrame, width: int) -> set[tuple[int, int]]:
    """(parent feature, child feature) pairs recovered at ``width`` from a family table (``FAMILIES_SCHEMA``)."""
    rows = families[families["width"] == width]
    if rows.empty:
        return set()
    narrow = families[families["width"] == int(rows["parent_width"].max())].set_index("latent")["feature"]
    split = rows[(rows["label"] == "split") & (rows["feature"] >= 0)]
    out = set()
    for parent_latent, child_feature in zip(split["parent_latent"], split["feature"], strict=True):
        pf = int(narrow.get(parent_latent, -1))
        if pf >= 0 and pf != child_feature:
            out.add((pf, int(child_feature)))
    return out


def validate_links(families: pd.DataFrame, hierarchy: PlantedHierarchy | None = None) -> pd.DataFrame:
    """Per width (all but the narrowest): label counts and, with a planted ``hierarchy``, precision and recall of
    recovered parent → child links against the planted ones (``VALIDATION_SCHEMA``; without one, the
    validation columns are 0 / NaN). ``families``'s ``feature`` column holds world feature indices."""
    planted = set() if hierarchy is None else {(int(p), int(c)) for p, c in
                                               zip(hierarchy.parent, hierarchy.child, strict=True)}
    widths = sorted(int(w) for w in families["width"].unique())
    rows = []
    found: set[tuple[int, int]] = set()
    children = [] if hierarchy is None else hierarchy.child.tolist()
    parents = [] if hierarchy is None else hierarchy.parents.tolist()
    seen = set(families.loc[(families["width"] == widths[0]) & (families["feature"] >= 0), "feature"].astype(int))
    for k, width in enumerate(widths[1:], start=1):
        here = families[families["width"] == width]
        counts = here["label"].value_counts()
        rec = recovered_links(families, width)
        correct = len(rec & planted)
        found |= rec & planted
        present = set(here.loc[here["feature"] >= 0, "feature"].astype(int))
        new = {(p, c) for p, c in planted if c in present and c not in seen}
        seen |= present
        nan = float("nan")
        rows.append({
            "width": width, "parent_width": widths[k - 1], "n_latents": len(here),
            **{f"n_{label}": int(counts.get(label, 0)) for label in COUNT_LABELS},
            "n_planted": len(planted), "n_recovered": len(rec), "n_correct": correct,
            "precision": correct / len(rec) if rec and planted else nan,
            "recall": correct / len(planted) if planted else nan,
            "recall_cumulative": len(found) / len(planted) if planted else nan,
            "n_new_children": len(new), "recall_new": len(rec & new) / len(new) if new else nan,
            "children_present": float(np.mean([c in present for c in children])) if planted else nan,
            "parents_present": float(np.mean([p in present for p in parents])) if planted else nan,
        })
    return pd.DataFrame(rows, columns=VALIDATION_SCHEMA.names)
