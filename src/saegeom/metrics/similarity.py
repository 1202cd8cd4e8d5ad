"""Direction-matching measures (MMCS, MCC, fraction recovered): sets of directions in one space.

Conventions: rows = items (directions), columns = dimensions.
"""

from __future__ import annotations

import numpy as np

from saegeom.metrics._arrays import as_f64, same_width, unit_rows
from saegeom.metrics.registry import MetricUndefined, register_metric


def live_rows(x: np.ndarray) -> np.ndarray:
    """(n,) mask of the rows of ``x`` that are not all zero (a dead SAE latent's decoder row can be)."""
    return np.any(x != 0, axis=1)


@register_metric("mmcs", pairing_sensitive=False, same_width=True)
def mmcs(x, y) -> float:
    """Mean max cosine similarity: mean over rows of X of max_j cos(X_i, Y_j).

    X: (n, d), Y: (m, d). Directional (X → Y) and independent of any pairing of
    rows. With X the ground-truth features and Y an SAE decoder this is the
    recovery score of Sharkey et al. All-zero rows (dead latents) have no direction and
    are left out on both sides — counting them as cosine 0 would pull the mean towards 0 (in
    X) or raise a best cosine that is negative to 0 (in Y). Undefined
    (:class:`MetricUndefined`) when either side has no non-zero row.
    """
    x, y = as_f64(x), as_f64(y)
    same_width(x, y, "mmcs")
    x, y = x[live_rows(x)], y[live_rows(y)]
    if not len(x) or not len(y):
        raise MetricUndefined("mmcs undefined: a side has only all-zero rows")
    x, y = unit_rows(x), unit_rows(y)
    return float((x @ y.T).max(axis=1).mean())


@register_metric("mcc", pairing_sensitive=False, same_width=True)
def mcc(x, y) -> float:
    """Mean |cosine| of the optimal one-to-one (Hungarian) matching of rows of X to rows of Y.

    X: (n, d), Y: (m, d). Delegates to SAELens' ``mean_correlation_coefficient``
    (scipy's ``linear_sum_assignment`` on |cosine|), in float64.
    """
    import torch
    from sae_lens.synthetic import mean_correlation_coefficient

    x, y = as_f64(x), as_f64(y)
    same_width(x, y, "mcc")
    return float(mean_correlation_coefficient(torch.from_numpy(x), torch.from_numpy(y)))


@register_metric("fraction_recovered", pairing_sensitive=False, same_width=True)
def fraction_recovered(x, y, threshold: float = 0.9) -> float:
    """Fraction of rows of X whose best cosine with any row of Y is ≥ ``threshold``."""
    x, y = unit_rows(as_f64(x)), unit_rows(as_f64(y))
    same_width(x, y, "fraction_recovered")
    return float(((x @ y.T).max(axis=1) >= threshold).mean())
