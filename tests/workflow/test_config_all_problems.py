"""Every config mistake is named before any job, all of them in ONE message (schema, values, names, duplicate
YAML keys, LM hooks and paths, SAELens values, metric options, Mapper lenses, resource estimates)."""

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from saegeom.config_checks import ConfigError, check_config, duplicate_key_problems, fill_defaults, resource_estimates

REPO = Path(__file__).resolve().parents[2]
SCHEMA = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
TINY = yaml.safe_load((REPO / "tests" / "data" / "tiny_config.yaml").read_text())
TOY = {"source": "toy", "hook": "blocks.0.hook_resid_post", "n_layers": 1, "d_model": 16, "n_heads": 2, "d_mlp": 32}


def _message(cfg, **kw) -> str:
    with pytest.raises(ConfigError) as e:
        check_config(cfg, SCHEMA, **kw)
    return str(e.value)


def _edited(edit):
    cfg = copy.deepcopy(TINY)
    edit(cfg)
    return cfg


def _lm(c, models=None, saes=None, **extra):
    c["lm"] = {"models": models or {"t1": dict(TOY), "t2": dict(TOY)},
               "saes": saes or {"s": {"architecture": "topk", "d_sae": 32, "k": 2}},
               "comparisons": {"c": {"models": ["t1", "t2"], "saes": ["s"]}}, **extra}


