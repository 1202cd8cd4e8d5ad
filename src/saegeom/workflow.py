"""Helpers for the thin scripts under ``workflow/scripts`` (logging, threads)."""

from __future__ import annotations

import logging
import sys
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
