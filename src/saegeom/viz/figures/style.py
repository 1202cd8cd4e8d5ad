"""The house style of the paper figures, and what makes their files reproducible.

Every figure module draws inside :func:`styled` (a fixed font shipped with matplotlib, fixed sizes, a fixed
colour cycle, the Agg renderer's settings) so that the look does not depend on the user's ``matplotlibrc``,
and :func:`saegeom.viz.figures.save` writes inside the same context. Colour conventions shared by the figures:

- diverging maps (``DIVERGING``) for effect sizes z, centred on 0, positive = more similar than chance;
- sequential maps (``SEQUENTIAL``) for raw similarities;
- a null band is drawn in ``NULL_COLOUR`` (null mean ± 2 null std);
- a significant cell carries a black ``SIGNIFICANT_MARKER`` (q < ``ALPHA``) — the same mark in every figure.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

#: significance level of the marks in every figure (Benjamini–Hochberg q, or p where no q exists)
ALPHA = 0.05
DIVERGING = "RdBu_r"
SEQUENTIAL = "viridis"
NULL_COLOUR = "0.75"
SIGNIFICANT_MARKER = "*"
#: gid of the artists that mark significance / best matches / a missing table (tests find them by it)
GID_SIGNIFICANT = "significant"
GID_BEST = "best"
GID_NO_DATA = "no-data"
DPI = 150

RC: dict[str, Any] = {
    "font.family": "DejaVu Sans",  # bundled with matplotlib: the same glyphs on every machine
    "font.size": 7.0,
    "axes.titlesize": 8.0,
    "axes.labelsize": 7.0,
    "xtick.labelsize": 6.0,
    "ytick.labelsize": 6.0,
    "legend.fontsize": 6.0,
    "figure.titlesize": 9.0,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": __import__("cycler").cycler(color=[
        "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]),  # Okabe-Ito
    "image.cmap": SEQUENTIAL,
    "savefig.dpi": DPI,
    "savefig.bbox": None,          # a fixed canvas: "tight" would make the size depend on text extents
    "pdf.fonttype": 42,            # TrueType (editable text in the PDF, as journals ask)
    "pdf.compression": 6,
    "svg.hashsalt": "saegeom",     # fixed ids should anyone save an SVG
    "path.simplify": True,
    "text.usetex": False,
    "axes.unicode_minus": True,
}

F = TypeVar("F", bound=Callable[..., Any])


@contextmanager
def house_style() -> Iterator[None]:
    """matplotlib's defaults, then :data:`RC` (ignores the user's matplotlibrc), for the ``with`` block."""
    import matplotlib as mpl

    with mpl.rc_context():
        mpl.rcdefaults()
        mpl.rcParams.update(RC)  # type: ignore[arg-type]  # the stubs type every key as a literal
        yield


def styled(draw: F) -> F:
    """Decorator: run a figure's ``draw`` in :func:`house_style` (fonts are fixed when artists are made)."""

    @functools.wraps(draw)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with house_style():
            return draw(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def new_figure(width: float, height: float):
    """A pyplot-free ``Figure`` (width × height inches, constrained layout)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def suptitle(fig, text: str, fontsize: float = 9.0) -> None:
    """A figure title wrapped to the figure's width (a fixed canvas clips what does not fit)."""
    import textwrap

    width_in = fig.get_size_inches()[0] if hasattr(fig, "get_size_inches") else fig.figure.get_size_inches()[0]
    chars = max(20, int(width_in * 72 / (0.6 * fontsize)))  # DejaVu Sans: about 0.6 em per character
    fig.suptitle(textwrap.fill(text, chars), fontsize=fontsize)


def star(ax, x, y, size: float = 30.0) -> None:
    """The significance mark at data points (x, y): a white star edged in black, visible on any colour."""
    ax.scatter(x, y, marker=SIGNIFICANT_MARKER, s=size, c="white", edgecolors="k", linewidths=0.5, zorder=4,
               gid=GID_SIGNIFICANT)


def no_data(title: str, why: str):
    """A one-panel figure that says, in the panel, that there is nothing to draw and why (its text artist
    carries gid :data:`GID_NO_DATA`)."""
    fig = new_figure(5.0, 2.0)
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.text(0.5, 0.5, f"no data\n{why}", ha="center", va="center", fontsize=8, color="0.3", gid=GID_NO_DATA,
            transform=ax.transAxes, wrap=True)
    suptitle(fig, title)
    return fig
