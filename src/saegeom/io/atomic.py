"""Write-then-rename, so a crash never leaves a half-written output behind; outputs get the user's usual
permissions (``0o666 & ~umask`` for files, ``0o777 & ~umask`` for folders), whatever the writing library used
for its own temporaries (safetensors, for one, creates its files 0600)."""

from __future__ import annotations

import glob
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def current_umask() -> int:
    """The process umask, read without changing it where Linux exposes it (``/proc/self/status``)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)  # elsewhere: set and restore (not thread-safe, but writers run one per process)
    os.umask(mask)
    return mask


def apply_umask(path: str | Path) -> None:
    """Give ``path`` (and, for a folder, everything under it) the mode a plain ``open``/``mkdir`` would have:
    files ``0o666 & ~umask``, folders ``0o777 & ~umask``. Symlinks are left alone."""
    mask = current_umask()
    path = Path(path)

    def fix(p: Path, is_dir: bool) -> None:
        if not p.is_symlink():
            os.chmod(p, (0o777 if is_dir else 0o666) & ~mask)

    if path.is_dir() and not path.is_symlink():
        for root, dirs, files in os.walk(path):
            for d in dirs:
                fix(Path(root) / d, True)
            for f in files:
                fix(Path(root) / f, False)
        fix(path, True)
    elif path.exists():
        fix(path, False)


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary sibling path; on success give it the umask's permissions and rename it onto ``path``.

    Works for files and for directories (the caller creates what it needs under
    the yielded path). On an exception the temporary is removed and ``path`` is
    left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    # temporaries of a killed earlier writer of this output (SIGKILL skips every cleanup); the workflow's
    # lock guarantees no other live process writes the same output
    for stale in path.parent.glob(f".{glob.escape(path.name)}.tmp-*"):
        _remove(stale)
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f"nothing was written to temporary {tmp}")
        apply_umask(tmp)
        _remove(path)
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise


def _remove(p: Path) -> None:
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p)
    elif p.exists() or p.is_symlink():
        p.unlink()
