"""Direction-matching measures (MMCS, MCC, fraction recovered): sets of directions in one space.

Conventions: rows = items (directions), columns = dimensions.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from saegeom.metrics._arrays import as_f64, same_width, unit_rows
from saegeom.metrics.registry import register_metric


@register_metric("mmcs", pairing_sensitive=False)
def mmcs(x, y) -> float:
    """Mean max cosine similarity: mean over rows of X of max_j cos(X_i, Y_j).

    X: (n, d), Y: (m, d). Directional (X → Y) and independent of any pairing of
    rows. With X the ground-truth features and Y an SAE decoder this is the
    recovery score of Sharkey et al.
    """
    x, y = unit_rows(as_f64(x)), unit_rows(as_f64(y))
    same_width(x, y, "mmcs")
    return float((x @ y.T).max(axis=1).mean())


@register_metric("mcc", pairing_sensitive=False)
def mcc(x, y) -> float:
    """Mean |cosine| of the optimal one-to-one (Hungarian) matching of rows of X to rows of Y.

    X: (n, d), Y: (m, d). Same definition as SAELens'
    ``sae_lens.synthetic.mean_correlation_coefficient``; float64 here.
    """
    x, y = unit_rows(as_f64(x)), unit_rows(as_f64(y))
    same_width(x, y, "mcc")
    c = np.abs(x @ y.T)
    r, k = linear_sum_assignment(-c)
    return float(c[r, k].mean())


@register_metric("fraction_recovered", pairing_sensitive=False)
def fraction_recovered(x, y, threshold: float = 0.9) -> float:
    """Fraction of rows of X whose best cosine with any row of Y is ≥ ``threshold``."""
    x, y = unit_rows(as_f64(x)), unit_rows(as_f64(y))
    same_width(x, y, "fraction_recovered")
    return float(((x @ y.T).max(axis=1) >= threshold).mean())
