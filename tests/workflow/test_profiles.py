"""Snakemake profiles (profiles/*/config.yaml): every rule they name exists, GPU rules go to a GPU
partition, resource expressions give more memory on each retry, and the SLURM profile dry-runs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
PROFILES = sorted(REPO.glob("profiles/*/config.yaml"))
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
RULE_RE = re.compile(r"^(?:rule|checkpoint)\s+([A-Za-z_]\w*)\s*:", re.M)


def workflow_files() -> list[Path]:
    """The workflow's Snakefile and every rule file (the catalog layout: workflow/Snakefile, workflow/rules/)."""
    return [REPO / "workflow" / "Snakefile", *sorted((REPO / "workflow" / "rules").glob("*.smk"))]


def rule_blocks() -> dict[str, str]:
    """{rule name: text of its definition} (up to the next top-level statement)."""
    blocks = {}
    for f in workflow_files():
        text = f.read_text()
        starts = [m for m in RULE_RE.finditer(text)]
        for i, m in enumerate(starts):
            end = starts[i + 1].start() if i + 1 < len(starts) else len(text)
            blocks[m.group(1)] = text[m.start():end]
    return blocks


def named_rules(profile: dict) -> set[str]:
    """Rule names a profile refers to: keys of set-resources/set-threads/set-resource-scopes, left sides of
    groups (a list of "rule=group" or a mapping)."""
    names: set[str] = set()
    for key in ("set-resources", "set-threads"):
        names |= set(profile.get(key) or {})
    groups = profile.get("groups") or []
    items = groups.items() if isinstance(groups, dict) else (g.split("=", 1) for g in groups)
    names |= {rule for rule, _ in items}
    return names


def load(p: Path) -> dict:
    return yaml.safe_load(p.read_text()) or {}


def test_rule_discovery_finds_the_workflow():
    rules = rule_blocks()
    # the target rule and at least one rule per stage; guards against the glob silently finding nothing
    assert "all" in rules and len(rules) >= 15, sorted(rules)


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.parent.name)
def test_profile_names_only_existing_rules(profile):
    unknown = named_rules(load(profile)) - set(rule_blocks())
    assert not unknown, f"{profile.relative_to(REPO)} names rules that do not exist: {sorted(unknown)}"


def test_named_rules_parses_every_form():
    p = {"set-resources": {"a": {}}, "set-threads": {"b": 2}, "groups": ["c=g", "d=g"]}
    assert named_rules(p) == {"a", "b", "c", "d"}
    assert named_rules({"groups": {"e": "g"}}) == {"e"}


SLURM = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())


def slurm_resources(rule: str) -> dict:
    return {**SLURM["default-resources"], **SLURM["set-resources"].get(rule, {})}


def gpu_rules() -> set[str]:
    return {r for r, text in rule_blocks().items() if re.search(r"^\s+gpu\s*=\s*1\s*,?\s*$", text, re.M)}


def test_every_gpu_rule_asks_the_gpu_partition_and_never_gres():
    gpu = gpu_rules()
    assert {"train_sae", "compare_models"} <= gpu  # the parser sees the declarations
    for rule in rule_blocks():
        res = slurm_resources(rule)
        assert "gres" not in res, f"{rule}: the plugin rejects gres together with the rules' gpu resource"
        want = "gpu" if rule in gpu else "cpu"
        assert res["slurm_partition"] == want, f"{rule}: partition {res['slurm_partition']}, expected {want}"


def _eval(expr, attempt: int) -> int:
    # what Snakemake does with a profile's resource string (snakemake.resources.Resource.cli_evaluator)
    return int(eval(str(expr), {"attempt": attempt})) if isinstance(expr, str) else int(expr)


@pytest.mark.parametrize("rule", sorted(set(rule_blocks()) - {"all"}))
def test_memory_and_runtime_grow_with_each_retry(rule):
    res = slurm_resources(rule)
    mem = [_eval(res["mem_mb"], a) for a in (1, 2, 3)]
    run = [_eval(res["runtime"], a) for a in (1, 2, 3)]
    assert mem[0] >= 1000 and mem[0] < mem[1] < mem[2], (rule, mem)
    assert run[0] >= 5 and run[0] < run[1] < run[2], (rule, run)
    assert SLURM["retries"] >= 1


def test_groups_only_join_rules_of_one_partition():
    # a group job takes its string resources (the partition) from its first member: mixing partitions
    # would send GPU work to a CPU partition or the reverse
    by_group: dict[str, set[str]] = {}
    for item in SLURM.get("groups", []):
        rule, group = item.split("=", 1)
        by_group.setdefault(group, set()).add(slurm_resources(rule)["slurm_partition"])
    assert by_group and all(len(parts) == 1 for parts in by_group.values()), by_group


@pytest.mark.slow
@pytest.mark.parametrize("config", ["config.yaml", "paper.yaml"])
def test_slurm_profile_dry_runs_the_default_and_publication_configs(tmp_path, config):
    pytest.importorskip("snakemake_executor_plugin_slurm")
    r = subprocess.run([SNAKEMAKE, "-n", "--profile", str(REPO / "profiles" / "slurm"), "--workflow-profile",
                        "none", "--slurm-no-account", "-s", str(REPO / "workflow" / "Snakefile"),
                        "--directory", str(tmp_path), "all", "--configfile", str(REPO / "config" / config)],
                       capture_output=True, text=True, timeout=600, cwd=REPO)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "Group job small" in r.stdout and "slurm_partition=gpu" in r.stdout and "gpu=1" in r.stdout


USAGE = REPO / "benchmarks" / "results" / "rule_usage_default.json"
MEM_FACTOR, TIME_FACTOR = 3, 4  # the safety factors the docs state


def test_requests_cover_the_measured_usage_with_the_stated_safety_factors():
    # benchmarks/rule_usage.py on the default config (a subset of it; see the JSON's command)
    usage = __import__("json").loads(USAGE.read_text())["rules"]
    assert usage, "no measured rules"
    for rule, u in usage.items():
        res = slurm_resources(rule)
        assert _eval(res["mem_mb"], 1) >= MEM_FACTOR * u["peak_rss_mb_max"], (rule, res["mem_mb"], u)
        assert _eval(res["runtime"], 1) * 60 >= TIME_FACTOR * u["wall_s_max"], (rule, res["runtime"], u)
