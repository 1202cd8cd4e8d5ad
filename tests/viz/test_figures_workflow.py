"""The figure rules in the workflow: `snakemake figures` on hand-made upstream tables, a second run is a no-op,
deleting one figure's table rebuilds that figure only (and the same bytes), the report shows the figures;
the publication config dry-runs with every figure rule."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
from figure_fixtures import calibration_table, metrics_table

from saegeom.viz.figures import FIGURES
from saegeom.workflow import job_counts

REPO = Path(__file__).resolve().parents[2]
SNAKEFILE = str(REPO / "workflow" / "Snakefile")
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
TINY = REPO / "tests" / "data" / "tiny_config.yaml"


def snakemake(workdir: Path, config: Path, *args: str) -> subprocess.CompletedProcess:
    # targets before --configfile (which takes every following word)
    cmd = [SNAKEMAKE, "-s", SNAKEFILE, "--directory", str(workdir), *args, "--cores", "2", "--configfile",
           str(config)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900)


def dry_run_jobs(r: subprocess.CompletedProcess) -> dict[str, int]:
    """{rule: count} of a dry run's 'Job stats' table."""
    return job_counts(r.stdout)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_figures_target_is_a_noop_when_done_and_rebuilds_only_a_deleted_table(tmp_path):
    # the upstream tables exist (hand-made): Snakemake takes them as they are and runs the figure rules only
    results = tmp_path / "results"
    results.mkdir()
    metrics_table().to_parquet(results / "metrics.parquet")
    calibration_table().to_parquet(results / "calibration.parquet")
    first = snakemake(tmp_path, TINY, "figures")
    assert first.returncode == 0, first.stderr[-3000:]
    out = results / "figures"
    files = {f"{n}.{ext}" for n in FIGURES for ext in ("parquet", "png", "pdf")}
    assert files <= {p.name for p in out.iterdir()}
    before = {name: digest(out / name) for name in files}
    mtimes = {name: (out / name).stat().st_mtime_ns for name in files}

    again = snakemake(tmp_path, TINY, "figures", "-n")
    assert again.returncode == 0 and dry_run_jobs(again) == {}
    assert "Nothing to be done" in again.stdout + again.stderr

    (out / "trust.parquet").unlink()
    dry = snakemake(tmp_path, TINY, "figures", "-n")
    assert dry_run_jobs(dry) == {"figure_trust": 1, "figures": 1}
    rerun = snakemake(tmp_path, TINY, "figures")
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    # the same bytes from another process, and nothing else touched
    assert {name: digest(out / name) for name in files} == before
    untouched = {name for name in files if not name.startswith("trust.")}
    assert all((out / name).stat().st_mtime_ns == mtimes[name] for name in untouched)
    assert all((out / name).stat().st_mtime_ns > mtimes[name] for name in files - untouched)

    # the Snakemake report shows every figure under "Figures" (offline: a self-contained HTML file);
    # it also wants the calibration rule's figure, which this test did not make
    (out / "calibration.png").write_bytes((out / "trust.png").read_bytes())
    report = snakemake(tmp_path, TINY, "figures", "--report", str(tmp_path / "report.html"))
    assert report.returncode == 0, report.stderr[-3000:]
    html = (tmp_path / "report.html").read_text()
    assert all(f"{name}.png" in html for name in FIGURES) and "Figures" in html


@pytest.mark.slow
def test_publication_config_dry_runs_with_every_figure(tmp_path):
    r = snakemake(tmp_path, REPO / "config" / "paper.yaml", "all", "figures", "-n")
    assert r.returncode == 0, r.stderr[-3000:]
    jobs = dry_run_jobs(r)
    assert all(jobs.get(f"figure_{name}") == 1 for name in FIGURES), jobs
    assert jobs.get("compare_models", 0) > 0 and jobs.get("calibration") == 1
