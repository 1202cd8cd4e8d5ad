"""Strict JSON out: every JSON file the project writes parses with any JSON reader.

Python's ``json`` writes ``NaN``/``Infinity`` by default, which are not JSON (browsers, ``jq`` and most
parsers reject them). :func:`dumps` writes a non-finite number as ``null`` and, when the top level is an
object, records each replacement under ``"notes"`` (``"<key path>: NaN written as null"``), so a reader
can tell a missing value from a measured one.
"""

from __future__ import annotations

import json
import math
from typing import Any

NOTES_KEY = "notes"


def _finite(obj: Any, path: str, notes: list[str]) -> Any:
    if isinstance(obj, dict):
        return {k: _finite(v, f"{path}.{k}" if path else str(k), notes) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v, f"{path}[{i}]", notes) for i, v in enumerate(obj)]
    if type(obj).__module__ == "numpy" and hasattr(obj, "item") and getattr(obj, "ndim", None) == 0:
        obj = obj.item()  # numpy scalars (np.float32, np.int64, ...) as Python numbers
    if isinstance(obj, float):
        value = float(obj)
        if not math.isfinite(value):
            notes.append(f"{path or 'value'}: {value} written as null")
            return None
        return value
    return obj


def strict(obj: Any) -> Any:
    """``obj`` with non-finite floats replaced by None and a ``notes`` entry per replacement (top-level dicts)."""
    notes: list[str] = []
    out = _finite(obj, "", notes)
    if notes and isinstance(out, dict):
        prior = out.get(NOTES_KEY)
        out[NOTES_KEY] = [*(prior if isinstance(prior, list) else [] if prior is None else [prior]), *notes]
    return out


def dumps(obj: Any, **kw: Any) -> str:
    """``json.dumps`` that never writes ``NaN``/``Infinity`` (see the module docstring); other keywords pass on."""
    return json.dumps(strict(obj), allow_nan=False, **kw)
