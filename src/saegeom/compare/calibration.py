"""Calibration report: does a p < α mean what it says, and does a metric find what is shared?

No existing tool does this, so it is written here. A family of synthetic worlds sweeps
the shared fraction over seeds (workflow: ``calibration`` block of the config; each
world is an ordinary DAG target, so Snakemake runs them in parallel or on a cluster);
each world's two models are compared with the configured pairings, metrics and nulls,
exactly as in ``results/metrics.parquet``. From those rows, per (representation,
pairing, metric, null):

  ``fpr``    at α: share of the rows of subspaces that share nothing by construction —
             ``private_a`` and ``private_b`` of every comparison and ``all`` of the worlds whose
             shared fraction is 0 — that claim p < α. A row without a p-value (too few pairs
             survived the pairing threshold, metric undefined) claims nothing and counts as
             not rejected: this is the rate at which the table misleads a reader. ≤ 2α is the bar;
  ``fpr_tested``  the same among rows that have a p-value (the null's own calibration);
  ``power``  at α: share of ``shared`` rows (worlds with shared fraction > 0) with p < α
             (rows without a p-value count as misses); ``power_tested`` among tested rows;
  ``spearman_vs_shared_fraction``  rank correlation of the ``all`` value with the shared fraction;
  ``auroc_shared_vs_private``      P(value on ``shared`` > value on a private subspace).
``n_tested`` counts rows with a p-value, ``n_rows`` every row; ``ci_low``/``ci_high`` are the
Clopper–Pearson 95% interval of each rate (few cases give wide intervals: read them). Values
are oriented so higher means more similar (distances negated) before the Spearman and AUROC.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
from scipy.stats import beta, mannwhitneyu, spearmanr

from saegeom.metrics.registry import get_metric

CALIBRATION_SCHEMA = pa.schema([
    ("statistic", pa.string()),        # fpr | power | spearman_vs_shared_fraction | auroc_shared_vs_private
    ("representation", pa.string()),
    ("pairing", pa.string()),
    ("metric", pa.string()),
    ("baseline", pa.string()),         # the null ("" for the value statistics)
    ("alpha", pa.float64()),           # NaN for the value statistics
    ("value", pa.float64()),
    ("ci_low", pa.float64()),          # Clopper-Pearson 95% interval of a rate (NaN for value statistics)
    ("ci_high", pa.float64()),
    ("n_tested", pa.int64()),          # rows with a defined p-value (or value, for the value statistics)
    ("n_rows", pa.int64()),            # every row of the cases, NaN ones included
])
NULL_SUBSPACES = ("private_a", "private_b")
ALPHAS = (0.01, 0.05)


def _cases(df: pd.DataFrame, fractions: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(null cases, shared cases) among the model-vs-model rows."""
    f = df.world.map(fractions)
    null = df.subspace.isin(NULL_SUBSPACES) | ((df.subspace == "all") & (f == 0))
    return df[null], df[(df.subspace == "shared") & (f > 0)]


def _clopper_pearson(hits: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact binomial confidence interval of hits / n (NaN, NaN when n = 0)."""
    if n == 0:
        return float("nan"), float("nan")
    tail = (1 - level) / 2
    low = beta.ppf(tail, hits, n - hits + 1) if hits > 0 else 0.0
    high = beta.ppf(1 - tail, hits + 1, n - hits) if hits < n else 1.0
    return float(low), float(high)


def summarise(df: pd.DataFrame, shared_fraction: dict[str, float], alphas=ALPHAS) -> pd.DataFrame:
    """Calibration rows (``CALIBRATION_SCHEMA``) from comparison rows of the calibration worlds."""
    df = df[df.model_b != "ground_truth"]
    fractions = pd.Series(shared_fraction, dtype=float)
    null, shared = _cases(df, fractions)
    out = []
    key = ["representation", "pairing", "metric", "baseline"]
    for stat, cases in (("fpr", null), ("power", shared)):
        for k, g in cases.groupby(key, sort=True):
            tested = g.p_value.dropna()
            for a in alphas:
                hits = int((tested < a).sum())
                common = dict(zip(key, k, strict=True), alpha=a, n_tested=len(tested), n_rows=len(g))
                for name, n in ((stat, len(g)), (f"{stat}_tested", len(tested))):
                    low, high = _clopper_pearson(hits, n)
                    out.append(dict(common, statistic=name, value=hits / n if n else np.nan, ci_low=low,
                                    ci_high=high))
    values = df.drop_duplicates(["world", "representation", "pairing", "metric", "subspace"])
    for (rep, pairing, metric), g in values.groupby(["representation", "pairing", "metric"], sort=True):
        sign = 1.0 if get_metric(metric).higher_is_similar else -1.0
        common = dict(representation=rep, pairing=pairing, metric=metric, baseline="", alpha=np.nan,
                      ci_low=np.nan, ci_high=np.nan)
        allsub = g[(g.subspace == "all") & g.value.notna()]
        x = allsub.world.map(fractions)
        rho = spearmanr(x, sign * allsub.value).statistic if len(allsub) > 2 and allsub.value.nunique() > 1 \
            and x.nunique() > 1 else np.nan
        out.append(dict(common, statistic="spearman_vs_shared_fraction", value=float(rho), n_tested=len(allsub),
                        n_rows=int((g.subspace == "all").sum())))
        pos = sign * g[g.subspace == "shared"].value.dropna().to_numpy()
        neg = sign * g[g.subspace.isin(NULL_SUBSPACES)].value.dropna().to_numpy()
        auc = mannwhitneyu(pos, neg).statistic / (len(pos) * len(neg)) if len(pos) and len(neg) else np.nan
        out.append(dict(common, statistic="auroc_shared_vs_private", value=float(auc), n_tested=len(pos) + len(neg),
                        n_rows=int(g.subspace.isin(("shared", *NULL_SUBSPACES)).sum())))
    return pd.DataFrame(out, columns=CALIBRATION_SCHEMA.names)