@pytest.mark.parametrize("edit, expected", [
    # non-finite numbers, by path (the schema's bounds let NaN through)
    (lambda c: c["compare"].update(recovery_threshold=float("nan")), ["config.compare.recovery_threshold: nan"]),
    (lambda c: c["saes"]["relu"].update(lr=float("inf")), ["config.saes.relu.lr: inf is not a finite number"]),
    # names: fullmatch (a trailing newline passes `$`), length, keys YAML reads as booleans or numbers
    (lambda c: c["worlds"].update({"tiny2\n": c["worlds"]["tiny"]}), ["config.worlds['tiny2\\n']", "not allowed"]),
    (lambda c: c["saes"].update({"s" * 300: c["saes"]["relu"]}), ["longer than 64 characters"]),
    (lambda c: c["worlds"]["tiny"]["models"].update({True: {"basis": "identity"}}),
     ["config.worlds.tiny.models: key True is a bool", "booleans"]),
    (lambda c: c["saes"].update({1: c["saes"]["relu"]}), ["config.saes: key 1 is a int", "number"]),
    (lambda c: _lm(c, models={"t1": dict(TOY, hook="blocks.0.hook_resid_post\n"), "t2": dict(TOY)}),
     ["config.lm.models.t1.hook", "not allowed"]),
    # SAELens values against SAELens' own types
    (lambda c: c["saes"]["topk"].update(lr_scheduler="cosine"),
     ["saes.topk.lr_scheduler: 'cosine'", "cosineannealing"]),
    (lambda c: c["saes"]["topk"].update(normalize_activations="l2"), ["saes.topk.normalize_activations: 'l2'",
                                                                      "layer_norm"]),
    (lambda c: c["saes"]["topk"].update(dtype="float33"), ["saes.topk.dtype: 'float33'", "float32"]),
    (lambda c: c["saes"]["topk"].update(decoder_init_norm="big"), ["saes.topk.decoder_init_norm: 'big'", "float"]),
    (lambda c: c["saes"].update(m={"architecture": "matryoshka_batchtopk", "d_sae": 16, "k": 2,
                                   "matryoshka_widths": [8, 4]}), ["saes.m.matryoshka_widths: [8, 4]",
                                                                   "increase strictly"]),
    # metric option values and Mapper lenses
    (lambda c: c["compare"].update(metric_options={"rsa": {"inner": "cosin"}}),
     ["compare.metric_options.rsa", "rejected by rsa", "'cosin'"]),
    (lambda c: c["compare"].update(metric_options={"mutual_knn": {"k": 0}}), ["mutual_knn.k = 0", "positive integer"]),
    (lambda c: c["compare"].update(metric_options={"jaccard_knn": {"k": -3}}), ["jaccard_knn.k = -3"]),
    (lambda c: c.update(topology={"mapper": {"lens": "pcaa"}}), ["topology.mapper.lens", "'pcaa'", "l2norm"]),
    (lambda c: c.update(topology={"mapper": {"lens": "no_such_module_xyz:f"}}), ["'no_such_module_xyz'"]),
    # LM hooks against the model's hook points, paths that must exist
    (lambda c: _lm(c, models={"t1": dict(TOY, hook="blocks.1.hook_resid_post"), "t2": dict(TOY)}),
     ["config lm.models.t1.hook: 'blocks.1.hook_resid_post' is not a hook point"]),
    (lambda c: _lm(c, models={"t1": dict(TOY, hook="blocks.0.hook_resid_pots"), "t2": dict(TOY)}),
     ["lm.models.t1.hook: 'blocks.0.hook_resid_pots'"]),
    (lambda c: _lm(c, models={"t1": dict(TOY), "t2": {"source": "local", "path": "/no/such/model",
                                                      "hook": "blocks.0.hook_resid_post"}}),
     ["lm.models.t2.path: '/no/such/model' is not a Hugging Face model directory"]),
    (lambda c: _lm(c, models={"t1": dict(TOY), "t2": {"source": "pretrained", "name": "gpt-17-nonexistent",
                                                      "hook": "blocks.0.hook_resid_post"}}),
     ["lm.models.t2.name: 'gpt-17-nonexistent' is not a TransformerLens model name"]),
    (lambda c: (_lm(c), c["lm"].update(pretrained_saes={"p": {"t1": {"path": "/no/such/sae"},
                                                              "t2": {"path": "/no/such/sae"}}}),
                c["lm"]["comparisons"]["c"].update(saes=["p"])),
     ["lm.pretrained_saes.p.t1.path: '/no/such/sae' is not a saved SAELens SAE folder"]),
    # resource estimates above the limits
    (lambda c: c["saes"]["relu"].update(d_sae=2_000_000_000), ["saes.relu", "SAE training", "GiB of memory",
                                                                "limits.memory_gb = 64", "limits: {memory_gb:"]),
    (lambda c: c["worlds"]["tiny"].update(d_world=200_000, n_features_per_model=200_000),
     ["config worlds.tiny: world (features G × h) needs about"]),
    (lambda c: c["worlds"]["tiny"].update(n_samples=10_000_000_000_000), ["the run writes about",
                                                                          "limits.disk_gb = 500", "disk_gb:"]),
    (lambda c: (c["worlds"]["tiny"].update(n_samples=100_000), c.update(limits={"disk_gb": 0.001})),
     ["above limits.disk_gb = 0.001"]),
])
def test_each_mistake_is_named_by_path(edit, expected):
    msg = _message(_edited(edit))
    for part in expected:
        assert part in msg, (part, msg)


def test_raising_a_limit_lets_a_large_config_through():
    cfg = _edited(lambda c: c["worlds"]["tiny"].update(n_samples=200_000_000))
    cfg["limits"] = {"disk_gb": 10}
    assert "above limits.disk_gb = 10" in _message(cfg)  # 2e8 rows x 16 columns x 4 bytes = 11.9 GiB
    cfg["limits"]["disk_gb"] = 20
    check_config(cfg, SCHEMA)


def test_disk_estimate_matches_the_bytes_of_the_shards():
    """Two models of width 8, n_samples rows each, float32: the estimate is exactly what the shards hold."""
    est = resource_estimates(fill_defaults(TINY, SCHEMA))
    shards = [d for w, s, _, d in est if s == "activation shards" and w == "config worlds.tiny"]
    assert shards == [4 * 8 * 2 * TINY["worlds"]["tiny"]["n_samples"]]


