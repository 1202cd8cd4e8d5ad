"""The workflow plan (saegeom.workflow.plan) in process: targets, inputs by source, settings, provenance
contexts and validation, without running Snakemake; and the contract between rules, scripts and
saegeom.rules (names match, keyword-only; profiles: tests/workflow/test_profiles.py)."""

from __future__ import annotations

import ast
import copy
import inspect
import re
from math import comb
from pathlib import Path

import pytest
import yaml
from test_profiles import rule_blocks

from saegeom import rules as R
from saegeom.config_checks import ConfigError
from saegeom.settings import CompareSettings, PairingSettings
from saegeom.workflow import rule_arguments
from saegeom.workflow.plan import Plan

REPO = Path(__file__).resolve().parents[2]
SCHEMA = str(REPO / "workflow" / "schemas" / "config.schema.yaml")
TINY = yaml.safe_load((REPO / "tests" / "data" / "tiny_config.yaml").read_text())
DEFAULT = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
TOY = {"source": "toy", "hook": "blocks.0.hook_resid_post", "n_layers": 1, "n_heads": 2, "d_mlp": 32}
LM = {"models": {"t1": {**TOY, "d_model": 16}, "t2": {**TOY, "d_model": 24}, "t3": {**TOY, "d_model": 24}},
      "saes": {"s": {"architecture": "topk", "d_sae": 32, "k": 4}},
      "comparisons": {"toys": {"models": ["t3", "t1", "t2"], "saes": ["s"]}},
      "compare": {"pairings": ["hungarian"], "metrics": {"decoder": ["linear_cka"]}}}


def plan_of(cfg: dict) -> Plan:
    return Plan.from_config(copy.deepcopy(cfg), SCHEMA)


@pytest.fixture(scope="module")
def plan() -> Plan:
    """The tiny config (one world: 2 models, 2 SAEs; calibration 2 worlds) plus an LM comparison of 3 models."""
    return plan_of({**TINY, "lm": LM, "topology": {"worlds": ["tiny", "toys"]}})


def test_targets_count_every_comparison(plan):
    # by hand: tiny has 2 SAEs × C(2, 2) pairs and 2 SAEs × 2 models ground-truth recoveries;
    # toys has 1 SAE × C(3, 2) pairs and 3 category recoveries
    tables = plan.comparison_tables(["tiny", "toys"])
    assert len(tables) == 2 * comb(2, 2) + 2 * 2 + comb(3, 2) + 3
    assert "results/compare/toys/s/t1~t2.parquet" in tables
    assert "results/compare/toys/s/t2~categories.parquet" in tables
    assert "results/compare/tiny/relu/a~ground_truth.parquet" in tables
    # calibration: 2 worlds (fractions 0 and 1, one seed) × 1 SAE × 1 pair, no recovery tables
    assert plan.calibration_tables() == ["results/compare/cal_f000_s0/calibration/a~b.parquet",
                                         "results/compare/cal_f100_s0/calibration/a~b.parquet"]
    # topology: tiny has 2 SAEs + ground truth, toys 1 SAE (no ground truth), each over every model pair
    assert len(plan.topology_tables()) == 3 * 1 + 1 * 3
    assert len(plan.topology_reports()) == 3 * 2 + 1 * 3
    assert set(plan.metrics_tables()) == set(tables) | set(plan.topology_tables())
    assert len(plan.viewer_pages()) == 2 * 1 + 1 * 3


def test_models_are_sorted_and_pairs_ordered(plan):
    assert plan.models("toys") == ["t1", "t2", "t3"]
    assert plan.model_pairs("toys") == [("t1", "t2"), ("t1", "t3"), ("t2", "t3")]


def test_inputs_are_chosen_by_source(plan):
    syn = plan.compare_inputs("tiny", "relu", "a", "b")
    assert syn["world"] == "results/worlds/tiny/world.safetensors"
    assert syn["acts_a"] == syn["acts_b"] == "results/worlds/tiny/acts"
    assert not {"features_a", "corpus"} & set(syn)
    lm = plan.compare_inputs("toys", "s", "t1", "t2")
    assert "world" not in lm
    assert lm["acts_a"] == "results/lm/t1/acts/blocks.0.hook_resid_post"
    assert lm["lm_model_a"] == "results/lm/t1/model"  # toy models: their directory too
    assert lm["features_a"] == "results/features/toys/t1/s" and lm["corpus"] == "results/lm/corpus"
    assert lm["pairs"] == "results/pairs/toys/s/t1~t2.parquet"
    assert plan.shards("tiny", "a") == "results/worlds/tiny/acts/a"
    assert plan.shards("toys", "t2") == lm["acts_b"]
    assert set(plan.feature_inputs("tiny", "a", "relu")) == {"sae", "acts", "world"}
    assert set(plan.feature_inputs("toys", "t1", "s")) == {"sae", "acts", "lm_model", "corpus"}


