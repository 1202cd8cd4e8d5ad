"""Shared fixtures: tiny synthetic worlds (CPU-sized, fixed seeds)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("TQDM_DISABLE", "1")


def world_cfg(**over):
    cfg = dict(d_world=16, n_features_per_model=32, shared_fraction=0.5, geometry={"kind": "sphere"},
               firing={"kind": "correlated", "mean_active": 3, "decay": 0.99, "correlation": None},
               models={"a": {"basis": "identity"}, "b": {"basis": "rotation"}})
    cfg.update(over)
    return cfg


@pytest.fixture
def make_world_cfg():
    return world_cfg
