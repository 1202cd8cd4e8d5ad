"""Start-up seconds of each rule that neither trains nor encodes: its imports now vs with torch + SAELens.

Each rule's script imports ``saegeom.rules.<stage>`` and ``saegeom.workflow``, calls ``run_rule``
and then the modules of its one rule function. This times those imports in fresh interpreters
(median of ``--repeat``), against a baseline that also imports torch and SAELens — what every job
paid before issue 18 (``saegeom.utils`` imported torch; the world's correlation matrix SAELens).

    python benchmarks/job_start.py [--repeat 3]

Writes ``benchmarks/results/job_start.json``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

from _report import write_result

COMMON = "import saegeom.rules.compare, saegeom.workflow"
RULES = {
    "world": "import saegeom.synthetic.world",
    "metrics": "import saegeom.io.tables",
    "comparison_figure": "import saegeom.viz.summary, matplotlib.figure",
    "calibration": "import saegeom.compare.calibration, saegeom.viz.calibration, matplotlib.figure",
    "ground_truth_recovery": "import saegeom.compare, saegeom.compare.worlds, saegeom.sae.load",
}
BASELINE = "import torch, sae_lens"


def seconds(code: str, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "MPLBACKEND": "Agg"})
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(f"{'rule':<24} {'now s':>8} {'with torch+sae_lens s':>22} {'ratio':>7}")
    rows = []
    for rule, imports in RULES.items():
        now = seconds(f"{COMMON}; {imports}", args.repeat)
        before = seconds(f"{COMMON}; {imports}; {BASELINE}", args.repeat)
        rows.append(dict(rule=rule, seconds=now, baseline_seconds=before, ratio=before / now))
        print(f"{rule:<24} {now:>8.2f} {before:>22.2f} {before / now:>7.1f}", flush=True)
    write_result("job_start", vars(args), rows, target_seconds=2.0, met=all(r["seconds"] < 2 for r in rows))


if __name__ == "__main__":
    main()
