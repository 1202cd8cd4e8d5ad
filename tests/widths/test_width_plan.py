"""Width ladders in the workflow plan and the config checks (no Snakemake run)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from saegeom.config_checks import ConfigError
from saegeom.workflow.plan import Plan

REPO = Path(__file__).resolve().parents[2]
SCHEMA = str(REPO / "workflow" / "schemas" / "config.schema.yaml")
TINY = yaml.safe_load((REPO / "tests" / "data" / "tiny_config.yaml").read_text())
HWORLD = {"d_world": 16, "n_features_per_model": 20, "shared_fraction": 1.0,
          "firing": {"mean_active": 2, "hierarchy": {"n_parents": 3}}, "models": {"m": {}}}
LADDER = {"world": "hw", "sae": {"architecture": "topk", "k": 2, "lr": 0.01}, "widths": [4, 16]}


def plan_of(**extra) -> Plan:
    return Plan.from_config({**copy.deepcopy(TINY), **copy.deepcopy(extra)}, SCHEMA)


def test_ladder_targets_specs_and_inputs():
    p = plan_of(width_worlds={"hw": HWORLD}, width_ladders={"lad": LADDER})
    assert p.width_targets() == ["results/widths/hw/lad.parquet", "results/widths/hw/lad_validation.parquet"]
    assert set(p.width_targets()) <= set(p.all_targets())
    assert "hw" in p.synthetic_studies and "hw" not in p.worlds  # a world file and shards, no comparisons
    assert p.sae_spec("hw", "lad-w16") == {"architecture": "topk", "d_sae": 16, "k": 2, "lr": 0.01, "batch_size": 1024,
                                           "dead_feature_window": 1000, "lr_decay_steps": 0, "lr_scheduler": "constant",
                                           "lr_warm_up_steps": 0, "training_samples": 1000000}
    assert p.ladder_rung("lad-w5") is None  # not a rung of the ladder
    inputs = p.width_inputs("lad")
    assert inputs["saes"] == ["results/saes/hw/m/lad-w4", "results/saes/hw/m/lad-w16"]
    assert inputs["world"] == "results/worlds/hw/world.safetensors"
    params = p.width_params("lad")
    assert params["widths"] == [4, 16] and params["model"] == "m" and params["min_coactivation"] == 0.15
    assert p.width_hash("lad") != plan_of(width_worlds={"hw": HWORLD},
                                          width_ladders={"lad": {**LADDER, "min_cosine": 0.6}}).width_hash("lad")


def test_no_ladders_no_targets():
    assert plan_of().width_targets() == []


@pytest.mark.parametrize(("ladder", "msg"), [
    ({**LADDER, "world": "nope"}, "neither in worlds nor in width_worlds"),
    ({**LADDER, "widths": [16, 8]}, "strictly increasing"),
    ({**LADDER, "model": "x"}, "not a model of world"),
    ({**LADDER, "sae": {"architecture": "topk", "k": 8}}, "exceeds the narrowest width"),
])
def test_bad_ladders_are_named(ladder, msg):
    with pytest.raises(ConfigError, match=msg):
        plan_of(width_worlds={"hw": HWORLD}, width_ladders={"lad": ladder})


def test_default_config_has_a_ladder():
    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    p = Plan.from_config(cfg, SCHEMA)
    assert len(p.width_targets()) == 2 * len(cfg["width_ladders"]) >= 2
