"""The plan's seed replicates (seed ceiling) and feature-family studies, without running Snakemake."""

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
TOY = {"source": "toy", "hook": "blocks.0.hook_resid_post", "n_layers": 1, "n_heads": 2, "d_mlp": 32}
LM = {"models": {"t1": {**TOY, "d_model": 16}, "t2": {**TOY, "d_model": 24}},
      "saes": {"s": {"architecture": "topk", "d_sae": 32, "k": 4}},
      "comparisons": {"toys": {"models": ["t2", "t1"], "saes": ["s"]}},
      "compare": {"pairings": ["hungarian"], "metrics": {"decoder": ["linear_cka"]}}}
NESTED = {"d_world": 8, "n_features_per_model": 12, "sharing": {"all": 0.25, "pairs": 0.25}, "n_samples": 6000,
          "shard_rows": 2000, "models": {"a": {}, "b": {}, "c": {"basis": "rotation"}}}
FAMILIES = {"worlds": {"nested": NESTED},
            "saes": {"small": {"architecture": "topk", "d_sae": 16, "k": 2, "training_samples": 20000,
                               "batch_size": 256}}}


def plan_of(**over) -> Plan:
    return Plan.from_config(copy.deepcopy({**TINY, "lm": LM, **over}), SCHEMA)


def test_seed_replicates_are_derived_models_with_their_models_data():
    base = plan_of()
    p = plan_of(seed_ceiling={"saes": ["topk", "s"]})
    assert p.replicates("tiny") == {"a_s1": "a", "b_s1": "b"} and p.replicates("toys") == {"t1_s1": "t1",
                                                                                          "t2_s1": "t2"}
    assert p.ceiling_saes("tiny") == ["topk"] and p.ceiling_saes("toys") == ["s"]
    assert p.ceiling_tables() == ["results/compare/tiny/topk/a~a_s1.parquet",
                                  "results/compare/tiny/topk/b~b_s1.parquet",
                                  "results/compare/toys/s/t1~t1_s1.parquet",
                                  "results/compare/toys/s/t2~t2_s1.parquet"]
    # a replicate reads its model's shards (LM: activation cache, model directory and hook)
    assert p.shards("tiny", "a_s1") == p.shards("tiny", "a") and p.shards("toys", "t1_s1") == p.shards("toys", "t1")
    assert p.lm_info("t2_s1") == p.lm_info("t2") and p.model_inputs("toys", "t2_s1") == p.model_inputs("toys", "t2")
    assert p.base_model("b_s1") == "b" and p.base_model("b") == "b"
    # rows of metrics.parquet: every former table plus the replicate comparisons, nothing else
    assert set(p.metrics_tables()) == set(base.metrics_tables()) | set(p.ceiling_tables())
    assert "results/ceiling.parquet" in p.all_targets()
    # replicates are not models of the study: topology and viewer pages unchanged
    assert p.models("tiny") == ["a", "b"] and p.viewer_pages() == base.viewer_pages()
    assert p.topology_tables() == base.topology_tables()
    assert {"a_s1", "t1_s1"} <= set(p.model_names())
    # the existing rows keep their provenance: enabling the ceiling changes no context or spec
    for study, sae, a, b in [("tiny", "topk", "a", "b"), ("toys", "s", "t1", "t2")]:
        assert p.context(study, sae, a, b) == base.context(study, sae, a, b)
        assert p.sae_spec(study, sae) == base.sae_spec(study, sae)
    assert p.ceiling_replicates() == {"tiny": {"a_s1": "a", "b_s1": "b"}, "toys": {"t1_s1": "t1", "t2_s1": "t2"}}


def test_seed_replicates_train_with_another_seed():
    import inspect

    from saegeom.rules import sae as rule
    from saegeom.utils import derive_seed

    # train_sae seeds each SAE from (seed, study, model, sae): the replicate's name gives another seed
    assert "derive_seed(seed, study, model, sae)" in inspect.getsource(rule.train_sae)
    assert derive_seed(0, "tiny", "a_s1", "topk") != derive_seed(0, "tiny", "a", "topk")


def test_seed_ceiling_studies_and_errors():
    p = plan_of(seed_ceiling={"saes": ["topk"], "studies": ["tiny"]})
    assert p.ceiling_tables() == ["results/compare/tiny/topk/a~a_s1.parquet",
                                  "results/compare/tiny/topk/b~b_s1.parquet"]
    assert plan_of().ceiling_tables() == [] and plan_of().ceiling_replicates() == {}
    with pytest.raises(ConfigError, match="unknown SAE 'nope'"):
        plan_of(seed_ceiling={"saes": ["nope"]})
    with pytest.raises(ConfigError, match="unknown study 'nowhere'"):
        plan_of(seed_ceiling={"saes": ["topk"], "studies": ["nowhere"]})
    worlds = {"tiny": {**TINY["worlds"]["tiny"], "models": {"a": {}, "a_s1": {}}}}
    with pytest.raises(ConfigError, match="already a model"):
        plan_of(worlds=worlds, seed_ceiling={"saes": ["topk"]})


