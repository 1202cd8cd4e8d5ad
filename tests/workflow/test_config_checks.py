"""Config mistakes are caught when the DAG is built, by config path, naming the allowed keys or values."""

import copy
from pathlib import Path

import pytest
import yaml

from saegeom.config_checks import ConfigError, check_config, schema_errors, semantic_errors
from saegeom.settings import NAME_PATTERN

REPO = Path(__file__).resolve().parents[2]
SCHEMA = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
TINY = yaml.safe_load((REPO / "tests" / "data" / "tiny_config.yaml").read_text())


def _problems(edit) -> str:
    cfg = copy.deepcopy(TINY)
    edit(cfg)
    with pytest.raises(ConfigError) as e:
        check_config(cfg, SCHEMA)
    return str(e.value)


@pytest.mark.parametrize("cfg_file", ["config/config.yaml", "tests/data/tiny_config.yaml"])
def test_shipped_configs_pass(cfg_file):
    cfg = yaml.safe_load((REPO / cfg_file).read_text())
    assert schema_errors(cfg, SCHEMA) == []
    assert semantic_errors(cfg) == []


@pytest.mark.parametrize("edit, expected", [
    # unknown key: the key and the allowed keys
    (lambda c: c["worlds"]["tiny"].update(d_wrld=8), ["worlds.tiny", "'d_wrld'", "allowed keys", "d_world"]),
    (lambda c: c.update(seeed=1), ["unknown key(s) ['seeed']", "'seed'"]),
    # wrong type
    (lambda c: c["worlds"]["tiny"].update(n_samples="many"), ["worlds.tiny.n_samples", "expected integer", "'many'"]),
    # unknown geometry / firing kind: allowed values named
    (lambda c: c["worlds"]["tiny"]["geometry"].update(kind="torus"), ["geometry.kind", "'torus'", "sphere", "blobs"]),
    (lambda c: c["compare"].update(min_corr="manual"), ["compare.min_corr", "'auto' or number in [0, 1]"]),
    # sizes <= 0
    (lambda c: c["worlds"]["tiny"].update(shard_rows=0), ["worlds.tiny.shard_rows", "minimum"]),
    (lambda c: c["saes"]["relu"].update(d_sae=-4), ["saes.relu.d_sae", "minimum"]),
    (lambda c: c["compare"].update(n_tokens=0), ["compare.n_tokens", "minimum"]),
    # names that would become paths
    (lambda c: c["worlds"].update({"../x": c["worlds"]["tiny"]}), ["name '../x' is not allowed"]),
    (lambda c: c["saes"].update({"a/b": c["saes"]["relu"]}), ["name 'a/b' is not allowed"]),
    (lambda c: c["worlds"]["tiny"]["models"].update({"..": {"basis": "identity"}}), ["name '..' is not allowed"]),
])
def test_schema_problems_name_the_key_and_allowed_values(edit, expected):
    msg = _problems(edit)
    for part in expected:
        assert part in msg, (part, msg)


@pytest.mark.parametrize("edit, expected", [
    (lambda c: c["saes"]["relu"].update(architecture="relu_plus"), ["saes.relu.architecture", "'relu_plus'",
                                                                     "topk", "standard"]),
    (lambda c: c["saes"]["topk"].update(kk=3), ["saes.topk", "'kk'", "trainer option"]),
    (lambda c: c["saes"]["topk"].update(k=17), ["saes.topk", "k (17) must be at most d_sae (16)"]),
    (lambda c: c["saes"]["relu"].update(training_samples=100), ["saes.relu", "training_samples (100)"]),
    (lambda c: c["compare"].update(metrics={"decoder": ["cka"]}), ["compare.metrics.decoder", "['cka']",
                                                                 "linear_cka"]),
    (lambda c: c["compare"].update(metric_options={"rsa": {"inner": "cosine", "outr": "x"}}),
     ["metric_options.rsa", "['outr']", "'inner'", "'outer'"]),
    (lambda c: c["compare"].update(metric_options={"mutual_knn": {"k": 128}}),
     ["mutual_knn.k = 128", "activations", "compare.n_tokens = 128 tokens"]),
    (lambda c: c["compare"].update(metric_options={"jaccard_knn": {"k": 16}}),
     ["jaccard_knn.k = 16", "decoder", "at most 16 pairs"]),
    (lambda c: c["worlds"]["tiny"]["models"]["b"].update(basis="linear", d_model=9),
     ["worlds.tiny", "model widths differ", "{'a': 8, 'b': 9}", "compare.metrics.decoder: mmcs",
      "compare.pairings: decoder_cosine", "on_width_mismatch: skip"]),
])
def test_semantic_problems_are_named(edit, expected):
    msg = _problems(edit)
    for part in expected:
        assert part in msg, (part, msg)