def test_several_mistakes_in_different_blocks_give_one_message_naming_all():
    cfg = copy.deepcopy(TINY)
    cfg["worlds"]["tiny"]["d_wrld"] = 3                             # schema: unknown key
    cfg.update(n_baseline=0)                                        # schema: bound
    cfg["compare"]["recovery_threshold"] = float("nan")             # non-finite
    cfg["saes"]["topk"]["lr_scheduler"] = "cos"                     # SAELens value
    cfg["compare"]["metric_options"] = {"rsa": {"inner": "cosin"}}  # metric option value
    cfg["topology"] = {"mapper": {"lens": "pcaa"}}                  # Mapper lens
    cfg["worlds"]["tiny2\n"] = copy.deepcopy(TINY["worlds"]["tiny"])  # name
    _lm(cfg, models={"t1": dict(TOY, hook="blocks.3.hook_resid_post"), "t2": dict(TOY)})  # LM hook
    cfg["saes"]["relu"]["d_sae"] = 2_000_000_000                    # resources
    msg = _message(cfg)
    assert msg.count("config error") == 1
    for part in ["d_wrld", "n_baseline", "recovery_threshold: nan", "lr_scheduler: 'cos'", "rejected by rsa",
                 "topology.mapper.lens", "tiny2\\n", "lm.models.t1.hook", "GiB of memory"]:
        assert part in msg, (part, msg)


def test_semantic_checks_survive_a_config_that_failed_the_schema():
    cfg = copy.deepcopy(TINY)
    cfg["worlds"]["tiny"]["models"] = "ab"          # breaks every world check
    cfg["saes"]["relu"] = ["not", "a", "mapping"]   # breaks the SAE checks of relu
    cfg["compare"]["metric_options"] = {"rsa": {"inner": "cosin"}}
    msg = _message(cfg)
    assert "config.worlds.tiny.models" in msg and "config.saes.relu" in msg and "rejected by rsa" in msg


def test_duplicate_yaml_keys_are_named_with_file_and_line(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("seed: 0\nsaes:\n  a: {architecture: topk}\n  b: {architecture: topk}\n  a: {architecture: standard}\n"
                 "seed: 1\n")
    problems = duplicate_key_problems([f])
    assert len(problems) == 2
    assert f"{f}:5: key 'a' given twice (first on line 3)" in problems[0]
    assert f"{f}:6: key 'seed' given twice (first on line 1)" in problems[1]
    cfg = yaml.safe_load(f.read_text())  # the last value won silently
    assert "key 'seed' given twice" in _message({**TINY, "seed": cfg["seed"]}, config_files=[f])
    clean = tmp_path / "ok.yaml"
    clean.write_text(yaml.safe_dump(TINY))
    assert duplicate_key_problems([clean]) == []


def test_matryoshka_widths_pass_the_checks():
    cfg = _edited(lambda c: c["saes"].update(m={"architecture": "matryoshka_batchtopk", "d_sae": 16, "k": 2,
                                                 "matryoshka_widths": [4, 8, 16]}))
    check_config(cfg, SCHEMA)


def test_shipped_configs_still_pass():
    for f in ("config/config.yaml", "tests/data/tiny_config.yaml"):
        check_config(yaml.safe_load((REPO / f).read_text()), SCHEMA, config_files=[REPO / f])


@pytest.mark.slow
def test_snakemake_dry_run_names_mistakes_of_several_blocks_before_any_job(tmp_path):
    """What the workflow's DAG check reports today (rules/common.smk): semantic mistakes of three blocks in
    one message, before any job."""
    cfg = copy.deepcopy(TINY)
    cfg["compare"]["metric_options"] = {"rsa": {"inner": "cosin"}}
    cfg["topology"] = {"mapper": {"lens": "pcaa"}}
    cfg["saes"]["topk"]["lr_scheduler"] = "cos"
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(cfg))
    snakemake = str(Path(sys.executable).with_name("snakemake"))
    r = subprocess.run([snakemake, "-n", "-s", str(REPO / "workflow" / "Snakefile"), "--directory", str(tmp_path),
                        "--configfile", str(tmp_path / "bad.yaml"), "--cores", "1"],
                       capture_output=True, text=True, timeout=600)
    out = r.stdout + r.stderr
    assert r.returncode != 0 and out.count("config error — nothing was run") == 1, out
    for part in ["rejected by rsa", "topology.mapper.lens", "lr_scheduler: 'cos'"]:
        assert part in out, (part, out)
    assert not (tmp_path / "results").exists()
