"""One function per topology rule: files in, files out (``rules/topology.smk``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from saegeom.io import strict_json
from saegeom.io.atomic import atomic_path
from saegeom.io.tables import write_metrics, write_table
from saegeom.settings import TopologySettings

PathLike = str | Path

MAPPER_SUMMARY_SCHEMA = pa.schema([
    ("world", pa.string()), ("model", pa.string()), ("sae", pa.string()), ("n_points", pa.int64()),
    ("n_nodes", pa.int64()), ("n_edges", pa.int64()), ("n_components", pa.int64()), ("n_loops", pa.int64()),
    ("node_size_min", pa.float64()), ("node_size_median", pa.float64()), ("node_size_mean", pa.float64()),
    ("node_size_max", pa.float64()), ("coverage", pa.float64()), ("purity", pa.float64()),
    ("purity_label", pa.string()), ("lens", pa.string()), ("clusterer", pa.string()),
])


def load_cloud(sae: PathLike | None, *, world: PathLike | None = None, model: str | None = None,
               latents: PathLike | None = None, gt_threshold: float = 0.7, min_frequency: float = 0.0):
    """The cloud of one target: an SAE folder, or (``sae=None``) the true features of ``model`` of ``world``."""
    from saegeom.synthetic.world import World
    from saegeom.topology.cloud import ground_truth_cloud, read_latents, sae_cloud

    w = World.load(world) if world else None
    if sae is None:
        if w is None or model is None:
            raise ValueError("a ground-truth cloud needs a world file and a model name")
        return ground_truth_cloud(w, model)
    return sae_cloud(sae, latents=read_latents(latents) if latents else None, world=w, model=model,
                     gt_threshold=gt_threshold, min_frequency=min_frequency)


def partner_scores(n_latents: int, pairs: list[tuple[PathLike, str]]) -> np.ndarray:
    """(n_latents,) best matched-partner score of each latent over pairs tables (``saegeom.pairing``
    schema), ``side`` "a" or "b" saying which end this SAE is; the pairing used is the first of
    ``PAIRING_PREFERENCE`` present in each table (correlation for correlation pairings); NaN = unpaired."""
    from saegeom.pairing import read_pairs
    from saegeom.settings import PAIRING_PREFERENCE

    best = np.full(n_latents, np.nan)
    for path, side in pairs:
        if side not in ("a", "b"):
            raise ValueError(f"pairs side must be 'a' or 'b', got {side!r}")
        df = read_pairs(path)
        chosen = next((p for p in PAIRING_PREFERENCE if (df.pairing == p).any()), None)
        if chosen is None:
            continue
        df = df[df.pairing == chosen]
        idx = df[f"{side}_idx"].to_numpy()
        if len(idx) and idx.max() >= len(best):
            raise ValueError(f"{path}: {side}_idx up to {idx.max()} but the SAE has {len(best)} latents")
        np.fmax.at(best, idx, df["score"].to_numpy(dtype=np.float64))
    return best


def _purity_label(cloud) -> str | None:
    for family in ("cluster", "circle", "group"):
        if family in cloud.table and (cloud.label_codes(family) >= 0).any():
            return family
    return None


def topology_report(sae: PathLike | None, out_dir: PathLike, *, world: PathLike | None = None,
                    model: str | None = None, latents: PathLike | None = None, settings: dict[str, Any] | None = None,
                    names: dict[str, str] | None = None, seed: int = 0,
                    pairs: list[tuple[PathLike, str]] | None = None) -> pd.DataFrame:
    """Rule ``topology``: Mapper report (``mapper.html``), graph (``mapper.json``), its summary
    (``mapper_summary.parquet``), persistence diagrams of the whole cloud and of each subspace
    (``diagrams.parquet``) and their plot (``persistence.png``) in ``out_dir``. ``pairs``: (pairs table,
    side) of comparisons this SAE takes part in; nodes can then be coloured by matched-partner score."""
    from saegeom.topology.mapper import compute_lens, graph_json, graph_summary, mapper_graph, tooltips
    from saegeom.topology.persistence import DIAGRAM_SCHEMA, cloud_diagrams, diagrams_frame, plot_diagrams
    from saegeom.topology.report import write_mapper_html

    s = TopologySettings(**(settings or {}))
    names = names or {}
    cloud = load_cloud(sae, world=world, model=model, latents=latents, gt_threshold=s.gt_threshold,
                       min_frequency=s.min_frequency)
    if pairs:
        from saegeom.sae.load import decoder_directions

        n_latents = len(decoder_directions(Path(sae))) if sae is not None else int(cloud.table["id"].max()) + 1
        cloud.table["partner_score"] = partner_scores(n_latents, pairs)[cloud.table["id"].to_numpy()]
    mp = s.mapper
    lens = compute_lens(cloud.points, mp["lens"], n_components=mp["n_components"], table=cloud.table, seed=seed)
    graph = mapper_graph(cloud.points, lens, n_cubes=mp["n_cubes"], overlap=mp["overlap"],
                         clusterer=mp["clusterer"], min_samples=mp["min_samples"],
                         eps_quantile=mp["eps_quantile"], linkage=mp["linkage"])
    label = _purity_label(cloud)
    summary = graph_summary(graph, len(cloud), cloud.label_codes(label) if label else None)
    summary |= dict(world=names.get("world", ""), model=names.get("model", ""), sae=names.get("sae", ""),
                    purity_label=label or "", lens=str(mp["lens"]), clusterer=mp["clusterer"])
    colors = {}
    if cloud.table["frequency"].notna().any():
        colors["frequency"] = cloud.table["frequency"].fillna(0).to_numpy()
    if "partner_score" in cloud.table:
        colors["partner_score"] = cloud.table["partner_score"].fillna(0).to_numpy()
    for family in ("cluster", "circle", "group"):
        if family in cloud.table:
            colors[family] = cloud.label_codes(family)
    colors["lens"] = lens[:, 0]
    diagrams = {"all": cloud_diagrams(cloud.points, complex=s.complex, distance=s.distance, n_points=s.n_points,
                                      max_dim=s.max_dim, alpha_dim=s.alpha_dim)}
    for sub, mask in cloud.subspaces.items():
        if mask.sum() >= s.min_points:
            diagrams[sub] = cloud_diagrams(cloud.points[mask], complex=s.complex, distance=s.distance,
                                           n_points=s.n_points, max_dim=s.max_dim, alpha_dim=s.alpha_dim)
    title = "/".join(v for v in (names.get("world"), names.get("model"), names.get("sae")) if v) or "feature cloud"
    frame = diagrams_frame(diagrams)
    with atomic_path(out_dir) as tmp:
        tmp.mkdir(parents=True)
        write_mapper_html(graph, cloud.points, lens, tmp / "mapper.html", title=title,
                          tooltips=tooltips(cloud.table["label"]), colors=colors)
        (tmp / "mapper.json").write_text(strict_json.dumps(graph_json(graph, cloud.table["id"].to_numpy(),
                                                               {**names, **summary}), default=_json_default))
        write_table(pd.DataFrame([summary]), tmp / "mapper_summary.parquet", MAPPER_SUMMARY_SCHEMA)
        write_table(frame, tmp / "diagrams.parquet", DIAGRAM_SCHEMA)
        plot_diagrams(frame, tmp / "persistence.png", title=f"{title}: persistence ({s.complex}, {s.distance})")
    return pd.DataFrame([summary])


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(f"not JSON serialisable: {type(o)}")


def topology_comparison(sae_a: PathLike | None, sae_b: PathLike | None, out: PathLike, *, model_a: str, model_b: str,
                        world: PathLike | None = None, latents_a: PathLike | None = None,
                        latents_b: PathLike | None = None, settings: dict[str, Any] | None = None,
                        context: dict[str, Any] | None = None) -> pd.DataFrame:
    """Rule ``topology_compare``: shape distances between two clouds with nulls → a metrics table.
    ``sae_a``/``sae_b`` None = the true features of ``model_a``/``model_b`` (representation ``ground_truth``)."""
    from saegeom.compare.rows import Context
    from saegeom.topology.compare import topology_rows

    s = TopologySettings(**(settings or {}))
    a = load_cloud(sae_a, model=model_a, latents=latents_a, world=world, gt_threshold=s.gt_threshold,
                   min_frequency=s.min_frequency)
    b = load_cloud(sae_b, model=model_b, latents=latents_b, world=world, gt_threshold=s.gt_threshold,
                   min_frequency=s.min_frequency)
    rep = "ground_truth" if sae_a is None and sae_b is None else "decoder"
    df = pd.DataFrame(topology_rows(a, b, Context(**(context or {})), s, representation=rep))
    write_metrics(df, out)
    return df


def collect_mapper_summaries(reports: list[PathLike], out: PathLike) -> None:
    """Rule ``topology_summary``: every graph's summary row (``<report>/mapper_summary.parquet``) in one table."""
    frames = [pd.read_parquet(Path(r) / "mapper_summary.parquet") for r in reports]
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=MAPPER_SUMMARY_SCHEMA.names)
    write_table(df, out, MAPPER_SUMMARY_SCHEMA)
