"""Calibration report: does a p < α mean what it says, and does a metric find what is shared?

No existing tool does this, so it is written here. A family of synthetic worlds sweeps
the shared fraction over seeds (workflow: ``calibration`` block of the config; each
world is an ordinary DAG target, so Snakemake runs them in parallel or on a cluster);
each world's two models are compared with the configured pairings, metrics and nulls,
exactly as in ``results/metrics.parquet``. **Null cases** are rows of subspaces that share
nothing by construction: ``private_a`` and ``private_b`` of every comparison, and ``all`` and
every ``random:<i>`` subspace (random subsets of the pairs, ``compare.random_subspaces``) of
the worlds whose shared fraction is 0. A null case is *tested* when it has a p-value. From
those rows, per (representation, pairing, metric, null):

  ``fpr``    at α: share of the *tested* null cases with p < α. A row without a p-value (too
             few pairs, metric undefined, too few draws) made no claim and is left out — never
             counted as a non-rejection. ``n_tested`` tested cases, ``n_rows`` all null cases;
  ``ks_statistic`` / ``ks_p``  Kolmogorov–Smirnov distance of the tested null p-values from
             U(0, 1) and its p-value (``scipy.stats.kstest``; permutation p-values lie on the grid
             k/(n_draws+1), which moves the statistic by at most 1/(n_draws+1));
  ``p_ecdf`` share of tested null p-values ≤ ``alpha`` at the grid ``ECDF_GRID`` (the P–P /
             QQ panel of the figure: a calibrated null lies on the diagonal);
  ``trusted``  1.0 when at least ``MIN_TESTED_CASES`` null cases were tested and the upper end of
             the 95% interval of ``fpr`` at ``TRUST_ALPHA`` is ≤ 2 × ``TRUST_ALPHA``; else 0.0
             (not trusted: miscalibrated, or too few tested cases to tell). With n tested cases a
             calibrated null passes this bar only when its hits stay below about n·0.064 at
             n = 200 (≈ 20% of calibrated nulls fail by chance there, ≈ 5% at 300 cases);
  ``power``  at α: share of ``shared`` rows (worlds with shared fraction > 0) with p < α
             (rows without a p-value count as misses); ``power_tested`` among tested rows;
  ``spearman_vs_shared_fraction``  rank correlation of the ``all`` value with the shared fraction;
  ``auroc_shared_vs_private``      P(value on ``shared`` > value on a private subspace).
``ci_low``/``ci_high`` are the Clopper–Pearson 95% interval of each rate (few cases give wide
intervals: read them). Values are oriented so higher means more similar (distances negated)
before the Spearman and AUROC. :func:`join_trust` puts the verdict on a metrics table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
from scipy.stats import beta, kstest, mannwhitneyu, spearmanr

from saegeom.metrics.registry import get_metric

CALIBRATION_SCHEMA = pa.schema([
    ("statistic", pa.string()),        # fpr | ks_statistic | ks_p | p_ecdf | trusted | power | power_tested |
                                       # spearman_vs_shared_fraction | auroc_shared_vs_private
    ("representation", pa.string()),
    ("pairing", pa.string()),
    ("metric", pa.string()),
    ("baseline", pa.string()),         # the null ("" for the value statistics)
    ("alpha", pa.float64()),           # the level (p_ecdf: the grid point); NaN for the value statistics
    ("value", pa.float64()),
    ("ci_low", pa.float64()),          # Clopper-Pearson 95% interval of a rate (NaN for value statistics)
    ("ci_high", pa.float64()),
    ("n_tested", pa.int64()),          # rows with a defined p-value (or value, for the value statistics)
    ("n_rows", pa.int64()),            # every row of the cases, NaN ones included
])
NULL_SUBSPACES = ("private_a", "private_b")
ALPHAS = (0.01, 0.05)
#: the verdict: trusted when the upper end of the FPR's 95% interval at TRUST_ALPHA is <= 2 * TRUST_ALPHA ...
TRUST_ALPHA = 0.05
#: ... over at least this many tested null cases
MIN_TESTED_CASES = 100
ECDF_GRID = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
#: columns that identify a calibrated combination (and join the verdict onto metrics rows)
TRUST_KEY = ("representation", "pairing", "metric", "baseline")


def _cases(df: pd.DataFrame, fractions: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(null cases, shared cases) among the model-vs-model rows."""
    f = df.world.map(fractions)
    nothing_shared = (df.subspace == "all") | df.subspace.str.startswith("random:")
    null = df.subspace.isin(NULL_SUBSPACES) | (nothing_shared & (f == 0))
    return df[null], df[(df.subspace == "shared") & (f > 0)]


