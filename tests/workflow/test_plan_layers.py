"""The plan of LM layers and checkpoints: units (a model at one hook and checkpoint), unit pairs, activation
caches and snapshot directories, pretrained SAE templates, layer and training tables, and the config checks."""

from __future__ import annotations

import copy

import pytest
from test_plan import LM, SCHEMA, TINY, TOY

from saegeom.config_checks import ConfigError
from saegeom.lm.hook_points import expand_hooks, hook_layer
from saegeom.workflow.plan import Plan

DEEP = {**TOY, "n_layers": 3, "d_model": 16, "hook": "all"}
LAYER_LM = {**LM, "models": {**LM["models"], "d3": DEEP},
            "comparisons": {**LM["comparisons"], "deep": {"models": ["t1", "d3"], "saes": ["s"]}},
            "training": {"growth": {"model": "d3", "steps": [40, 20], "saes": ["s"]}}}


def plan_of(lm: dict) -> Plan:
    return Plan.from_config(copy.deepcopy({**TINY, "lm": lm}), SCHEMA)


def test_hook_entries_expand_in_layer_order():
    assert expand_hooks("all", lambda: 3) == [f"blocks.{i}.hook_resid_post" for i in range(3)]
    assert expand_hooks("blocks.*.hook_mlp_out", lambda: 2) == ["blocks.0.hook_mlp_out", "blocks.1.hook_mlp_out"]
    assert expand_hooks(["blocks.2.hook_resid_post", "hook_embed", "blocks.0.hook_resid_post"], lambda: None) == \
        ["hook_embed", "blocks.0.hook_resid_post", "blocks.2.hook_resid_post"]
    assert expand_hooks("blocks.1.hook_resid_post", lambda: None) == ["blocks.1.hook_resid_post"]
    with pytest.raises(ValueError, match="layer count"):
        expand_hooks("all", lambda: None, where="lm.models.p.hook")
    with pytest.raises(ValueError, match="more than once"):
        expand_hooks(["all", "blocks.0.hook_resid_post"], lambda: 2)
    assert (hook_layer("blocks.11.attn.hook_z"), hook_layer("hook_embed")) == (11, None)


def test_units_name_hooks_and_checkpoints_and_one_hook_models_keep_their_names():
    p = plan_of(LAYER_LM)
    assert p.models("toys") == ["t1", "t2", "t3"]  # one hook each: names (and so paths and seeds) unchanged
    assert p.models("deep") == ["d3.L0", "d3.L1", "d3.L2", "t1"]
    # every hook of one model with every hook of the other, never two hooks of one model
    assert p.model_pairs("deep") == [("d3.L0", "t1"), ("d3.L1", "t1"), ("d3.L2", "t1")]
    # training: the final unit (default hook: the model's last) against each checkpoint, by step
    assert p.models("growth") == ["d3.L2", "d3.step20.L2", "d3.step40.L2"]
    assert p.model_pairs("growth") == [("d3.L2", "d3.step20.L2"), ("d3.L2", "d3.step40.L2")]
    assert p.is_lm("growth") and p.is_training("growth") and p.saes("growth") == ["s"]
    u = p.unit("d3.step20.L2")
    assert (u.model, u.hook, u.step, u.layer, u.instance) == ("d3", "blocks.2.hook_resid_post", 20, 2, "d3.step20")
    assert p.snapshot_steps("d3") == [20, 40] and p.snapshot_steps("t1") == []


def test_units_read_their_own_cache_and_checkpoints_their_snapshot():
    p = plan_of(LAYER_LM)
    assert p.lm_acts("d3.L1") == "results/lm/d3/acts/blocks.1.hook_resid_post"
    assert p.lm_acts("d3.step20.L2") == "results/lm/d3.step20/acts/blocks.2.hook_resid_post"
    info = p.lm_info("d3.step20.L2")
    assert info["model_dir"] == "results/lm/d3/model/steps/20" and info["hook"] == "blocks.2.hook_resid_post"
    assert info["spec"] == p.lm_spec("d3")
    # the snapshot lies inside the model's train_lm output: the job depends on that directory
    assert p.model_inputs("growth", "d3.step20.L2") == {"acts": "results/lm/d3.step20/acts/blocks.2.hook_resid_post",
                                                        "lm_model": "results/lm/d3/model"}
    assert p.instance_of("d3.step20") == ("d3", 20) and p.lm_weights_dir("d3") == "results/lm/d3/model"
    with pytest.raises(KeyError):
        p.instance_of("d3.step")