def test_family_worlds_run_pairing_and_families_only():
    base, p = plan_of(), plan_of(families=FAMILIES)
    assert "nested" in p.synthetic_studies and "nested" not in p.worlds
    assert p.saes("nested") == ["small"] and p.sae_spec("nested", "small")["d_sae"] == 16
    assert p.models("nested") == ["a", "b", "c"]
    assert p.metrics_tables() == base.metrics_tables()
    assert p.families_targets() == ["results/families/nested/small.parquet",
                                    "results/families/nested/small_validation.parquet"]
    inputs = p.families_inputs("nested", "small")
    assert inputs["pairs"] == [f"results/pairs/nested/small/{x}~{y}.parquet" for x, y in ("ab", "ac", "bc")]
    assert inputs["saes"] == [f"results/saes/nested/{m}/small" for m in "abc"]
    assert inputs["world"] == "results/worlds/nested/world.safetensors"
    params = p.families_params("nested", "small")
    assert params["pair_models"] == [["a", "b"], ["a", "c"], ["b", "c"]] and params["pairing"] == "one_to_one"
    assert params["context"]["world"] == "nested"
    other = plan_of(families={**FAMILIES, "min_score": 0.2}).families_params("nested", "small")
    assert other["context"]["config_hash"] != params["context"]["config_hash"]
    # families of a regular study: its SAEs, its pairs
    q = plan_of(families={"studies": ["toys"], "pairing": "hungarian"})
    assert q.families_targets() == ["results/families/toys/s.parquet", "results/families/toys/s_validation.parquet"]
    assert "world" not in q.families_inputs("toys", "s")


def test_family_studies_get_viewer_pages_with_families():
    base, p = plan_of(), plan_of(families=FAMILIES)
    # a family world: one page per model pair, built by `all`, each reading the families table
    nested = [f"results/viewer/nested/small/{x}~{y}.html" for x, y in ("ab", "ac", "bc")]
    assert p.viewer_pages() == base.viewer_pages() + nested
    assert set(nested) <= set(p.all_targets())
    assert p.viewer_inputs("nested", "small", "a", "c")["families"] == "results/families/nested/small.parquet"
    assert p.umap_inputs("nested", "small")["saes"] == [f"results/saes/nested/{m}/small" for m in "abc"]
    # studies without families: the same inputs as before (no families table)
    for study, sae, a, b in [("tiny", "topk", "a", "b"), ("toys", "s", "t1", "t2")]:
        assert p.viewer_inputs(study, sae, a, b) == base.viewer_inputs(study, sae, a, b)
        assert "families" not in p.viewer_inputs(study, sae, a, b)
    # families of a regular study: its existing pages read the families table
    q = plan_of(families={"studies": ["toys"], "pairing": "hungarian"})
    assert q.viewer_pages() == base.viewer_pages()
    assert q.viewer_inputs("toys", "s", "t1", "t3")["families"] == "results/families/toys/s.parquet"
    assert "families" not in q.viewer_inputs("tiny", "topk", "a", "b")


def test_family_config_errors():
    with pytest.raises(ConfigError, match="more than n_features_per_model"):
        plan_of(families={**FAMILIES, "worlds": {"nested": {**NESTED, "sharing": {"all": 0.5, "pairs": 0.5}}}})
    with pytest.raises(ConfigError, match="families.saes is empty"):
        plan_of(families={"worlds": {"nested": NESTED}})
    with pytest.raises(ConfigError, match="already a world"):
        plan_of(families={**FAMILIES, "worlds": {"tiny": NESTED}})
    with pytest.raises(ConfigError, match="unknown study"):
        plan_of(families={"studies": ["nowhere"]})
    with pytest.raises(ConfigError, match="not among the pairings"):
        plan_of(families={"studies": ["toys"], "pairing": "one_to_one"})


def test_replicate_comparisons_may_draw_fewer_nulls():
    base, p = plan_of(), plan_of(seed_ceiling={"saes": ["topk"], "n_baseline": 7})
    assert p.compare_settings("tiny", "a_s1")["n_baseline"] == 7
    assert p.compare_settings("tiny", "b")["n_baseline"] == p.compare_settings("tiny")["n_baseline"] == 20
    replicate_hash = p.context("tiny", "topk", "a", "a_s1")["config_hash"]
    assert replicate_hash != base.context("tiny", "topk", "a", "b")["config_hash"]
    assert p.context("tiny", "topk", "a", "b") == base.context("tiny", "topk", "a", "b")
    same = plan_of(seed_ceiling={"saes": ["topk"]})
    assert same.context("tiny", "topk", "a", "a_s1")["config_hash"] == base.context("tiny", "topk", "a", "b")[
        "config_hash"]
