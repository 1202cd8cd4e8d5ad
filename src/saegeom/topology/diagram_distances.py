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


#: ground metrics of the Wasserstein distance: name → gudhi's ``internal_p``
WASSERSTEIN_GROUNDS = {"linf": np.inf, "l2": 2.0}


def wasserstein(a: np.ndarray, b: np.ndarray, order: float = 1.0, ground: str = "linf") -> float:
    """q-Wasserstein distance (``order`` q) between the finite bars of diagrams ``a`` and ``b``, by gudhi
    (``gudhi.wasserstein.wasserstein_distance``, which solves the matching with POT).

    ``ground`` is the norm on the birth–death plane (gudhi's ``internal_p``), used both between two
    bars and from a bar to the diagonal: ``"linf"`` (default; gudhi's and hera's default, the norm of
    the Wasserstein stability theorem of Cohen-Steiner et al. 2010, and the one under which the
    bottleneck distance is the q → ∞ limit, so the two columns read on one scale) — a bar (b, d) is
    (d − b) / 2 from the diagonal; ``"l2"`` (persim's ``wasserstein``: Euclidean distances, a bar
    (d − b) / √2 from the diagonal). The two differ by at most a factor √2 per matched pair.
    """
    from gudhi.wasserstein import wasserstein_distance

    if ground not in WASSERSTEIN_GROUNDS:
        raise ValueError(f"unknown Wasserstein ground metric {ground!r}; expected one of {sorted(WASSERSTEIN_GROUNDS)}")
    return float(wasserstein_distance(finite(a), finite(b), order=order, internal_p=WASSERSTEIN_GROUNDS[ground]))
