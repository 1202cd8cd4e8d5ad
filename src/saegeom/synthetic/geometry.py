"""Ground-truth feature matrices with geometry.

Every function returns ``features`` of shape (G, h), rows unit-norm, and a dict
of integer label arrays of length G (``-1`` = no label) describing the geometry.
"""

from __future__ import annotations

import numpy as np


def _unit_rows(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def sphere_features(n: int, h: int, rng: np.random.Generator) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``n`` directions uniform on the unit sphere S^{h-1} (normalised Gaussians)."""
    return _unit_rows(rng.standard_normal((n, h))), {}


def blob_features(n: int, h: int, rng: np.random.Generator, n_clusters: int = 4,
                  spread: float = 0.3) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Gaussian-mixture clusters on the sphere.

    Cluster centres are uniform on the sphere; a member is ``centre + spread * g``
    with ``g`` a Gaussian of per-coordinate std ``1/sqrt(h)`` (so ``spread`` is the
    expected distance from the centre before renormalising). Clusters get
    ``n // n_clusters`` members, the first ``n % n_clusters`` clusters one more.
    """
    if not 1 <= n_clusters <= n:
        raise ValueError(f"n_clusters must be in [1, {n}], got {n_clusters}")
    centres = _unit_rows(rng.standard_normal((n_clusters, h)))
    labels = np.arange(n) % n_clusters
    rng.shuffle(labels)
    x = centres[labels] + spread * rng.standard_normal((n, h)) / np.sqrt(h)
    return _unit_rows(x), {"cluster": labels.astype(np.int64)}


def circle_features(n: int, h: int, rng: np.random.Generator, circle_size: int = 7,
                    n_circles: int | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Groups of ``circle_size`` features evenly spaced on circles in random 2-planes.

    Like days of the week or months: feature ``j`` of circle ``c`` is
    ``cos(2πj/s) u_c + sin(2πj/s) v_c`` with (u_c, v_c) an orthonormal pair.
    ``n_circles`` defaults to ``n // circle_size``; features left over are
    uniform on the sphere with circle label -1.
    """
    if h < 2:
        raise ValueError("circles need h >= 2")
    if circle_size < 3:
        raise ValueError(f"circle_size must be >= 3, got {circle_size}")
    n_circles = n // circle_size if n_circles is None else n_circles
    if n_circles * circle_size > n:
        raise ValueError(f"{n_circles} circles of {circle_size} need more than {n} features")
    feats = np.empty((n, h))
    labels = np.full(n, -1, dtype=np.int64)
    angle = np.full(n, -1, dtype=np.int64)
    for c in range(n_circles):
        q, _ = np.linalg.qr(rng.standard_normal((h, 2)))
        theta = 2 * np.pi * np.arange(circle_size) / circle_size
        sl = slice(c * circle_size, (c + 1) * circle_size)
        feats[sl] = np.cos(theta)[:, None] * q[:, 0] + np.sin(theta)[:, None] * q[:, 1]
        labels[sl], angle[sl] = c, np.arange(circle_size)
    rest = n - n_circles * circle_size
    feats[n - rest :] = sphere_features(rest, h, rng)[0]
    perm = rng.permutation(n)
    return _unit_rows(feats[perm]), {"circle": labels[perm], "circle_position": angle[perm]}


def make_features(geometry: str, n: int, h: int, rng: np.random.Generator,
                  **kw) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Dispatch on ``geometry`` in {sphere, blobs, circles}; ``kw`` are that geometry's options."""
    if geometry == "sphere":
        return sphere_features(n, h, rng)
    if geometry == "blobs":
        return blob_features(n, h, rng, n_clusters=kw.get("n_clusters", 4), spread=kw.get("spread", 0.3))
    if geometry == "circles":
        return circle_features(n, h, rng, circle_size=kw.get("circle_size", 7), n_circles=kw.get("n_circles"))
    raise ValueError(f"unknown geometry {geometry!r}; expected sphere, blobs or circles")
