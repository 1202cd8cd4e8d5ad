"""A workflow killed with SIGKILL in the middle of SAE training leaves no half-written output, and the
documented recovery (``snakemake --unlock``, then the same command with ``--rerun-incomplete``) resumes
training from its checkpoint and ends with the same bytes of its table as a run that was
never interrupted (same config, same machine).

The target is one comparison table of the tiny world with one SAE spec (its two SAEs, pairs and rows): what an
interrupted SAE training can spoil. ``results/metrics.parquet`` would add the calibration worlds, whose jobs do not
take part in the interruption (2026-12-01, measured under the same extra load: 216 s with that target, 95 s with
this one; 87 s on 2 idle cores)."""

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from test_workflow import SNAKEFILE, SNAKEMAKE, TINY

from saegeom.io.shards import ShardSet
from saegeom.io.tables import read_metrics, read_provenance
from saegeom.sae import load_sae
from saegeom.synthetic.world import World

pytestmark = pytest.mark.slow


TARGET = "results/compare/tiny/topk/a~b.parquet"


def _config(path: Path) -> Path:
    cfg = yaml.safe_load(TINY.read_text())
    cfg["saes"] = {"topk": {**cfg["saes"]["topk"], "training_samples": 256 * 240}}  # one spec: two SAE jobs
    cfg["compare"].update(pairings=["hungarian"], metrics={"decoder": ["linear_cka", "rsa"],
                                                           "activations": ["linear_cka"]})
    cfg["checkpoint"] = {"every_steps": 10}
    path.write_text(yaml.safe_dump(cfg))
    return path


def _cmd(workdir: Path, cfg: Path, *extra: str) -> list[str]:
    return [SNAKEMAKE, TARGET, "-s", SNAKEFILE, "--directory", str(workdir),
            "--configfile", str(cfg), "--cores", "2", *extra]


def _assert_nothing_half_written(results: Path) -> None:
    """Every output that exists is complete: it loads."""
    for w in (results / "worlds").glob("*/world.safetensors"):
        World.load(w)
    for index in (results / "worlds").glob("*/acts/*/index.json"):
        s = ShardSet(index.parent)
        for i in range(s.n_shards):
            s.shard(i)
    for cfg in (results / "saes").glob("*/*/*/cfg.json"):
        load_sae(cfg.parent)
        assert (cfg.parent / "metrics.json").exists()


def test_sigkill_during_training_then_rerun_resumes_and_matches_an_uninterrupted_run(tmp_path):
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    for d in (straight, killed):
        d.mkdir()
    r = subprocess.run(_cmd(straight, _config(straight / "c.yaml")), capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]

    cfg = _config(killed / "c.yaml")
    proc = subprocess.Popen(_cmd(killed, cfg), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    checkpoints = killed / "results" / "checkpoints"
    deadline = time.monotonic() + 600
    while not any(checkpoints.glob("*/*/*/state.safetensors")):
        assert proc.poll() is None, "the workflow finished before its first checkpoint: make training longer"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()

    results = killed / "results"
    assert not (killed / TARGET).exists()
    _assert_nothing_half_written(results)

    # what the README says to do after a node died
    assert subprocess.run([*_cmd(killed, cfg), "--unlock"], capture_output=True, timeout=300).returncode == 0
    again = subprocess.run(_cmd(killed, cfg, "--rerun-incomplete"), capture_output=True, text=True, timeout=900)
    assert again.returncode == 0, again.stderr[-3000:]
    _assert_nothing_half_written(results)
    logs = "".join(p.read_text() for p in (results / "logs" / "train_sae").rglob("*.log"))
    assert "resumed from checkpoint" in logs
    assert not any(checkpoints.glob("*/*/*/state.safetensors"))  # removed once each SAE was written
    assert not list(results.rglob(".*.tmp-*"))  # stale temporaries of the killed writers are gone

    a, b = straight / TARGET, killed / TARGET
    assert len(read_metrics(a)) > 0
    assert a.read_bytes() == b.read_bytes()  # deterministic, provenance included
    assert read_provenance(a)["saegeom"] and "created" not in read_provenance(a)