def test_contexts_carry_hooks_and_layers():
    p = plan_of(LAYER_LM)
    c = p.context("deep", "s", "d3.L1", "t1")
    assert (c["hook_a"], c["layer_a"], c["hook_b"], c["layer_b"]) == \
        ("blocks.1.hook_resid_post", 1, "blocks.0.hook_resid_post", 0)
    r = p.context("deep", "s", "d3.L2", "categories")
    assert r["hook_a"] == "blocks.2.hook_resid_post" and "hook_b" not in r
    assert "hook_a" not in p.context("tiny", "relu", *p.model_pairs("tiny")[0])  # synthetic rows: no hooks


def test_layer_and_training_tables_and_their_inputs():
    p = plan_of(LAYER_LM)
    assert p.layer_studies() == ["deep"]  # toys: one hook per model, no matrix
    assert p.layer_matrix_tables() == ["results/layers/deep/s.parquet"]
    assert p.training_tables() == ["results/training/growth/s.parquet"]
    assert p.layer_inputs("deep", "s") == [f"results/compare/deep/s/d3.L{i}~t1.parquet" for i in range(3)]
    ins = p.training_inputs("growth", "s")
    assert ins["tables"] == ["results/compare/growth/s/d3.L2~d3.step20.L2.parquet",
                             "results/compare/growth/s/d3.L2~d3.step40.L2.parquet"]
    assert len(ins["recovery"]) == 3  # category recovery of every checkpoint and of the final model
    units = {r["unit"]: r for r in p.unit_table("growth")}
    assert units["d3.step20.L2"]["step"] == 20 and units["d3.L2"]["step"] == units["d3.L2"]["final_step"]
    targets = set(p.all_targets())
    assert {*p.layer_matrix_tables(), *p.training_tables()} <= targets
    assert set(ins["tables"]) <= set(p.metrics_tables())  # training rows are rows of metrics.parquet
    assert not any("growth" in v for v in p.viewer_pages())


def test_pretrained_sae_entries_are_templates_per_layer():
    lm = copy.deepcopy(LAYER_LM)
    lm["models"]["p"] = {"source": "pretrained", "name": "pythia-70m-deduped", "hook": "all", "n_layers": 6}
    lm["pretrained_saes"] = {"res": {"p": {"release": "pythia-70m-deduped-res-sm",
                                           "sae_id": "blocks.{layer}.hook_resid_post"},
                                     "t1": {"release": "r", "sae_id": "{hook}"}}}
    lm["comparisons"]["pre"] = {"models": ["p", "t1"], "saes": ["res"]}
    p = plan_of(lm)
    assert p.pretrained_source("res", "p.L4") == {"release": "pythia-70m-deduped-res-sm",
                                                  "sae_id": "blocks.4.hook_resid_post"}
    assert p.pretrained_source("res", "t1")["sae_id"] == "blocks.0.hook_resid_post"
    assert len(p.model_pairs("pre")) == 6


def test_aligned_umap_refuses_units_of_one_model_next_to_each_other():
    p = plan_of(LAYER_LM)
    p.config["viewer"]["aligned"] = True
    assert p.umap_inputs("toys", "s")["pairs"]  # one hook per model: consecutive models are paired
    with pytest.raises(ValueError, match="viewer.aligned"):
        p.umap_inputs("deep", "s")


@pytest.mark.parametrize("change, message", [
    (lambda lm: lm["training"]["growth"].update(steps=[600]), r"steps: \[600\] are not inside"),
    (lambda lm: lm["training"]["growth"].update(model="nope"), "is not a toy model"),
    (lambda lm: lm["training"]["growth"].update(hook="blocks.7.hook_resid_post"), "not one of the model's hooks"),
    (lambda lm: lm["training"]["growth"].update(saes=["zz"]), "not in lm.saes"),
    (lambda lm: lm["training"].update(toys={"model": "d3", "steps": [5], "saes": ["s"]}), "reuse world or comparison"),
    (lambda lm: lm["models"]["d3"].update(hook="blocks.*.hook_nope"), "'blocks.2.hook_nope' is not a hook point"),
    (lambda lm: lm["models"].update(p={"source": "pretrained", "name": "gpt2", "hook": "all"}), "layer count"),
])
def test_bad_layer_and_training_configs_are_named(change, message):
    lm = copy.deepcopy(LAYER_LM)
    change(lm)
    with pytest.raises(ConfigError, match=message):
        plan_of(lm)
