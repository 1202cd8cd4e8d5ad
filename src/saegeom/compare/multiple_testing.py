"""Corrections a reader needs before acting on many p-values: BH q-values and a null-tail p.

How to read the three columns of ``results/metrics.parquet``
------------------------------------------------------------

``p_value``
    The permutation p-value of one row, ``(1 + #null draws at least as extreme) / (1 + #defined
    draws)``. With N draws it can never fall below ``1 / (1 + N)`` (0.0099 at 100 draws): a row at
    that floor says "more extreme than every draw", not "p = 0.0099".
``p_value_gpd``
    The same tail probability estimated from a generalised-Pareto fit to the upper tail of the null
    draws (Knijnenburg et al. 2009, Bioinformatics 25(22):2953), so that values below the
    permutation floor can be estimated. Fitted only when fewer than 10 draws are at least as
    extreme (otherwise the empirical p is accurate and is copied); when the tail is too short (fewer
    than 80 draws) or the fit fails the Anderson–Darling check at every tail size, the column
    repeats ``p_value``. Light tails are modelled as exponential, which overestimates far-tail
    p-values (conservative; :func:`gpd_tail_p`). So ``p_value_gpd == p_value`` means "no tail
    estimate"; a different value is an extrapolation from the tail's shape, good to a factor of a
    few (not to its digits), and NaN wherever ``p_value`` is.
``q_value``
    Benjamini–Hochberg adjusted p-value (``scipy.stats.false_discovery_control``) of ``p_value``
    within a *family* of rows (:data:`Q_FAMILY`: one comparison × representation × null, i.e. every
    subspace, metric and pairing of one model pair tested against one null). Calling every row with
    ``q_value <= 0.05`` significant keeps the expected share of false discoveries among them at
    or below 5 % (for independent or positively dependent tests). Rows with a NaN ``p_value`` are
    not in the family and get a NaN q. BH inherits the permutation floor: no q is below
    ``1 / (1 + N)``, and a row at the floor gets ``q ≤ m / (k (1 + N))`` for m rows in the family of
    which k sit at the floor, so a family of many rows needs many draws (or ``p_value_gpd``, which
    is not BH-corrected here: apply ``bh_q_values`` to it yourself, knowing it is an estimate).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

#: the columns that define one BH family in ``results/metrics.parquet``
Q_FAMILY: tuple[str, ...] = ("comparison", "representation", "baseline")

#: Choulakian & Stephens (2001), Technometrics 43(4):478, Table 2, case 3 (scale and shape
#: estimated): upper-tail critical values of the Anderson–Darling A² for the GPD at α = 0.05, by
#: their shape parameter k (F(z) = 1 - (1 - k z / a)^(1/k), i.e. k = -ξ of ``scipy.stats.genpareto``).
_AD_K = np.array([0.9, 0.5, 0.2, 0.1, 0.0, -0.1, -0.2, -0.3, -0.4, -0.5])
_AD_CRIT_05 = np.array([0.771, 0.830, 0.903, 0.935, 0.974, 1.020, 1.074, 1.140, 1.221, 1.321])


def bh_q_values(p: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values of ``p`` (any shape); NaN entries stay NaN and are not
    counted in the family size."""
    p = np.asarray(p, dtype=np.float64)
    q = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        q[ok] = stats.false_discovery_control(p[ok], method="bh")
    return q


def add_q_values(df: pd.DataFrame, family: tuple[str, ...] = Q_FAMILY) -> pd.DataFrame:
    """``df`` with its ``q_value`` column (re)computed: BH of ``p_value`` within each ``family`` group
    (module doc). Returns a copy; row order is kept."""
    out = df.copy()
    out["q_value"] = np.nan
    if len(out):
        for _, idx in out.groupby(list(family), sort=False, dropna=False).groups.items():
            out.loc[idx, "q_value"] = bh_q_values(out.loc[idx, "p_value"].to_numpy(np.float64))
    return out


def _ad_statistic(u: np.ndarray) -> float:
    """Anderson–Darling A² of values ``u`` = F(x_i) that should be uniform on (0, 1)."""
    u = np.clip(np.sort(u), 1e-12, 1 - 1e-12)
    n = len(u)
    i = np.arange(1, n + 1)
    return float(-n - np.mean((2 * i - 1) * (np.log(u) + np.log1p(-u[::-1]))))


def _ad_critical(xi: float) -> float:
    """The α = 0.05 critical value of A² for a GPD of shape ``xi`` (scipy's ``c``), interpolated in the
    Choulakian–Stephens table; shapes outside the table take its nearest end."""
    k = float(np.clip(-xi, _AD_K[-1], _AD_K[0]))
    return float(np.interp(k, _AD_K[::-1], _AD_CRIT_05[::-1]))


