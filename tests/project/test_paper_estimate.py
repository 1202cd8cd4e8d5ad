"""benchmarks/paper_estimate.py: the work factors it extrapolates with behave as stated, and the shipped
estimate matches the publication config's dry run (rules and job counts)."""

from __future__ import annotations

import copy
import importlib.util
import json
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SCHEMA = str(REPO / "workflow" / "schemas" / "config.schema.yaml")
TINY = yaml.safe_load((REPO / "tests" / "data" / "tiny_config.yaml").read_text())
DEFAULT = yaml.safe_load((REPO / "config" / "config.yaml").read_text())


def estimator():
    spec = importlib.util.spec_from_file_location("paper_estimate", REPO / "benchmarks" / "paper_estimate.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def plan(cfg):
    from saegeom.workflow.plan import Plan

    return Plan.from_config(copy.deepcopy(cfg), SCHEMA)


def test_compare_work_is_linear_in_null_draws_and_cells():
    est = estimator()
    base = est.compare_work(plan(TINY))
    more = copy.deepcopy(TINY)
    more["n_baseline"] = 3 * TINY["n_baseline"]
    more["calibration"]["n_baseline"] = 3 * plan(TINY).config["calibration"]["n_baseline"]
    assert est.compare_work(plan(more)) == pytest.approx(3 * base)
    # every study with 2 pairings (tiny: 4 on the world, 1 on the calibration worlds) against every study
    # with 1: work doubles exactly
    one, two = copy.deepcopy(TINY), copy.deepcopy(TINY)
    for cfg, pairings in ((one, ["hungarian"]), (two, ["hungarian", "one_to_one"])):
        cfg["compare"]["pairings"] = pairings
        cfg.setdefault("calibration", {}).setdefault("compare", {})["pairings"] = pairings
    assert est.compare_work(plan(two)) == pytest.approx(2 * est.compare_work(plan(one)))


def test_topology_factors_are_the_config_ratios():
    est = estimator()
    d, p = plan(TINY), copy.deepcopy(TINY)
    p.setdefault("topology", {})["n_baseline"] = 4 * d.config["topology"]["n_baseline"]
    p.setdefault("calibration", {})["topology_cases"] = 2 * d.config["calibration"]["topology_cases"]
    f = est.topology_factors(d, plan(p))
    assert f == {"topology_compare": pytest.approx(4.0), "topology_calibration": pytest.approx(8.0)}


def test_shipped_estimate_names_every_rule_of_the_paper_config():
    d = json.loads((REPO / "benchmarks" / "results" / "paper_estimate.json").read_text())
    assert d["method"] and d["total_cpu_hours"] > 0
    rows = {r["rule"]: r for r in d["rows"]}
    # every job-producing rule of the workflow is in the estimate (re-run the script after adding a rule)
    from saegeom import rules

    assert set(rules.__all__) - {"pretrained_sae"} <= set(rows), set(rules.__all__) - set(rows)
    total = sum(r["paper CPU-hours"] or 0 for r in rows.values())
    assert total == pytest.approx(d["total_cpu_hours"], abs=0.01 * len(rows))


def test_lm_factors_are_the_lm_block_ratios_weighted_by_lm_jobs():
    est = estimator()
    base = copy.deepcopy(TINY)
    base["lm"] = copy.deepcopy(DEFAULT["lm"])
    more = copy.deepcopy(base)
    for m in more["lm"]["models"].values():
        m["steps"] = 3 * m.get("steps", 600)
    more["lm"]["corpus"]["n_stories"] *= 2
    for spec in more["lm"]["saes"].values():
        spec["d_sae"] *= 4
    d, p = plan(base), plan(more)
    jobs = {"train_sae": 40, "features": 10, "category_recovery": 4, "pair_features": 6}
    f = est.lm_factors(d, p, jobs)
    assert f["train_lm"] == pytest.approx(3) and f["lm_activations"] == pytest.approx(2)
    n_lm = est.lm_jobs(p)
    # train_sae: (40 - k) synthetic jobs at 1 and k LM jobs at 4 (width; same samples), k = the plan's LM SAEs
    k = n_lm["train_sae"]
    assert 0 < k < 40 and f["train_sae"] == pytest.approx((40 - k + 4 * k) / 40)
    assert f["category_recovery"] == pytest.approx(8)  # every job LM: stories x width
