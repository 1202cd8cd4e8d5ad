"""Hand-made upstream tables for the figure tests, in the schemas the figures read
(saegeom.viz.figures.tables.LAYER_COLUMNS / TRAINING_COLUMNS, results/metrics.parquet,
results/calibration.parquet). Values are arbitrary but fixed by a seed; the tests derive every expectation
from these tables, not from the figure code."""

from __future__ import annotations

import numpy as np
import pandas as pd

GROUPS = ("all", "group:animals", "group:colours", "group:numbers")


def layer_table(seed: int = 0, study: str = "toys", sae: str = "relu", n_a: int = 2, n_b: int = 3,
                metrics: tuple[str, ...] = ("svcca", "orthogonal_procrustes"),
                pairings: tuple[str, ...] = ("hungarian", "one_to_one")) -> pd.DataFrame:
    """Every layer pair × subspace × representation × pairing × metric of one comparison (toy1 vs toy2).
    ``excess`` and ``z`` are oriented (sign-flipped for distances: + = more similar than chance) and ``best``
    marks, per (subspace, representation, pairing, metric, layer_a), the layer of B with the highest excess, as
    the layer-matrix tables (saegeom.compare.layers) define them."""
    rng = np.random.default_rng(seed)
    rows = []
    for a in range(n_a):
        for b in range(n_b):
            for sub in GROUPS:
                for rep in ("decoder", "activations"):
                    for pairing in pairings:
                        for metric in metrics:
                            mean, std = rng.uniform(0.1, 0.4), rng.uniform(0.02, 0.08)
                            value = mean + std * rng.normal(0, 3)
                            excess = (-1.0 if metric == "orthogonal_procrustes" else 1.0) * (value - mean)
                            z = excess / std
                            p = float(rng.uniform(0, 0.2))
                            rows.append(dict(study=study, sae=sae, model_a="toy1", model_b="toy2",
                                             hook_a=f"blocks.{a}.hook_resid_post", hook_b=f"blocks.{b}.hook_resid_post",
                                             layer_a=a, layer_b=b, subspace=sub, representation=rep,
                                             pairing=pairing, metric=metric, value=value, null_mean=mean,
                                             null_std=std, excess=excess, z=z, p_value=p,
                                             q_value=min(1.0, 1.5 * p),
                                             n_pairs=int(rng.integers(3, 40))))
    df = pd.DataFrame(rows)
    key = ["subspace", "representation", "pairing", "metric", "layer_a"]
    df["best"] = df.excess == df.groupby(key).excess.transform("max")
    return df


def training_table(seed: int = 0, steps: tuple[int, ...] = (100, 200, 300)) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for step in steps:
        for sub in GROUPS:
            for rep in ("decoder", "activations"):
                for metric in ("svcca", "linear_cka"):
                    mean, std = 0.2, 0.05
                    value = float(rng.uniform(0.1, 0.9))
                    p = float(rng.uniform(0, 0.01) if rng.random() < 0.5 else rng.uniform(0, 0.5))
                    rows.append(dict(study="toys", sae="relu", model="toy1", hook="blocks.0.hook_resid_post",
                                     layer=0, step=step, final_step=steps[-1], subspace=sub, representation=rep,
                                     pairing="hungarian", metric=metric, value=value, null_mean=mean,
                                     null_std=std, z=(value - mean) / std, p_value=p,
                                     n_pairs=int(rng.integers(3, 40))))
    return pd.DataFrame(rows)


def metrics_table() -> pd.DataFrame:
    """A small results/metrics.parquet: one synthetic comparison (two nulls, two pairings), its ground-truth
    recovery rows, and one LM comparison (which the synthetic overview must leave out)."""
    from saegeom.compare.rows import Context, make_row

    syn = Context(source="synthetic", world="w", model_a="a", sae_a="s", model_b="b", sae_b="s")
    lm = Context(source="lm", world="toys", model_a="toy1", sae_a="s", model_b="toy2", sae_b="s")
    rows = []
    cells = [("all", "linear_cka", 0.9, 0.5, 0.1, 0.01, 0.02), ("shared", "linear_cka", 0.6, 0.5, 0.2, 0.3, 0.4),
             ("all", "orthogonal_procrustes", 0.2, 1.0, 0.4, 0.01, 0.03),
             ("shared", "orthogonal_procrustes", 1.2, 1.0, 0.1, 0.9, 0.9),
             ("private_a", "linear_cka", 0.5, 0.5, 0.1, 0.5, 0.6)]
    for sub, metric, v, mu, sd, p, q in cells:
        for rep in ("decoder", "activations"):
            for pairing in ("hungarian", "one_to_one"):
                rows.append(make_row(syn, subspace=sub, representation=rep, pairing=pairing, metric=metric, value=v,
                                     baseline="random_partners", baseline_mean=mu, baseline_std=sd, p_value=p,
                                     q_value=q, n_baseline=10, n_baseline_valid=10))
                rows.append(make_row(lm, subspace=sub, representation=rep, pairing=pairing, metric=metric, value=v,
                                     baseline="random_partners", baseline_mean=mu, baseline_std=sd, p_value=p,
                                     q_value=q, n_baseline=10, n_baseline_valid=10))
    # a second null on the same cell: the figure must keep the headline null only
    rows.append(make_row(syn, subspace="all", representation="decoder", pairing="hungarian", metric="linear_cka",
                         value=0.9, baseline="random_subset", baseline_mean=0.0, baseline_std=1.0, p_value=0.5,
                         q_value=0.5, n_baseline=10, n_baseline_valid=10))
    gt = Context(source="synthetic", world="w", model_a="a", sae_a="s", model_b="ground_truth", sae_b="")
    for sub, v in (("all", 0.8), ("shared", 0.9), ("private_a", 0.7), ("cluster:0", 0.6)):
        for metric in ("mmcs", "mcc", "fraction_recovered"):
            rows.append(make_row(gt, subspace=sub, representation="ground_truth", pairing="none", metric=metric,
                                 value=v, baseline="random_directions", baseline_mean=0.2, baseline_std=0.05,
                                 p_value=0.01, n_baseline=10, n_baseline_valid=10, n_pairs=12))
    return pd.DataFrame(rows)


def calibration_table() -> pd.DataFrame:
    """A small results/calibration.parquet: fpr/power at 0.01 and 0.05 and the verdict, for two nulls."""
    rows = []
    for baseline, trusted in (("random_partners", 1.0), ("random_subset", 0.0)):
        for metric in ("linear_cka", "svcca"):
            common = dict(representation="decoder", pairing="hungarian", metric=metric, baseline=baseline)
            for alpha in (0.01, 0.05):
                rows.append(dict(common, statistic="fpr", alpha=alpha, value=alpha * (1 + 3 * (1 - trusted)),
                                 ci_low=0.0, ci_high=3 * alpha, n_tested=40, n_rows=40))
                rows.append(dict(common, statistic="power", alpha=alpha, value=0.95, ci_low=0.8, ci_high=1.0,
                                 n_tested=20, n_rows=20))
            rows.append(dict(common, statistic="trusted", alpha=0.05, value=trusted, ci_low=0.0, ci_high=0.1,
                             n_tested=40, n_rows=40))
    return pd.DataFrame(rows)