def test_width_mismatch_may_be_skipped_explicitly():
    cfg = copy.deepcopy(TINY)
    cfg["worlds"]["tiny"]["models"]["b"].update(basis="linear", d_model=9)
    cfg["compare"]["on_width_mismatch"] = "skip"
    check_config(cfg, SCHEMA)


def test_every_problem_is_listed_at_once():
    msg = _problems(lambda c: (c["worlds"]["tiny"].update(d_wrld=8), c.update(n_baseline=0)))
    assert "d_wrld" in msg and "n_baseline" in msg


def test_every_size_in_the_schema_has_a_lower_bound():
    """Integers (sizes, counts) and positive reals carry a minimum, so 0 or -1 never reaches a job."""
    unbounded = []

    def walk(node, path):
        if isinstance(node, dict):
            types = node.get("type")
            types = types if isinstance(types, list) else [types]
            if ("integer" in types or "number" in types) and not {"minimum", "exclusiveMinimum"} & set(node):
                unbounded.append(path)
            for k, v in node.items():
                walk(v, f"{path}.{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{path}[{i}]")

    walk(SCHEMA, "schema")
    # any integer seeds a generator; other SAELens fields are checked by name only (their ranges are SAELens')
    allowed_unbounded = {"schema.properties.seed", "schema.$defs.sae.additionalProperties"}
    assert set(unbounded) <= allowed_unbounded, set(unbounded) - allowed_unbounded


def test_name_pattern_is_the_schema_and_wildcard_pattern():
    import re

    names = [SCHEMA["properties"]["saes"]["propertyNames"]["pattern"],
             SCHEMA["properties"]["worlds"]["propertyNames"]["pattern"]]
    assert all(NAME_PATTERN in p for p in names)
    assert "study=NAME_PATTERN" in (REPO / "workflow" / "rules" / "common.smk").read_text()
    ok, bad = ["a", "gpt2.small", "x-1_b"], ["", "..", "a..b", "a/b", "-x", ".hidden", "a b", "ü"]
    assert all(re.fullmatch(NAME_PATTERN, n) for n in ok)
    assert not any(re.fullmatch(NAME_PATTERN, n) for n in bad)


def test_every_wildcard_of_every_rule_is_constrained():
    """A wildcard without a constraint matches '/' and '..': every one used in a path pattern is listed
    under ``wildcard_constraints`` in workflow/rules/common.smk."""
    import re

    from saegeom.workflow import plan

    common = (REPO / "workflow" / "rules" / "common.smk").read_text()
    block = common.split("wildcard_constraints:", 1)[1].split("\n\n", 1)[0]
    constrained = set(re.findall(r"^\s+(\w+)=", block, re.M))
    used = set()
    patterns = [v for k, v in vars(plan).items() if k.isupper() and isinstance(v, str) and "results/" in v]
    for smk in [REPO / "workflow" / "Snakefile", *(REPO / "workflow" / "rules").glob("*.smk")]:
        patterns += re.findall(r'"([^"\n]*\{[^"\n]*)"', smk.read_text())  # log patterns and literals
    for literal in patterns:
        used |= set(re.findall(r"\{(\w+)\}", literal))
    assert used, "no path patterns found"
    assert used <= constrained, used - constrained


def test_lm_comparisons_are_checked_too():
    cfg = copy.deepcopy(TINY)
    toy = {"source": "toy", "hook": "blocks.0.hook_resid_post", "n_layers": 1, "n_heads": 2, "d_mlp": 32}
    cfg["lm"] = {"models": {"t1": {**toy, "d_model": 16}, "t2": {**toy, "d_model": 24}},
                 "saes": {"s": {"architecture": "topk", "d_sae": 32, "k": 4}},
                 "comparisons": {"pair": {"models": ["t1", "t2"], "saes": ["s"]}},
                 "compare": {"metrics": {"decoder": ["mmcs", "linear_cka"]}}}
    assert schema_errors(cfg, SCHEMA) == []
    msg = " ".join(semantic_errors(cfg))
    assert "lm.comparisons.pair" in msg and "{'t1': 16, 't2': 24}" in msg and "mmcs" in msg
    cfg["lm"]["compare"]["metrics"]["decoder"] = ["linear_cka"]
    cfg["lm"]["saes"]["s"]["architecture"] = "nope"
    assert "config lm.saes.s.architecture: unknown SAE architecture 'nope'" in " ".join(semantic_errors(cfg))
