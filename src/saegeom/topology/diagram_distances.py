"""Distances between persistence diagrams of one homology dimension (gudhi, POT).

Only finite bars enter (the one essential H0 class of every connected Rips filtration is
born at 0 and carries no shape information; see ``persistence``).
"""

from __future__ import annotations

import numpy as np

from saegeom.topology.persistence import finite


def bottleneck(a: np.ndarray, b: np.ndarray) -> float:
    """Bottleneck distance between the finite bars of diagrams ``a`` (k, 2) and ``b`` (m, 2) (exact)."""
    import gudhi

    return float(gudhi.bottleneck_distance(finite(a), finite(b), 0.0))


def wasserstein(a: np.ndarray, b: np.ndarray, order: float = 1.0) -> float:
    """q-Wasserstein distance (``order`` q, ground metric L∞, as in gudhi) between finite bars;
    gudhi's implementation solves the matching with POT."""
    from gudhi.wasserstein import wasserstein_distance

    return float(wasserstein_distance(finite(a), finite(b), order=order, internal_p=np.inf))
