"""A planted feature hierarchy: parent features whose children fire only when their parent fires.

Config (``firing.hierarchy`` of a world block)::

    hierarchy:
      n_parents: 8               # parent features
      children_per_parent: 3     # children of each parent
      child_rate: 0.6            # q: probability that a child is drawn, given that its parent fires
      mutually_exclusive: true   # at most one child per parent fires in a sample (SAELens' rule)

Which features: ``n_parents · (1 + children_per_parent)`` distinct features of the world, drawn uniformly at
random (a generator of their own, so the rest of the world is unchanged by the block). The truth is two
(n_children,) integer arrays, ``child`` and ``parent`` (world feature indices, one row per planted link),
saved in the world file as ``hierarchy.child`` / ``hierarchy.parent``.

Firing (:class:`HierarchicalFiring`):

1. every feature that is not a child (parents and all other features) fires by the world's base process
   (``kind: correlated`` or ``groups``), built over those features only and calibrated so *they* have
   ``mean_active`` expected active features; the base frequency ranks keep their order;
2. each child is drawn independently: Bernoulli(q) × U(0, 1) — the same magnitude law as every feature;
3. SAELens' ``hierarchy_modifier`` (``sae_lens.synthetic.hierarchy``) gates the children: a child is
   zeroed where its parent is 0, and with ``mutually_exclusive`` SAELens keeps one uniformly chosen child
   of each parent where several were drawn. SAELens draws that choice from torch's global generator, so it
   is run inside a forked RNG seeded from this process's own stream (reproducible, caller's RNG untouched).

Closed forms (exact, whatever the base correlation, since a child's own draw is independent of it):
P(child fires | parent fires) = q without mutual exclusion, (1 − (1 − q)^k)/k with it (k children: some
child is drawn with probability 1 − (1 − q)^k and the kept one is uniform among the k by symmetry);
P(child fires) = P(parent fires) · that; P(child fires and parent does not) = 0.
The expected number of active features per sample is therefore ``mean_active`` plus the children's rates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch

    from saegeom.synthetic.firing import CorrelatedFiring

#: defaults of the ``firing.hierarchy`` block (the schema's equal them)
HIERARCHY_DEFAULTS: dict[str, Any] = {"children_per_parent": 3, "child_rate": 0.6, "mutually_exclusive": True}


@dataclass(frozen=True)
class PlantedHierarchy:
    """Planted parent → child links: ``child`` (n,) and ``parent`` (n,) world feature indices, row i a link."""

    child: np.ndarray
    parent: np.ndarray
    child_rate: float
    mutually_exclusive: bool

    @property
    def parents(self) -> np.ndarray:
        """Sorted distinct parent features."""
        return np.unique(self.parent)

    def children_of(self, parent: int) -> np.ndarray:
        return np.sort(self.child[self.parent == parent])

    def conditional_rate(self) -> np.ndarray:
        """(n,) exact P(child fires | its parent fires), see the module docstring."""
        k = np.array([np.sum(self.parent == p) for p in self.parent], dtype=np.float64)
        q = self.child_rate
        if self.mutually_exclusive:
            return (1 - (1 - q) ** k) / k
        return np.full(len(self.child), q)

    def tensors(self) -> dict[str, np.ndarray]:
        return {"hierarchy.child": self.child.astype(np.int64), "hierarchy.parent": self.parent.astype(np.int64)}


def plant_hierarchy(n_features: int, cfg: dict[str, Any], rng: np.random.Generator) -> PlantedHierarchy:
    """Draw the planted links of a ``firing.hierarchy`` block among ``n_features`` world features."""
    cfg = {**HIERARCHY_DEFAULTS, **cfg}
    n_par, k = int(cfg["n_parents"]), int(cfg["children_per_parent"])
    q = float(cfg["child_rate"])
    if n_par < 1 or k < 1:
        raise ValueError(f"firing.hierarchy: n_parents ({n_par}) and children_per_parent ({k}) must be at least 1")
    if cfg["mutually_exclusive"] and k < 2:
        raise ValueError("firing.hierarchy: mutually_exclusive needs children_per_parent >= 2 (SAELens' rule)")
    if not 0 < q <= 1:
        raise ValueError(f"firing.hierarchy.child_rate must be in (0, 1], got {q}")
    need = n_par * (1 + k)
    if need >= n_features:
        raise ValueError(f"firing.hierarchy needs {need} features (n_parents × (1 + children_per_parent)) and "
                         f"at least one more outside it; the world has {n_features}")
    chosen = rng.choice(n_features, need, replace=False)
    parents = chosen[:n_par]
    child = chosen[n_par:]
    parent = np.repeat(parents, k)
    order = np.argsort(child)
    return PlantedHierarchy(child[order], parent[order], q, bool(cfg["mutually_exclusive"]))


class HierarchicalFiring:
    """Firing of a world with a planted hierarchy (see the module docstring): a base process over the
    non-child features, independent child draws, SAELens' hierarchy gating. ``sample(n)`` → (n, G) float32."""

    def __init__(self, base: CorrelatedFiring, free: np.ndarray, hierarchy: PlantedHierarchy, n_features: int,
                 seed: int, device: str = "cpu"):
        import torch
        from sae_lens.synthetic.hierarchy import HierarchyNode, hierarchy_modifier

        self.base, self.free, self.hierarchy = base, np.asarray(free), hierarchy
        self.n_features, self.device = n_features, device
        self.generator = torch.Generator(device=device).manual_seed(seed)
        roots = [HierarchyNode(int(p), [HierarchyNode(int(c)) for c in hierarchy.children_of(p)],
                               mutually_exclusive_children=hierarchy.mutually_exclusive)
                 for p in hierarchy.parents]
        self.modifier = hierarchy_modifier(roots)
        self._free_t = torch.from_numpy(self.free).to(device)
        self._child_t = torch.from_numpy(hierarchy.child).to(device)

    def firing_probabilities(self) -> np.ndarray:
        """(G,) exact marginal firing probability of every feature."""
        out = np.zeros(self.n_features)
        out[self.free] = self.base.firing_probabilities()
        out[self.hierarchy.child] = out[self.hierarchy.parent] * self.hierarchy.conditional_rate()
        return out

    def sample(self, n: int) -> torch.Tensor:
        import torch

        with torch.no_grad():
            out = torch.zeros(n, self.n_features, device=self.device)
            out[:, self._free_t] = self.base.sample(n)
            shape = (n, len(self.hierarchy.child))
            fire = torch.rand(shape, generator=self.generator, device=self.device) < self.hierarchy.child_rate
            out[:, self._child_t] = torch.rand(shape, generator=self.generator, device=self.device) * fire
            seed = int(torch.randint(2**62, (1,), generator=self.generator, device=self.device))
            devices = [torch.device(self.device)] if str(self.device).startswith("cuda") else []
            with torch.random.fork_rng(devices=devices):  # SAELens' mutual exclusion uses the global generator
                torch.manual_seed(seed)
                return self.modifier(out)


def make_hierarchical_firing(make_base, cfg: dict[str, Any], hierarchy: PlantedHierarchy, n_features: int,
                             rank: np.ndarray, seed: int, device: str = "cpu") -> HierarchicalFiring:
    """Wrap the base process ``make_base(n_free, rank_free, seed)`` (the non-child features, their frequency
    ranks re-numbered 0..n_free−1 in the same order) into a :class:`HierarchicalFiring`."""
    from saegeom.utils import derive_seed

    free = np.setdiff1d(np.arange(n_features), hierarchy.child)
    rank_free = np.argsort(np.argsort(np.asarray(rank)[free]))
    base = make_base(len(free), rank_free, seed)
    return HierarchicalFiring(base, free, hierarchy, n_features, derive_seed(seed, "hierarchy"), device)
