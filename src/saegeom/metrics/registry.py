"""Metric registry: the config names metrics by string."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

MetricFn = Callable[..., float]


class MetricUndefined(ValueError):
    """The measure has no value on these inputs (too few items, no variance, k ≥ n, ...).

    Raised by metric functions for *degenerate inputs* only; the message says why and
    becomes the ``note`` of a NaN row. Callers catch this class, never a bare
    ``ValueError``, so a bug (a shape error, a typo in an option) is not mistaken
    for an undefined value.
    """


@dataclass(frozen=True)
class MetricSpec:
    """A registered similarity measure.

    ``higher_is_similar``: False for distances (p-values then count baseline
    values at or *below* the observed one). ``pairing_sensitive``: whether
    re-pairing rows changes the value (MMCS/MCC do not use the pairing, so their
    null is random directions instead of shuffled rows). ``same_width``: X and Y must
    have the same number of columns (cosines across the two spaces).
    """

    name: str
    fn: MetricFn
    higher_is_similar: bool = True
    pairing_sensitive: bool = True
    description: str = ""
    same_width: bool = False

    def __call__(self, x, y, **kw) -> float:
        return self.fn(x, y, **kw)


METRICS: dict[str, MetricSpec] = {}


def register_metric(name: str, *, higher_is_similar: bool = True, pairing_sensitive: bool = True,
                    description: str = "", same_width: bool = False) -> Callable[[MetricFn], MetricFn]:
    """Decorator: register ``fn`` under ``name`` (names are unique)."""

    def deco(fn: MetricFn) -> MetricFn:
        if name in METRICS:
            raise ValueError(f"metric {name!r} is already registered")
        doc = description or (fn.__doc__ or "").strip().split("\n")[0]
        METRICS[name] = MetricSpec(name, fn, higher_is_similar, pairing_sensitive, doc, same_width)
        return fn

    return deco


def load_builtin_metrics() -> dict[str, MetricSpec]:
    """Import the modules that register the built-in metrics; return the registry.

    Explicit instead of relying on whoever imported ``saegeom.metrics`` first.
    """
    from saegeom.metrics import representational, shape, similarity  # noqa: F401

    return METRICS


def get_metric(name: str) -> MetricSpec:
    load_builtin_metrics()
    if name not in METRICS:
        raise KeyError(f"unknown metric {name!r}; registered: {sorted(METRICS)}")
    return METRICS[name]


def orientation(name: str) -> float:
    """+1 for a similarity, −1 for a distance (``higher_is_similar``), so that ``orientation · (value − null)`` is
    "more similar than chance" for every metric; +1 for a name the registry does not know (a table of rows from
    elsewhere, read as similarities)."""
    try:
        return 1.0 if get_metric(name).higher_is_similar else -1.0
    except KeyError:
        return 1.0
