"""Recovered feature families against a world's planted sharing pattern.

Every latent of model m gets its true feature: the owned world feature of highest decoder cosine if that
cosine is ≥ ``gt_threshold`` (``saegeom.compare.worlds.latent_ground_truth``), else none. A recovered family
*represents* world feature f when more than half of its labelled members carry f. The **level** of a world
feature is the number of models that own it (``all`` = every model, ``pairs`` = two, ``private`` = one; other
counts ``shared_by_<k>``); a family's level is the number of models that hold it.

Per level, statistics (rows of the validation table):

``recall``              true features of the level represented by a family whose models are exactly the
                        feature's owners (÷ true features of the level);
``recall_recoverable``  the same, over the features every owner's SAE has a latent for (what a perfect
                        clustering of these SAEs could reach);
``precision``           families of the level that represent a feature whose owners are exactly the family's
                        models (÷ families of the level that have a labelled member);
``false_model_rate``    over families representing a feature of the level, memberships (family, model) where
                        the model does not own the feature (÷ memberships);
``n_true`` / ``n_families``  features and labelled families of the level (the denominators).

Level ``any``: ``ari``, the adjusted Rand index (scikit-learn) between family ids and true features over the
labelled latents of every model.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from saegeom.synthetic.world import World

VALIDATION_COLUMNS = ("level", "statistic", "value", "n")


def level_name(k: int, n_models: int) -> str:
    """The name of a sharing level: ``all`` (k = n_models), ``private`` (1), ``pairs`` (2), else ``shared_by_k``."""
    if k == n_models:
        return "all"
    return {1: "private", 2: "pairs"}.get(k, f"shared_by_{k}")


def latent_features(world: World, decoders: Mapping[str, np.ndarray], threshold: float) -> dict[str, np.ndarray]:
    """{model: (d_sae,) world feature index of each latent, −1 = none}; ``decoders``: unit rows (d_sae, h_m)."""
    from saegeom.compare.worlds import latent_ground_truth

    return {m: latent_ground_truth(world, m, d, threshold)[0] for m, d in decoders.items()}


def validate_families(families: pd.DataFrame, world: World, truth: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """Validation rows (columns ``VALIDATION_COLUMNS``, module doc) of a families table
    (``saegeom.families.clustering.cluster_families``) against ``world``; ``truth``: :func:`latent_features`
    of every model in the table (the world's model names)."""
    from sklearn.metrics import adjusted_rand_score

    names = list(world.models)
    missing = sorted(set(families["model"]) - set(truth))
    if missing:
        raise ValueError(f"families name models {missing} without true features; have {sorted(truth)}")
    owners = world.owners()  # (G, M)
    col = {m: j for j, m in enumerate(names)}
    n_models = len(names)
    level = owners.sum(1)
    f = families.assign(feature=[int(truth[m][lat]) for m, lat in zip(families["model"], families["latent"],
                                                                       strict=True)])
    labelled = f[f["feature"] >= 0]
    # each family's majority feature (strictly more than half of its labelled members)
    counts = labelled.groupby(["family", "feature"]).size().rename("count").reset_index()
    total = labelled.groupby("family").size().rename("total")
    counts = counts.join(total, on="family")
    major = counts[counts["count"] * 2 > counts["total"]].set_index("family")["feature"]
    held = f.groupby("family")["model"].agg(lambda s: frozenset(s))
    fam_level = held.map(len)

    def exact(fam: int, feat: int) -> bool:
        return held[fam] == frozenset(names[j] for j in np.flatnonzero(owners[feat]))

    found = {int(feat) for fam, feat in major.items() if exact(fam, feat)}
    has = np.zeros_like(owners)  # SAE of model j has a latent labelled with feature g
    for m, t in truth.items():
        if m in col:
            has[t[t >= 0], col[m]] = True
    recoverable = (has | ~owners).all(1)
    rows = []
    for k in sorted(set(level.tolist()), reverse=True):
        name = level_name(k, n_models)
        feats = np.flatnonzero(level == k)
        rec = np.array([g in found for g in feats])
        fams = [fam for fam in major.index if fam_level[fam] == k]
        good = [fam for fam in fams if exact(fam, int(major[fam]))]
        rep = [fam for fam, feat in major.items() if level[feat] == k]
        memberships = sum(len(held[fam]) for fam in rep)
        wrong = sum(len(held[fam] - {names[j] for j in np.flatnonzero(owners[int(major[fam])])}) for fam in rep)
        rows += [
            (name, "recall", rec.mean() if len(feats) else np.nan, len(feats)),
            (name, "recall_recoverable", rec[recoverable[feats]].mean() if recoverable[feats].any() else np.nan,
             int(recoverable[feats].sum())),
            (name, "precision", len(good) / len(fams) if fams else np.nan, len(fams)),
            (name, "false_model_rate", wrong / memberships if memberships else np.nan, memberships),
            (name, "n_true", float(len(feats)), len(feats)),
            (name, "n_families", float(len(fams)), len(fams)),
        ]
    ari = adjusted_rand_score(labelled["feature"], labelled["family"]) if len(labelled) else np.nan
    rows.append(("any", "ari", ari, len(labelled)))
    return pd.DataFrame(rows, columns=list(VALIDATION_COLUMNS)).astype({"value": np.float64, "n": np.int64})