def _gpd_pwm(exc: np.ndarray) -> tuple[float, float]:
    """(shape c as in ``scipy.stats.genpareto``, scale) of a GPD with location 0 by probability-weighted
    moments (Hosking & Wallis 1987, Technometrics 29(3):339, plotting positions (i − 0.35)/n);
    (NaN, NaN) where the moments admit no GPD."""
    x = np.sort(exc)
    n = len(x)
    a0 = float(x.mean())
    a1 = float(np.mean((1 - (np.arange(1, n + 1) - 0.35) / n) * x))
    den = a0 - 2 * a1
    if den <= 0 or a0 <= 0:
        return float("nan"), float("nan")
    return 2.0 - a0 / den, 2 * a0 * a1 / den


def gpd_tail_p(value: float, null: np.ndarray, higher_is_similar: bool = True, *, min_exceedances: int = 20,
               max_exceedances: int = 250, step: int = 10, empirical_enough: int = 10,
               light_tail: str = "exponential") -> tuple[float, str]:
    """(p, how): tail p-value of ``value`` against the null draws, by a generalised-Pareto fit.

    Knijnenburg et al. (2009): with M = #defined draws at least as extreme as ``value`` (direction by
    ``higher_is_similar``) and N = #defined draws, the empirical p ``(1 + M) / (1 + N)`` is kept when
    M ≥ ``empirical_enough``. Otherwise the largest N_exc draws (N_exc = min(``max_exceedances``,
    N // 4), then smaller by ``step`` down to ``min_exceedances``) are fitted by a GPD (location 0)
    above the threshold t halfway between the N_exc-th and (N_exc+1)-th largest draw; the first fit
    that passes the Anderson–Darling test at 0.05 (Choulakian & Stephens 2001 critical values) gives
    ``p = N_exc / N · (1 − F_GPD(value − t))``.

    Two choices made here, not in the paper: the fit uses probability-weighted moments
    (:func:`_gpd_pwm`) instead of maximum likelihood — closed form, about a hundred times faster (a
    row may need 24 fits) and no less accurate at these tail sizes (Hosking & Wallis 1987); and with
    ``light_tail="exponential"`` (default) a fitted shape below 0 (a tail with a finite end point) is
    replaced by the exponential tail (shape 0, maximum-likelihood scale). A bounded fit puts the
    probability of a value past the largest draws at or near 0 (on N(0, 1) nulls it underestimated
    the 4σ tail 10²- to 10⁷-fold in 5 % of seeds); the exponential tail errs on the large,
    conservative side (measured: 0.4× to 8× the exact 4σ tail from 10,000 draws over 150 seeds,
    median 3×). ``light_tail="gpd"`` keeps the free fit. The Anderson–Darling critical values were
    tabulated for maximum-likelihood estimates, so with PWM estimates the check is approximate.

    When no tail size passes, the tail is shorter than ``min_exceedances``, or the fitted p is 0, the
    empirical p is returned. ``how`` is ``"empirical"``, ``"gpd"`` or ``"nan"`` (no defined draws or
    value). Non-finite draws are left out, as in ``p_value``.
    """
    null = np.asarray(null, dtype=np.float64)
    null = null[np.isfinite(null)]
    if not len(null) or not math.isfinite(value):
        return float("nan"), "nan"
    sign = 1.0 if higher_is_similar else -1.0
    x0, draws = sign * value, np.sort(sign * null)[::-1]  # larger = more extreme, descending
    n = len(draws)
    m = int((draws >= x0).sum())
    empirical = (1 + m) / (1 + n)
    if m >= empirical_enough:
        return empirical, "empirical"
    for n_exc in range(min(max_exceedances, n // 4), min_exceedances - 1, -step):
        if n_exc >= n:
            continue
        t = 0.5 * (draws[n_exc - 1] + draws[n_exc])
        exc = draws[:n_exc] - t
        if np.ptp(exc) <= 1e-12 * max(1.0, abs(t)) or len(np.unique(exc)) < min_exceedances // 2:
            continue  # ties: a continuous tail model does not apply
        c, scale = _gpd_pwm(exc)
        if c < 0 and light_tail == "exponential":
            c, scale = 0.0, float(exc.mean())  # maximum-likelihood exponential tail (see docstring)
        if not (np.isfinite(c) and np.isfinite(scale) and scale > 0):
            continue
        a2 = _ad_statistic(stats.genpareto.cdf(exc, c, scale=scale))
        if a2 > _ad_critical(c):
            continue
        p = n_exc / n * float(stats.genpareto.sf(x0 - t, c, scale=scale))
        if p > 0 and np.isfinite(p):
            return min(p, 1.0), "gpd"
        break
    return empirical, "empirical"