def test_settings_merge_the_blocks_of_each_source(plan):
    lm, syn, cal = (plan.compare_settings(s) for s in ("toys", "tiny", "cal_f000_s0"))
    assert plan.pairing_settings("toys")["pairings"] == ["hungarian"]  # lm.compare on top of compare
    assert plan.pairing_settings("tiny")["pairings"] == TINY["compare"]["pairings"]
    assert lm["metrics"]["decoder"] == ["linear_cka"] != CompareSettings(**syn).metrics["decoder"]
    assert syn["n_baseline"] == TINY["n_baseline"] and cal["n_baseline"] == TINY["calibration"]["n_baseline"]
    for study in ("toys", "tiny", "cal_f000_s0"):  # the typed settings accept what the plan builds
        CompareSettings(**plan.compare_settings(study))
        PairingSettings(**plan.pairing_settings(study))


def test_config_hash_follows_what_can_change_the_rows():
    base = {**TINY, "lm": LM}
    p0 = plan_of(base)
    ctx = p0.context("tiny", "relu", "a", "b")
    assert ctx["source"] == "synthetic" and ctx["sae_b"] == "relu"
    assert p0.context("tiny", "relu", "a", "ground_truth")["sae_b"] == "ground_truth"
    assert p0.context("toys", "s", "t1", "t2")["source"] == "lm"
    restyled = plan_of({**base, "viewer": {"table_rows": 7}})  # a page setting: no row changes
    assert restyled.context("tiny", "relu", "a", "b") == ctx
    assert restyled.context("toys", "s", "t1", "t2") == p0.context("toys", "s", "t1", "t2")
    more = plan_of({**base, "compare": {**TINY["compare"], "n_tokens": 64}})
    assert more.context("tiny", "relu", "a", "b")["config_hash"] != ctx["config_hash"]
    assert more.context("toys", "s", "t1", "t2")["config_hash"] != p0.context("toys", "s", "t1", "t2")["config_hash"]
    topo = plan_of({**base, "topology": {"n_points": 64}})
    assert topo.context("tiny", "relu", "a", "b") == ctx  # topology settings: only topology rows
    assert topo.topology_context("tiny", "relu", "a", "b") != p0.topology_context("tiny", "relu", "a", "b")
    assert p0.topology_context("tiny", "ground_truth", "a", "b")["sae_a"] == "ground_truth"


def test_comparison_name_is_the_metrics_column(plan):
    assert plan.comparison_name("toys", "s", "t1", "t2") == "toys:t1/s~t2/s"


@pytest.mark.parametrize("edit, named", [
    (lambda c: c["worlds"]["tiny"].update(bogus_key=1), "bogus_key"),
    (lambda c: c["worlds"]["tiny"].update(d_world="eight"), "d_world"),
    (lambda c: c.update(n_baseline=0), "n_baseline"),
    (lambda c: c["compare"].update(baselines={"activations": ["shuffle"]}), "shuffle"),
    (lambda c: c["compare"].update(min_corr="manual"), "min_corr"),
    (lambda c: c["worlds"].update(cal_mine=c["worlds"]["tiny"]), "cal_mine"),
    (lambda c: c["worlds"].update({"x/../../etc": c["worlds"]["tiny"]}), "x/../../etc"),
    (lambda c: c["saes"]["relu"].update(architecture="relu_plus"), "relu_plus"),
    (lambda c: c["worlds"]["tiny"]["models"]["b"].update(basis="linear", d_model=9), "model widths differ"),
    (lambda c: c.update(lm={**LM, "comparisons": {"toys": {"models": ["t1", "gpt9"], "saes": ["s"]}}}), "gpt9"),
    (lambda c: c.update(lm={**LM, "comparisons": {"tiny": {"models": ["t1", "t2"], "saes": ["s"]}}}),
     "reuse world names"),
    (lambda c: c.update(lm={**LM, "comparisons": {"toys": {"models": ["t1", "t2"], "saes": ["nope"]}}}), "'nope'"),
    (lambda c: c.update(topology={"worlds": ["tiny", "atlantis"]}), "atlantis"),
    (lambda c: c["saes"].update(ground_truth=c["saes"]["relu"]), "ground_truth"),
])
def test_bad_config_is_named_when_the_plan_is_made(edit, named):
    cfg = copy.deepcopy(TINY)
    edit(cfg)
    with pytest.raises(ConfigError, match=re.escape(named)) as e:
        plan_of(cfg)
    assert "nothing was run" in str(e.value)


