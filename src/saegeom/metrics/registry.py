"""Metric registry: the config names metrics by string."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

MetricFn = Callable[..., float]


@dataclass(frozen=True)
class MetricSpec:
    """A registered similarity measure.

    ``higher_is_similar``: False for distances (p-values then count baseline
    values at or *below* the observed one). ``pairing_sensitive``: whether
    re-pairing rows changes the value (MMCS/MCC do not use the pairing, so their
    null is random directions instead of shuffled rows).
    """

    name: str
    fn: MetricFn
    higher_is_similar: bool = True
    pairing_sensitive: bool = True
    description: str = ""

    def __call__(self, x, y, **kw) -> float:
        return self.fn(x, y, **kw)


METRICS: dict[str, MetricSpec] = {}


def register_metric(name: str, *, higher_is_similar: bool = True, pairing_sensitive: bool = True,
                    description: str = "") -> Callable[[MetricFn], MetricFn]:
    """Decorator: register ``fn`` under ``name`` (names are unique)."""

    def deco(fn: MetricFn) -> MetricFn:
        if name in METRICS:
            raise ValueError(f"metric {name!r} is already registered")
        doc = description or (fn.__doc__ or "").strip().split("\n")[0]
        METRICS[name] = MetricSpec(name, fn, higher_is_similar, pairing_sensitive, doc)
        return fn

    return deco


def get_metric(name: str) -> MetricSpec:
    if name not in METRICS:
        raise KeyError(f"unknown metric {name!r}; registered: {sorted(METRICS)}")
    return METRICS[name]
