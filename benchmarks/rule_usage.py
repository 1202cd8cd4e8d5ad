"""Measure wall time and peak memory of every job of a local Snakemake run, per rule.

    python benchmarks/rule_usage.py --workdir /tmp/run -o benchmarks/results/rule_usage.json -- all --cores 2
    python benchmarks/rule_usage.py --markdown benchmarks/results/rule_usage.json   # table for the docs

Runs `snakemake <args>` (local executor) and samples /proc every `--interval` seconds. Every rule of the
workflow is a `script:` rule, and Snakemake runs a script job as `python .snakemake/scripts/tmpXXXX.<script>`,
where <script> is the rule's script file (named after the rule), so each sampled process maps to one job.
Per job: wall time (first to last sighting, so resolution = interval) and peak resident memory of the job's
process plus its children (USS is not used: RSS over-counts shared pages, which errs on the safe side for
a memory request). Jobs shorter than the interval may be missed; they are reported with the count seen.

Written by hand because Snakemake's `benchmark:` needs an edit of every rule and `/usr/bin/time` cannot
wrap jobs that Snakemake starts itself.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRIPT_RE = re.compile(r"\.snakemake/scripts/tmp[^/ ]*?\.([A-Za-z0-9_]+)\.py")
PAGE = os.sysconf("SC_PAGE_SIZE")


def _procs() -> dict[int, tuple[int, int, str]]:
    """{pid: (ppid, rss_bytes, cmdline)} of every readable process."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
            with open(f"/proc/{d}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        out[int(d)] = (int(fields[1]), int(fields[21]) * PAGE, cmd)
    return out


def _in_dir(pid: int, root: str) -> bool:
    """Whether the process runs in `root` (other users of the machine run the same scripts elsewhere)."""
    try:
        return os.readlink(f"/proc/{pid}/cwd").startswith(root)
    except OSError:
        return False


def sample_run(cmd: list[str], cwd: Path, interval: float, on_update=None) -> tuple[int, dict[tuple[int, str], dict]]:
    """Run `cmd`, sampling job processes; returns (exit code, {(pid, script): {rule, start, end, peak_rss}}).
    `on_update(jobs)` is called about every 10 s, so a long run leaves partial results if interrupted."""
    jobs: dict[tuple[int, str], dict] = {}
    last_update = time.monotonic()
    root = str(cwd.resolve())
    proc = subprocess.Popen(cmd, cwd=cwd)
    while proc.poll() is None:
        now = time.monotonic()
        procs = _procs()
        children: dict[int, list[int]] = {}
        for pid, (ppid, _, _) in procs.items():
            children.setdefault(ppid, []).append(pid)
        matched = {pid: SCRIPT_RE.search(cmd) for pid, (_, _, cmd) in procs.items()}
        for pid, (ppid, _, _) in procs.items():
            m = matched[pid]
            # a job may be a shell running python: count the topmost matching process with its tree
            if not m or matched.get(ppid) or not _in_dir(pid, root):
                continue
            total, stack = 0, [pid]
            while stack:
                p = stack.pop()
                total += procs.get(p, (0, 0, ""))[1]
                stack.extend(children.get(p, []))
            # keyed by pid and script: a pid the OS reuses for a later job starts a new job, not a longer one
            job = jobs.setdefault((pid, m.group(0)), {"rule": m.group(1), "start": now, "end": now, "peak_rss": 0})
            job["end"] = now
            job["peak_rss"] = max(job["peak_rss"], total)
        if on_update and now - last_update > 10:
            on_update(jobs)
            last_update = now
        time.sleep(interval)
    return proc.returncode, jobs


def summarise(jobs: dict[tuple[int, str], dict], interval: float) -> dict[str, dict]:
    """Per rule: job count, max/median wall seconds, max peak RSS in MB."""
    by_rule: dict[str, list[dict]] = {}
    for j in jobs.values():
        by_rule.setdefault(j["rule"], []).append(j)
    out = {}
    for rule, js in sorted(by_rule.items()):
        walls = sorted(j["end"] - j["start"] + interval for j in js)
        out[rule] = {"jobs_seen": len(js), "wall_s_max": round(walls[-1], 1),
                     "wall_s_median": round(walls[len(walls) // 2], 1),
                     "peak_rss_mb_max": round(max(j["peak_rss"] for j in js) / 2**20, 1)}
    return out


def markdown(result: dict, profile: Path) -> str:
    """The measured table next to what the SLURM profile requests on the first attempt."""
    import yaml

    prof = yaml.safe_load(profile.read_text())

    def request(rule: str, key: str) -> str:
        v = {**prof["default-resources"], **(prof.get("set-resources") or {}).get(rule, {})}[key]
        return str(eval(str(v), {"attempt": 1})) if isinstance(v, str) else str(v)

    m = result["machine"]
    lines = [f"Measured {result['date']} on `{m['node']}` ({m['cpus']} CPUs, {m['mem_total_mb']} MB), load average "
             f"{result['loadavg_before'][0]:.0f}–{result['loadavg_after'][0]:.0f}; "
             f"{'complete run' if result.get('complete', True) else 'partial run'}, "
             f"exit code {result['exit_code']}.", "",
             "| rule | jobs seen | wall s (max) | peak RSS MB (max) | requested mem_mb | requested runtime (min) |",
             "|---|---|---|---|---|---|"]
    for rule, r in result["rules"].items():
        lines.append(f"| {rule} | {r['jobs_seen']} | {r['wall_s_max']:.0f} | {r['peak_rss_mb_max']:.0f} | "
                     f"{request(rule, 'mem_mb')} | {request(rule, 'runtime')} |")
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--markdown":  # rule_usage.py --markdown result.json
        print(markdown(json.loads(Path(sys.argv[2]).read_text()), REPO / "profiles" / "slurm" / "config.yaml"))
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", type=Path, required=True, help="Snakemake --directory (results go there)")
    ap.add_argument("--configfile", type=Path, default=None)
    ap.add_argument("-o", "--output", type=Path, required=True)
    ap.add_argument("--interval", type=float, default=0.25)
    ap.add_argument("snakemake_args", nargs="*", help="after --: targets and options, e.g. all --cores 2")
    a = ap.parse_args()
    a.workdir.mkdir(parents=True, exist_ok=True)
    cmd = [str(Path(sys.executable).with_name("snakemake")), "-s", str(REPO / "workflow" / "Snakefile"),
           "--directory", str(a.workdir)]
    cmd += a.snakemake_args
    if a.configfile:  # last: --configfile takes several values and would swallow targets after it
        cmd += ["--configfile", str(a.configfile.resolve())]
    load_before = os.getloadavg()
    t0 = time.monotonic()
    a.output.parent.mkdir(parents=True, exist_ok=True)

    def write(jobs: dict, rc: int | None) -> dict:
        result = {
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "machine": {"node": platform.node(), "cpus": os.cpu_count(), "processor": platform.processor(),
                        "mem_total_mb": round(os.sysconf("SC_PHYS_PAGES") * PAGE / 2**20)},
            "loadavg_before": load_before, "loadavg_after": os.getloadavg(),
            "command": cmd, "exit_code": rc, "complete": rc is not None,
            "total_wall_s": round(time.monotonic() - t0, 1), "interval_s": a.interval,
            "rules": summarise(jobs, a.interval),
        }
        a.output.write_text(json.dumps(result, indent=1) + "\n")
        return result

    rc, jobs = sample_run(cmd, a.workdir, a.interval, on_update=lambda j: write(j, None))
    result = write(jobs, rc)
    print(json.dumps(result["rules"], indent=1))
    sys.exit(rc)


if __name__ == "__main__":
    main()
