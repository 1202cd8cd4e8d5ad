"""Helpers for the thin scripts under ``workflow/scripts``: :func:`run_rule` (logging, threads, keyword
contract, device) and the workflow plan (:mod:`saegeom.workflow.plan`)."""

from __future__ import annotations

import inspect
import logging
import sys
from collections.abc import Callable
from typing import Any


def setup_script(snakemake: Any) -> Any:
    """Send the script's stdout/stderr to the rule's log file, cap torch threads, use a
    file-only matplotlib backend; returns ``snakemake`` for brevity."""
    import os

    os.environ.setdefault("MPLBACKEND", "Agg")
    if snakemake.log:
        f = open(snakemake.log[0], "w", buffering=1)  # noqa: SIM115 - lives for the process
        sys.stdout = sys.stderr = f
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s")
    # torch is not imported here (≈1.5 s): the thread cap reaches it through the environment when a
    # job imports it later (torch reads OMP_NUM_THREADS at import), or directly if it is loaded already
    threads = str(max(1, int(getattr(snakemake, "threads", 1))))
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = threads
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(int(threads))
    # numpy's BLAS is loaded already (pandas imports it) and ignores the variables now: cap it too.
    # Measured on the shared 2-core machine under load: a 2048×256 SVD took 0.38 s with one
    # OpenBLAS thread and 10 s with two (spinning threads competing with other jobs).
    from threadpoolctl import threadpool_limits

    threadpool_limits(int(threads))
    return snakemake


def _settings_types() -> dict[str, type]:
    from saegeom.settings import CompareSettings, PairingSettings, TopologySettings, ViewerSettings

    return {c.__name__: c for c in (CompareSettings, PairingSettings, TopologySettings, ViewerSettings)}


def rule_arguments(function: Callable[..., Any], inputs: dict[str, Any], params: dict[str, Any],
                   outputs: dict[str, Any], device: str | None) -> dict[str, Any]:
    """The keyword arguments of a rule function (:mod:`saegeom.rules`) from a job's named files and values.

    Params and outputs go by name and must all be parameters of ``function`` (a single unnamed output is
    ``out``); an input the function does not name is a dependency only (its path reaches the function
    through a param, e.g. ``shards``; wildcards reach it as params too); ``device`` (resolved:
    ``auto`` → CUDA when present) goes to a ``device`` parameter. A parameter annotated with a settings
    class (``PairingSettings``, ...) receives that class built from the config block."""
    sig = inspect.signature(function)
    names = set(sig.parameters)
    unknown = sorted((set(params) | set(outputs)) - names)
    if unknown:
        raise TypeError(f"rule function {function.__name__} has no parameters {unknown}")
    kwargs = {k: v for k, v in inputs.items() if k in names}
    kwargs.update(params)
    kwargs.update(outputs)
    if "device" in names and device is not None:
        from saegeom.utils import resolve_device

        kwargs["device"] = resolve_device(device)
    types = _settings_types()
    for name, p in sig.parameters.items():
        cls = types.get(str(p.annotation))
        if cls is not None and isinstance(kwargs.get(name), dict):
            kwargs[name] = cls(**kwargs[name])
    return kwargs


def _named(files: Any) -> dict[str, Any]:
    """Snakemake's named inputs/outputs/params as a dict (lists as plain lists)."""
    return {k: list(v) if isinstance(v, list) else v for k, v in files.items()}


def run_rule(snakemake: Any, function: Callable[..., Any]) -> Any:
    """Run a rule's function for the job ``snakemake`` (see :func:`rule_arguments`) after
    :func:`setup_script`; the script of rule ``x`` is ``run_rule(snakemake, saegeom.rules.x)``."""
    sm = setup_script(snakemake)
    outputs = _named(sm.output)
    if not outputs and len(sm.output) == 1:
        outputs = {"out": sm.output[0]}
    kwargs = rule_arguments(function, _named(sm.input), _named(sm.params), outputs, sm.config.get("device"))
    if "checkpoint" in inspect.signature(function).parameters:
        # the config block, not a param: how often training state is saved must not make a job out of date
        kwargs.setdefault("checkpoint", sm.config.get("checkpoint"))
    return function(**kwargs)


def job_counts(stdout: str) -> dict[str, int]:
    """{rule: number of jobs} from the "Job stats" table Snakemake prints (dry run or run); {} when it prints
    none (nothing to be done)."""
    lines = stdout.splitlines()
    if "Job stats:" not in lines:
        return {}
    jobs: dict[str, int] = {}
    for line in lines[lines.index("Job stats:") + 3:]:
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
            break
        if parts[0] != "total":
            jobs[parts[0]] = int(parts[1])
    return jobs