def _clopper_pearson(hits: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact binomial confidence interval of hits / n (NaN, NaN when n = 0)."""
    if n == 0:
        return float("nan"), float("nan")
    tail = (1 - level) / 2
    low = beta.ppf(tail, hits, n - hits + 1) if hits > 0 else 0.0
    high = beta.ppf(1 - tail, hits + 1, n - hits) if hits < n else 1.0
    return float(low), float(high)


def null_case_rows(null: pd.DataFrame, alphas=ALPHAS) -> list[dict]:
    """Calibration rows (dicts in ``CALIBRATION_SCHEMA`` columns) of null cases — metrics-table rows that
    share nothing by construction — per ``TRUST_KEY`` combination: ``fpr`` over the tested cases at each
    α, ``ks_statistic``/``ks_p``, ``p_ecdf`` on ``ECDF_GRID`` and the ``trusted`` verdict (module doc)."""
    out = []
    key = list(TRUST_KEY)
    for k, g in null.groupby(key, sort=True):
        common = dict(zip(key, k, strict=True), n_rows=len(g))
        tested = g.p_value.dropna().to_numpy()
        n = len(tested)
        for a in alphas:
            hits = int((tested < a).sum())
            low, high = _clopper_pearson(hits, n)
            out.append(dict(common, statistic="fpr", alpha=a, value=hits / n if n else np.nan, ci_low=low,
                            ci_high=high, n_tested=n))
        ks = kstest(tested, "uniform") if n else None
        for name, v in (("ks_statistic", ks.statistic if ks else np.nan), ("ks_p", ks.pvalue if ks else np.nan)):
            out.append(dict(common, statistic=name, alpha=np.nan, value=float(v), ci_low=np.nan, ci_high=np.nan,
                            n_tested=n))
        for t in ECDF_GRID:
            out.append(dict(common, statistic="p_ecdf", alpha=t, value=float((tested <= t).mean()) if n else np.nan,
                            ci_low=np.nan, ci_high=np.nan, n_tested=n))
        hits = int((tested < TRUST_ALPHA).sum())
        low, high = _clopper_pearson(hits, n)
        ok = n >= MIN_TESTED_CASES and high <= 2 * TRUST_ALPHA
        out.append(dict(common, statistic="trusted", alpha=TRUST_ALPHA, value=float(ok), ci_low=low, ci_high=high,
                        n_tested=n))
    return out


def summarise(df: pd.DataFrame, shared_fraction: dict[str, float], alphas=ALPHAS) -> pd.DataFrame:
    """Calibration rows (``CALIBRATION_SCHEMA``) from comparison rows of the calibration worlds."""
    df = df[df.model_b != "ground_truth"]
    fractions = pd.Series(shared_fraction, dtype=float)
    null, shared = _cases(df, fractions)
    out = null_case_rows(null, alphas)
    key = list(TRUST_KEY)
    for k, g in shared.groupby(key, sort=True):
        tested = g.p_value.dropna()
        for a in alphas:
            hits = int((tested < a).sum())
            common = dict(zip(key, k, strict=True), alpha=a, n_tested=len(tested), n_rows=len(g))
            for name, n in (("power", len(g)), ("power_tested", len(tested))):
                low, high = _clopper_pearson(hits, n)
                out.append(dict(common, statistic=name, value=hits / n if n else np.nan, ci_low=low, ci_high=high))
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


def trust_table(calibration: pd.DataFrame) -> pd.DataFrame:
    """The verdict per calibrated combination: ``TRUST_KEY`` columns and ``trusted`` (bool)."""
    t = calibration[calibration.statistic == "trusted"]
    return pd.DataFrame({**{k: t[k].to_numpy() for k in TRUST_KEY}, "trusted": t.value.to_numpy() == 1.0})


def join_trust(metrics: pd.DataFrame, calibration: pd.DataFrame) -> pd.DataFrame:
    """``metrics`` with its ``trusted`` column set from a calibration table (:func:`summarise`).

    A row with a p-value gets True/False when its (representation, pairing, metric, null) was
    calibrated (the verdict is about the null's p-values, wherever they are computed), None when
    that combination was not calibrated; a row without a p-value gets None (nothing to trust).
    Returns a new frame; row order and every other column are kept.
    """
    verdict = {tuple(r[:-1]): bool(r[-1]) for r in trust_table(calibration).itertuples(index=False)}
    keys = metrics[list(TRUST_KEY)].itertuples(index=False, name=None)
    trusted = [verdict.get(k) if pd.notna(p) else None for k, p in zip(keys, metrics.p_value, strict=True)]
    out = metrics.copy()
    out["trusted"] = pd.Series(trusted, index=metrics.index, dtype=object)
    return out
