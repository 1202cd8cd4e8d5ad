"""Group colours of the viewer: as many as there are groups, spread apart in a perceptual space.

A fixed categorical palette (e.g. matplotlib's tab20) repeats after its length and holds greys
that look like the viewer's "no group" grey. Instead the colours are picked greedily in OKLab
(Björn Ottosson's perceptual space, where Euclidean distance tracks perceived difference): from a
grid of sRGB colours of medium lightness and chroma ≥ ``MIN_CHROMA`` (so every colour is at least
that far from any grey), each next colour is the candidate farthest from the no-group grey and
from every colour chosen so far (farthest-point sampling). The order is fixed, so the first k
colours are the same for every page; group i always gets colour i.

OKLab is written out here (two 3×3 matrices and a cube root) because none of the project's
dependencies converts to it, and a colour-science package for eight lines is not worth a
dependency.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

NO_GROUP_GREY = "#c8c8c8"   # viewer.js NONE: unlabelled / unpaired points
MIN_CHROMA = 0.08           # OKLab chroma of every candidate = its distance from the grey axis
LIGHTNESS = (0.45, 0.80)    # OKLab L: readable on white, distinct from the black selection outline

_M1 = np.array([[0.4122214708, 0.5363325363, 0.0514459929],
                [0.2119034982, 0.6806995451, 0.1073969566],
                [0.0883024619, 0.2817188376, 0.6299787005]])
_M2 = np.array([[0.2104542553, 0.7936177850, -0.0040720468],
                [1.9779984951, -2.4285922050, 0.4505937099],
                [0.0259040371, 0.7827717662, -0.8086757660]])


def oklab(rgb: np.ndarray) -> np.ndarray:
    """OKLab (L, a, b) of sRGB colours ``rgb`` (n, 3) with channels in [0, 1]; returns (n, 3)."""
    rgb = np.asarray(rgb, dtype=np.float64)
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    return np.cbrt(linear @ _M1.T) @ _M2.T


def hex_to_rgb(colours: list[str]) -> np.ndarray:
    """``#rrggbb`` strings → (n, 3) floats in [0, 1]."""
    return np.array([[int(c[k:k + 2], 16) / 255 for k in (1, 3, 5)] for c in colours], dtype=np.float64)


@lru_cache(maxsize=1)
def _candidates() -> tuple[np.ndarray, np.ndarray]:
    levels = np.arange(0, 256, 15) / 255                       # 18 levels per channel, 5832 colours
    rgb = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), -1).reshape(-1, 3)
    lab = oklab(rgb)
    chroma = np.hypot(lab[:, 1], lab[:, 2])
    keep = (lab[:, 0] >= LIGHTNESS[0]) & (lab[:, 0] <= LIGHTNESS[1]) & (chroma >= MIN_CHROMA)
    return rgb[keep], lab[keep]


def group_palette(n: int) -> list[str]:
    """``n`` colours as ``#rrggbb``, in a fixed order (``group_palette(k) == group_palette(n)[:k]``).

    Every colour is ≥ ``MIN_CHROMA`` from the no-group grey in OKLab, and the minimum pairwise
    distance shrinks slowly with ``n`` (about 0.13 at 20 colours, 0.1 at 40; 0.02 is roughly
    a just-noticeable difference). Past the ~3000 candidates colours would repeat; no page has
    that many groups.
    """
    rgb, lab = _candidates()
    dist = np.linalg.norm(lab - oklab(hex_to_rgb([NO_GROUP_GREY])), axis=1)
    out = []
    for _ in range(n):
        i = int(np.argmax(dist))
        out.append("#" + "".join(f"{round(v * 255):02x}" for v in rgb[i]))
        dist = np.minimum(dist, np.linalg.norm(lab - lab[i], axis=1))
    return out
