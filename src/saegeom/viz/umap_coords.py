"""2-D UMAP coordinates of SAE decoder rows, cached as parquet so restyling a viewer page never recomputes them.

Table (``COORDS_SCHEMA``): one row per (model, latent): ``model`` (string), ``latent`` (int32),
``x``, ``y`` (float32). ``umap_coordinates`` embeds one SAE's unit decoder rows (d_sae, d_model) with
umap-learn (cosine, ``n_neighbors`` 15, ``min_dist`` 0.01 by default, seeded); ``aligned_coordinates``
embeds several SAEs with umap-learn's ``AlignedUMAP``, anchored on the pairs between consecutive
models, so that partners land near each other and the maps can be read side by side.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from saegeom.io.tables import write_table
from saegeom.settings import ViewerSettings

COORDS_SCHEMA = pa.schema([("model", pa.string()), ("latent", pa.int32()), ("x", pa.float32()),
                           ("y", pa.float32())])


def _umap_kwargs(settings: ViewerSettings, n: int, seed: int) -> dict:
    if n < 4:
        raise ValueError(f"UMAP needs at least 4 decoder rows, got {n}")
    return dict(n_neighbors=min(settings.n_neighbors, n - 1), min_dist=settings.min_dist, metric=settings.metric,
                random_state=seed, n_components=2)


def umap_coordinates(decoder: np.ndarray, settings: ViewerSettings | None = None, seed: int = 0) -> np.ndarray:
    """(d_sae, 2) float32 UMAP embedding of decoder rows ``decoder`` (d_sae, d_model)."""
    import umap

    settings = settings or ViewerSettings()
    with warnings.catch_warnings():  # "n_jobs overridden to 1 by setting random_state": seeded on purpose
        warnings.filterwarnings("ignore", message=".*n_jobs.*")
        emb = umap.UMAP(**_umap_kwargs(settings, len(decoder), seed)).fit_transform(np.asarray(decoder, np.float32))
    return emb.astype(np.float32)


def anchor_relations(pairs: pd.DataFrame) -> dict[int, int]:
    """One-to-one anchors {a_idx: b_idx} from a pairs table: highest score first, each latent used once
    (``AlignedUMAP`` relations are a dict, so a many-to-one table must be thinned)."""
    used_b: set[int] = set()
    out: dict[int, int] = {}
    for a, b in pairs.sort_values("score", ascending=False, kind="stable")[["a_idx", "b_idx"]].itertuples(
            index=False):
        if a not in out and b not in used_b:
            out[int(a)] = int(b)
            used_b.add(int(b))
    return out


def aligned_coordinates(decoders: list[np.ndarray], pairs: list[pd.DataFrame], settings: ViewerSettings | None = None,
                        seed: int = 0) -> list[np.ndarray]:
    """AlignedUMAP of several SAEs' decoder rows; ``pairs[i]`` pairs latents of ``decoders[i]`` (a_idx)
    with ``decoders[i + 1]`` (b_idx). Returns one (d_sae_i, 2) float32 array per SAE."""
    settings = settings or ViewerSettings()
    if len(pairs) != len(decoders) - 1:
        raise ValueError(f"{len(decoders)} SAEs need {len(decoders) - 1} pair tables, got {len(pairs)}")
    relations = [anchor_relations(p) for p in pairs]
    if not all(relations):
        raise ValueError("AlignedUMAP needs at least one pair between each two consecutive SAEs")
    kw = _umap_kwargs(settings, min(len(d) for d in decoders), seed)
    import umap

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*n_jobs.*")
        model = umap.AlignedUMAP(**kw).fit([np.asarray(d, np.float32) for d in decoders], relations=relations)
    return [np.asarray(e, np.float32) for e in model.embeddings_]


def coords_frame(model: str, xy: np.ndarray) -> pd.DataFrame:
    """Rows of ``COORDS_SCHEMA`` for one model's (d_sae, 2) coordinates."""
    return pd.DataFrame({"model": model, "latent": np.arange(len(xy), dtype=np.int32),
                         "x": xy[:, 0].astype(np.float32), "y": xy[:, 1].astype(np.float32)})


def write_coords(frames: list[pd.DataFrame], path: str | Path) -> None:
    write_table(pd.concat(frames, ignore_index=True), path, COORDS_SCHEMA)


def read_coords(path: str | Path, model: str) -> np.ndarray:
    """(d_sae, 2) coordinates of ``model`` from a coordinates table, rows in latent order."""
    table = pq.read_table(path).to_pandas()
    df = table[table.model == model].sort_values("latent")
    if df.empty:
        raise ValueError(f"{path}: no coordinates for model {model!r} (has {sorted(set(table.model))})")
    return df[["x", "y"]].to_numpy(np.float32)