def test_shipped_config_plans_every_stage():
    p = plan_of(DEFAULT)
    assert set(p.topology_studies()) == set(DEFAULT["topology"]["worlds"])
    # + the ceiling table, the families world's families and validation tables, and the LM layer and training tables
    assert len(p.all_targets()) == (5 + len(p.viewer_pages()) + len(p.figure_targets()) + len(p.width_targets())
                                    + 1 + len(p.families_targets()) + len(p.layer_matrix_tables())
                                    + len(p.training_tables()))
    assert p.layer_matrix_tables() == ["results/layers/toys/topk.parquet"]
    assert p.training_tables() == ["results/training/toy2_training/topk256.parquet"]
    assert p.families_targets() and p.ceiling_tables()


def test_publication_config_plans_the_same_studies_with_the_full_suites():
    paper = yaml.safe_load((REPO / "config" / "paper.yaml").read_text())
    p, d = plan_of(copy.deepcopy(paper)), plan_of(copy.deepcopy(DEFAULT))
    # the same pages of every world and LM comparison (the family worlds differ: 4 models and other SAEs there)
    def pages(plan):
        return {x for x in plan.viewer_pages() if x.split("/")[2] not in plan.family_worlds}

    assert p.metrics_tables() and pages(p) == pages(d) and set(p.family_worlds) == set(d.family_worlds)
    assert p.n_baseline("blobs") == 1000 and p.config["topology"]["n_baseline"] == 100
    pairings = set(p.pairing_settings("blobs")["pairings"])
    assert pairings >= set(d.pairing_settings("blobs")["pairings"]) | {"many_to_one", "decoder_cosine"}
    assert len(p.calibration_worlds) == 5 * 4 and p.n_baseline(next(iter(p.calibration_worlds))) == 1000


# ---- rules, scripts and saegeom.rules ------------------------------------------------------------------
def _rules() -> dict[str, str | None]:
    """{rule name: script file name} of every rule of the workflow (None: no script)."""
    scripts = {name: re.search(r'script:\s*"\.\./scripts/(\w+)\.py"', block) for name, block in rule_blocks().items()}
    return {name: m.group(1) if m else None for name, m in scripts.items()}


def test_every_rule_script_runs_the_function_of_its_name():
    rules = _rules()
    assert {"pair_features", "compare_models", "features", "viewer"} <= set(rules)
    assert not {"lm_pair_features", "lm_compare", "synthetic_latents", "lm_features"} & set(rules)
    scripted = {r: s for r, s in rules.items() if s}
    assert all(r == s for r, s in scripted.items()), scripted
    assert set(scripted) == set(R.__all__)
    for name in scripted:
        tree = ast.parse((REPO / "workflow" / "scripts" / f"{name}.py").read_text())
        calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "run_rule"]
        assert len(calls) == 1 and calls[0].args[1].id == name, name
    assert sorted(p.stem for p in (REPO / "workflow" / "scripts").glob("*.py")) == sorted(scripted)


def test_rule_functions_are_keyword_only():
    for name in R.__all__:
        params = inspect.signature(getattr(R, name)).parameters.values()
        assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params), name


def test_rule_arguments_pass_by_name_and_build_settings():
    def fn(*, sae_a: str, pairing: PairingSettings, device: str, out: str, world: str | None = None):
        return None

    fn.__annotations__["pairing"] = "PairingSettings"  # as under `from __future__ import annotations`
    kw = rule_arguments(fn, {"sae_a": "x", "acts_a": "dependency only"}, {"pairing": {"pairings": ["hungarian"]}},
                        {"out": "o"}, "cpu")
    assert kw == {"sae_a": "x", "pairing": PairingSettings(pairings=["hungarian"]), "device": "cpu", "out": "o"}
    with pytest.raises(TypeError, match="no parameters"):
        rule_arguments(fn, {}, {"typo": 1}, {"out": "o"}, "cpu")
