"""The Snakemake workflow on a tiny config: validation, outputs, incremental re-runs."""

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from saegeom.io.tables import read_metrics
from saegeom.workflow import job_counts

REPO = Path(__file__).resolve().parents[2]
SNAKEFILE = str(REPO / "workflow" / "Snakefile")
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
TINY = REPO / "tests" / "data" / "tiny_config.yaml"
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"


def snakemake(workdir: Path, config: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [SNAKEMAKE, "-s", SNAKEFILE, "--directory", str(workdir), "--configfile", str(config),
           "--cores", "2", "--resources", "gpu=2", *args]  # no GPU here: SAE jobs may share the two cores
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900)


def write_config(path: Path, cfg: dict) -> Path:
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_bad_config_stops_before_any_job_naming_the_key(tmp_path):
    """Building the DAG validates the config (every check in process: tests/workflow/test_plan.py)."""
    cfg = yaml.safe_load(TINY.read_text())
    cfg["worlds"]["tiny"]["bogus_key"] = 1
    r = snakemake(tmp_path, write_config(tmp_path / "bad.yaml", cfg), "-n")
    assert r.returncode != 0
    out = r.stdout + r.stderr
    assert "config error — nothing was run" in out and "bogus_key" in out
    assert not (tmp_path / "results").exists()


def _dry_run_jobs(r: subprocess.CompletedProcess) -> dict[str, int]:
    return job_counts(r.stdout)


@pytest.mark.slow
def test_pipeline_end_to_end_and_incremental(tmp_path):
    cfg_path = tmp_path / "config.yaml"
    shutil.copy(TINY, cfg_path)
    dry = snakemake(tmp_path, cfg_path, "-n")
    assert dry.returncode == 0, dry.stderr
    jobs = _dry_run_jobs(dry)
    # 1 world x 2 models x 2 SAEs, plus 2 calibration worlds x 2 models x 1 SAE (no recovery rows for those)
    assert jobs["train_sae"] == 4 + 4 and jobs["ground_truth_recovery"] == 4 and jobs["compare_models"] == 2 + 2
    assert jobs["pair_features"] == 2 + 2 and jobs["calibration"] == 1

    run = snakemake(tmp_path, cfg_path)
    assert run.returncode == 0, run.stderr[-3000:]
    df = read_metrics(tmp_path / "results" / "metrics.parquet")
    gt = df[df.model_b == "ground_truth"]
    assert set(gt.metric) == {"mmcs", "mcc", "fraction_recovered"}
    assert {"all", "shared", "private_a", "cluster:0", "cluster:1"} <= set(gt.subspace)
    assert set(df.comparison) >= {"tiny:a/relu~b/relu", "tiny:a/topk~b/topk"}
    assert (df.n_baseline[df.value.notna()] == 20).all()
    # every configured comparison x pairing x subspace x metric has a row (value or NaN with a note)
    full = yaml.safe_load(SCHEMA.read_text())["$defs"]["metrics"]["properties"]
    pairs = df[df.model_b != "ground_truth"]
    for comparison in ("tiny:a/relu~b/relu", "tiny:a/topk~b/topk"):
        c = pairs[pairs.comparison == comparison]
        for pairing in ("one_to_one", "hungarian", "decoder_cosine", "ground_truth"):
            for rep in ("decoder", "activations", "ground_truth"):
                got = c[(c.pairing == pairing) & (c.representation == rep)]
                for sub in ("all", "shared", "private_a", "private_b", "mixed", "cluster:0", "cluster:1"):
                    assert set(got[got.subspace == sub].metric) == set(full[rep]["default"]), (pairing, rep, sub)
    assert (df.note[df.value.isna()] != "").all()
    assert df.p_value.dropna().between(1 / 21, 1).all()
    assert not (df.p_value.notna() & df.baseline_mean.isna()).any()
    assert (df.n_baseline_valid <= df.n_baseline).all()
    act = df[df.representation == "activations"]
    assert (act.n_items == act.n_tokens).all() and df[df.representation == "decoder"].n_tokens.isna().all()
    calibration = pd.read_parquet(tmp_path / "results" / "calibration.parquet")
    assert {"fpr", "power"} <= set(calibration.statistic)
    assert (tmp_path / "results" / "figures" / "calibration.png").exists()
    for m in "ab":
        for s in ("relu", "topk"):
            saved = tmp_path / "results" / "saes" / "tiny" / m / s
            assert {"cfg.json", "sae_weights.safetensors", "metrics.json"} <= {p.name for p in saved.iterdir()}

    # linked viewer pages (rules/viz.smk): one per SAE and pair of models, from the cached UMAP and latents
    for s in ("relu", "topk"):
        page = (tmp_path / "results" / "viewer" / "tiny" / s / "a~b.html").read_text()
        assert '"sides":{"a":' in page and f"tiny:a/{s}~b/{s}" in page and "<script src" not in page
    latents = pd.read_parquet(tmp_path / "results" / "features" / "tiny" / "a" / "relu" / "latents.parquet")
    assert len(latents) == 16 and latents.label.str.match(r"gt \d+ · (shared|private) · cluster \d|no gt").all()

    again = snakemake(tmp_path, cfg_path, "-n")
    assert again.returncode == 0 and _dry_run_jobs(again) == {}
    assert "Nothing to be done" in again.stdout + again.stderr

    cfg = yaml.safe_load(cfg_path.read_text())
    cfg["saes"]["relu"]["lr"] = 0.001
    write_config(cfg_path, cfg)
    changed = _dry_run_jobs(snakemake(tmp_path, cfg_path, "-n"))
    assert changed.get("train_sae") == 2  # relu for models a and b only
    assert "world" not in changed and "shards" not in changed
    assert changed.get("ground_truth_recovery") == 2 and changed.get("compare_models") == 1
    assert changed.get("pair_features") == 1 and "calibration" not in changed

    # same config, same device -> same table
    before = pd.read_parquet(tmp_path / "results" / "metrics.parquet")
    shutil.rmtree(tmp_path / "results" / "compare")
    (tmp_path / "results" / "metrics.parquet").unlink()
    cfg["saes"]["relu"]["lr"] = 0.003
    write_config(cfg_path, cfg)
    assert snakemake(tmp_path, cfg_path).returncode == 0
    pd.testing.assert_frame_equal(before, pd.read_parquet(tmp_path / "results" / "metrics.parquet"))


def test_readme_snakemake_command_parses(tmp_path):
    """The raw command the README documents must be accepted as written (a dry run from the repository root:
    Snakemake finds workflow/Snakefile by itself)."""
    import shlex

    readme = (REPO / "README.md").read_text()
    line = next(ln for ln in readme.splitlines() if ln.startswith("snakemake results/metrics.parquet --cores"))
    cmd = shlex.split(line)
    cmd[0] = SNAKEMAKE
    r = subprocess.run([*cmd, "-n", "--directory", str(tmp_path), "--configfile", str(TINY)], cwd=REPO,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "metrics" in _dry_run_jobs(r)
