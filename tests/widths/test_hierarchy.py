"""The planted-hierarchy world: gating, closed-form rates, persistence, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from saegeom.synthetic.hierarchy import plant_hierarchy
from saegeom.synthetic.world import World, build_world


def hier_cfg(me=True, q=0.5, correlation=None, kind="correlated", **firing):
    firing = {"kind": kind, "mean_active": 2, "decay": 0.97, "correlation": correlation,
              "hierarchy": {"n_parents": 4, "children_per_parent": 3, "child_rate": q, "mutually_exclusive": me},
              **firing}
    return dict(d_world=16, n_features_per_model=40, shared_fraction=1.0, geometry={"kind": "sphere"},
                firing=firing, models={"a": {"basis": "identity"}})


def sample(cfg, n=60_000, seed=0):
    w = build_world("h", cfg, seed)
    f = w.firing()
    return w, f, f.sample(n).numpy()


@pytest.mark.parametrize("me", [True, False])
@pytest.mark.parametrize("corr", [None, {"positive_ratio": 0.5, "uncorrelated_ratio": 0.8,
                                         "max_correlation_strength": 0.3}])
def test_children_fire_only_with_parent_at_closed_form_rates(me, corr):
    w, f, x = sample(hier_cfg(me=me, correlation=corr))
    h = w.hierarchy
    on = x > 0
    assert not (on[:, h.child] & ~on[:, h.parent]).any()  # exact: never without the parent
    n = len(x)
    # closed form (module docstring): P(child | parent) = q, or (1 - (1 - q)^k)/k with mutual exclusion
    q, k = 0.5, 3
    cond = (1 - (1 - q) ** k) / k if me else q
    assert np.allclose(h.conditional_rate(), cond)
    parent_on = on[:, h.parent]
    emp_cond = (on[:, h.child] & parent_on).sum(0) / parent_on.sum(0)
    se = np.sqrt(cond * (1 - cond) / parent_on.sum(0))
    # 5 standard errors: a binomial proportion leaves this band with probability < 1e-6 per child
    assert np.all(np.abs(emp_cond - cond) < 5 * se)
    p = f.firing_probabilities()
    emp = on.mean(0)
    assert np.all(np.abs(emp - p) < 5 * np.sqrt(p * (1 - p) / n) + 1e-12)
    if me:  # at most one child of a parent per sample
        for parent in h.parents:
            assert on[:, h.children_of(parent)].sum(1).max() <= 1


def test_mean_active_counts_the_free_features():
    w, f, x = sample(hier_cfg())
    free = np.setdiff1d(np.arange(w.n_features), w.hierarchy.child)
    p = f.firing_probabilities()
    assert p[free].sum() == pytest.approx(2.0, abs=1e-9)  # calibrated exactly on the non-child features
    assert p.sum() == pytest.approx(2.0 + p[w.hierarchy.child].sum())
    # magnitudes of children: U(0, 1) like every feature (mean 1/2 ± 5 standard errors of 1/√12)
    vals = x[:, w.hierarchy.child][x[:, w.hierarchy.child] > 0]
    assert abs(vals.mean() - 0.5) < 5 / np.sqrt(12 * len(vals))


def test_groups_base_and_same_draws_per_seed():
    cfg = hier_cfg(kind="groups", n_groups=2)
    w, _, x = sample(cfg, n=20_000)
    on = x > 0
    assert not (on[:, w.hierarchy.child] & ~on[:, w.hierarchy.parent]).any()
    _, _, y = sample(cfg, n=20_000)
    assert np.array_equal(x, y)  # the mutual-exclusion choice is seeded, not global


def test_hierarchy_saved_in_world_file(tmp_path):
    w = build_world("h", hier_cfg(), 3)
    w.save(tmp_path / "w.safetensors")
    back = World.load(tmp_path / "w.safetensors")
    assert np.array_equal(back.hierarchy.child, w.hierarchy.child)
    assert np.array_equal(back.hierarchy.parent, w.hierarchy.parent)
    assert back.hierarchy.mutually_exclusive and back.hierarchy.child_rate == 0.5
    assert len(np.unique(np.r_[w.hierarchy.child, w.hierarchy.parents])) == 4 * (1 + 3)  # distinct features
    # the rest of the world does not depend on the hierarchy block
    plain = build_world("h", {**hier_cfg(), "firing": {"kind": "correlated", "mean_active": 2}}, 3)
    assert np.array_equal(plain.features, w.features) and plain.hierarchy is None


@pytest.mark.parametrize(("cfg", "msg"), [
    ({"n_parents": 20, "children_per_parent": 3}, "needs 80 features"),
    ({"n_parents": 2, "children_per_parent": 1}, "mutually_exclusive needs"),
    ({"n_parents": 2, "child_rate": 0}, "child_rate"),
])
def test_bad_hierarchy_is_named(cfg, msg):
    with pytest.raises(ValueError, match=msg):
        plant_hierarchy(40, cfg, np.random.default_rng(0))
