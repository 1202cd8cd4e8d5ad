"""A synthetic world: ground-truth features plus simulated models that share some of them.

A world holds G unit-norm features in R^h (rows of ``features``). Each simulated
model owns the world's *shared* features plus ``n_private`` features of its own,
and embeds them through its own basis ``B_m`` (h × h_m):

    x_m = c[:, owned_m] @ (features[owned_m] @ B_m)          (n, h_m)

with ``c`` the (n, G) coefficients of one firing draw. Because every model reads
the same ``c``, activations of all models are row-aligned (paired samples).

Bases: ``identity`` (h_m = h), ``rotation`` (random orthogonal h×h), ``linear``
(random Gaussian h×h_m, entries N(0, 1/h_m); not norm-preserving, so ground-truth
directions in that model are renormalised).

Nested sharing (``sharing: {all: f_all, pairs: f_pair}``, for worlds of ≥ 2 models): instead of one
shared set, each model owns ``round(f_all · n)`` features shared by *every* model, ``round(f_pair · n)``
features per other model that only the two of them own (one set per unordered pair), and the rest of its
``n = n_features_per_model`` private. ``shared`` then holds the features of every model; which models own
a feature is :meth:`World.owners` (the planted truth of the universal-feature families). Without
``sharing`` a world is built exactly as before (``shared_fraction``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from saegeom.io.shards import ShardWriter
from saegeom.io.tensors import load_tensors, save_tensors
from saegeom.synthetic.firing import CorrelatedFiring, make_firing
from saegeom.synthetic.geometry import make_features
from saegeom.synthetic.hierarchy import HIERARCHY_DEFAULTS, PlantedHierarchy, plant_hierarchy
from saegeom.utils import derive_seed


@dataclass
class SimulatedModel:
    name: str
    owned: np.ndarray      # (n_owned,) indices into the world's features, sorted
    basis: np.ndarray      # (h, h_m)
    basis_kind: str
    noise_std: float = 0.0

    @property
    def d_model(self) -> int:
        return int(self.basis.shape[1])


@dataclass
class World:
    """Ground truth of a synthetic world. ``features``: (G, h), rows unit-norm."""

    name: str
    features: np.ndarray
    rank: np.ndarray                         # (G,) frequency rank, 0 = most frequent
    shared: np.ndarray                       # (n_shared,) indices of features every model owns
    models: dict[str, SimulatedModel]
    labels: dict[str, np.ndarray] = field(default_factory=dict)  # (G,) ints, -1 = none
    config: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    hierarchy: PlantedHierarchy | None = None  # planted parent → child links (``firing.hierarchy``)

    @property
    def n_features(self) -> int:
        return int(self.features.shape[0])

    def embedding(self, model: str) -> np.ndarray:
        """(n_owned, h_m): the model's features in its own basis (not renormalised)."""
        m = self.models[model]
        return self.features[m.owned] @ m.basis

    def gt_features(self, model: str) -> np.ndarray:
        """(n_owned, h_m) unit-norm ground-truth directions in the model's basis."""
        e = self.embedding(model)
        return e / np.linalg.norm(e, axis=1, keepdims=True)

    def activations(self, model: str, coeffs: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        """(n, h_m) activations of ``model`` for world coefficients ``coeffs`` (n, G)."""
        m = self.models[model]
        x = coeffs[:, m.owned] @ self.embedding(model)
        if m.noise_std > 0:
            if rng is None:
                raise ValueError("a noisy model needs an rng")
            x = x + m.noise_std * rng.standard_normal(x.shape)
        return x.astype(np.float32)

    def owners(self) -> np.ndarray:
        """(G, M) bool: which models own each world feature; columns in ``models`` order."""
        out = np.zeros((self.n_features, len(self.models)), bool)
        for j, m in enumerate(self.models.values()):
            out[m.owned, j] = True
        return out

    def sharing_level(self) -> np.ndarray:
        """(G,) number of models owning each feature (M = shared by all, 1 = private)."""
        return self.owners().sum(axis=1)

    def feature_role(self, model: str) -> np.ndarray:
        """(n_owned,) 'shared' or 'private' for each of ``model``'s features, in ``owned`` order."""
        is_shared = np.isin(self.models[model].owned, self.shared)
        return np.where(is_shared, "shared", "private")

    def shared_positions(self, model: str) -> np.ndarray:
        """(n_shared,) positions of the shared features within ``model``'s ``owned`` order."""
        return np.searchsorted(self.models[model].owned, self.shared)

    def label_masks(self, features: np.ndarray) -> dict[str, np.ndarray]:
        """``cluster:<c>`` / ``circle:<c>`` boolean masks over items whose world feature index
        is ``features`` (n,) (−1 = no feature). One mask per label value present in the world,
        so every world subspace is reported, empty ones included."""
        masks = {}
        for label in ("cluster", "circle"):
            if label not in self.labels:
                continue
            values = self.labels[label]
            item_labels = np.where(features >= 0, values[np.maximum(features, 0)], -1)
            for v in np.unique(values[values >= 0]):
                masks[f"{label}:{v}"] = item_labels == v
        return masks

    def firing(self, device: str = "cpu") -> CorrelatedFiring:
        """The world's firing process, sampling on ``device`` (CUDA draws differ from CPU draws: another
        random generator, same distribution)."""
        seed = derive_seed(self.seed, self.name, "firing")
        return make_firing(self.config["firing"], self.n_features, self.rank, seed, device, self.hierarchy)

    # ---- persistence -------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        tensors = {"features": self.features, "rank": self.rank, "shared": self.shared}
        tensors |= {f"label.{k}": v for k, v in self.labels.items()}
        for name, m in self.models.items():
            tensors[f"model.{name}.owned"] = m.owned
            tensors[f"model.{name}.basis"] = m.basis
        if self.hierarchy is not None:
            tensors |= self.hierarchy.tensors()
        meta = {"name": self.name, "seed": self.seed, "config": self.config,
                "models": {n: {"basis": m.basis_kind, "noise_std": m.noise_std} for n, m in self.models.items()}}
        save_tensors(path, tensors, meta)

    @classmethod
    def load(cls, path: str | Path) -> World:
        t, meta = load_tensors(path)
        models = {n: SimulatedModel(n, t[f"model.{n}.owned"], t[f"model.{n}.basis"], spec["basis"], spec["noise_std"])
                  for n, spec in meta["models"].items()}
        labels = {k.split(".", 1)[1]: v for k, v in t.items() if k.startswith("label.")}
        hierarchy = None
        if "hierarchy.child" in t:
            h = {**HIERARCHY_DEFAULTS, **meta["config"]["firing"]["hierarchy"]}
            hierarchy = PlantedHierarchy(t["hierarchy.child"], t["hierarchy.parent"], float(h["child_rate"]),
                                         bool(h["mutually_exclusive"]))
        return cls(meta["name"], t["features"], t["rank"], t["shared"], models, labels, meta["config"], meta["seed"],
                   hierarchy)


def _basis(kind: str, h: int, d_model: int | None, rng: np.random.Generator) -> np.ndarray:
    if kind == "identity":
        if d_model not in (None, h):
            raise ValueError(f"basis 'identity' needs d_model == d_world ({h}), got {d_model}")
        return np.eye(h)
    if kind == "rotation":
        if d_model not in (None, h):
            raise ValueError(f"basis 'rotation' needs d_model == d_world ({h}), got {d_model}")
        q, r = np.linalg.qr(rng.standard_normal((h, h)))
        return q * np.sign(np.diag(r))  # Haar-distributed orthogonal matrix
    if kind == "linear":
        d = h if d_model is None else d_model
        return rng.standard_normal((h, d)) / np.sqrt(d)
    raise ValueError(f"unknown basis {kind!r}; expected identity, rotation or linear")


def build_world(name: str, cfg: dict[str, Any], seed: int) -> World:
    """Build a world from its config block (see ``workflow/schemas/config.schema.yaml``)."""
    rng = np.random.default_rng(derive_seed(seed, name, "world"))
    models_cfg = cfg["models"]
    if len(models_cfg) < 1:
        raise ValueError(f"world {name!r} needs at least one model")
    per_model = cfg["n_features_per_model"]
    if cfg.get("sharing") is not None:
        return _build_nested_world(name, cfg, seed, rng)
    n_shared = int(round(cfg["shared_fraction"] * per_model))
    n_private = per_model - n_shared
    g = n_shared + len(models_cfg) * n_private
    h = cfg["d_world"]
    geometry = cfg.get("geometry", {"kind": "sphere"})
    options = {k: v for k, v in geometry.items() if k != "kind"}
    features, labels = make_features(geometry["kind"], g, h, rng, **options)
    order = rng.permutation(g)  # which features are shared is random w.r.t. geometry
    shared = np.sort(order[:n_shared])
    models = {}
    for i, (mname, mcfg) in enumerate(models_cfg.items()):
        private = order[n_shared + i * n_private : n_shared + (i + 1) * n_private]
        owned = np.sort(np.concatenate([shared, private]))
        basis = _basis(mcfg.get("basis", "identity"), h, mcfg.get("d_model"), rng)
        models[mname] = SimulatedModel(mname, owned, basis, mcfg.get("basis", "identity"), mcfg.get("noise_std", 0.0))
    rank = rng.permutation(g)
    hierarchy = None
    if cfg.get("firing", {}).get("hierarchy"):  # its own generator: the rest of the world does not change
        hierarchy = plant_hierarchy(g, cfg["firing"]["hierarchy"],
                                    np.random.default_rng(derive_seed(seed, name, "hierarchy")))
    return World(name, features, rank, shared, models, labels, cfg, seed, hierarchy)


def nested_counts(cfg: dict[str, Any]) -> tuple[int, int, int]:
    """(features shared by all, features per pair, private features per model) of a nested-sharing world
    block; a ValueError when the levels ask for more than ``n_features_per_model``."""
    per, sharing, n_models = int(cfg["n_features_per_model"]), cfg["sharing"], len(cfg["models"])
    unknown = sorted(set(sharing) - {"all", "pairs"})
    if unknown:
        raise ValueError(f"sharing: unknown levels {unknown}; expected all, pairs")
    n_all = int(round(float(sharing.get("all", 0.0)) * per))
    n_pair = int(round(float(sharing.get("pairs", 0.0)) * per)) if n_models > 1 else 0
    n_private = per - n_all - (n_models - 1) * n_pair
    if n_private < 0:
        raise ValueError(f"sharing {sharing} needs {n_all} + {n_models - 1} x {n_pair} features per model, more "
                         f"than n_features_per_model = {per}")
    return n_all, n_pair, n_private


def _build_nested_world(name: str, cfg: dict[str, Any], seed: int, rng: np.random.Generator) -> World:
    """A world of nested sharing (module doc): features of all models, of each pair, private to one."""
    models_cfg = cfg["models"]
    names = list(models_cfg)
    n_all, n_pair, n_private = nested_counts(cfg)
    pairs = list(itertools.combinations(range(len(names)), 2))
    g = n_all + len(pairs) * n_pair + len(names) * n_private
    h = cfg["d_world"]
    geometry = cfg.get("geometry", {"kind": "sphere"})
    options = {k: v for k, v in geometry.items() if k != "kind"}
    features, labels = make_features(geometry["kind"], g, h, rng, **options)
    order = rng.permutation(g)  # which features sit at which level is random w.r.t. geometry
    shared = np.sort(order[:n_all])
    owned: list[list[np.ndarray]] = [[shared] for _ in names]
    start = n_all
    for i, j in pairs:
        block = order[start:start + n_pair]
        owned[i].append(block)
        owned[j].append(block)
        start += n_pair
    for i in range(len(names)):
        owned[i].append(order[start:start + n_private])
        start += n_private
    models = {}
    for i, (mname, mcfg) in enumerate(models_cfg.items()):
        basis = _basis(mcfg.get("basis", "identity"), h, mcfg.get("d_model"), rng)
        models[mname] = SimulatedModel(mname, np.sort(np.concatenate(owned[i])), basis, mcfg.get("basis", "identity"),
                                       mcfg.get("noise_std", 0.0))
    rank = rng.permutation(g)
    return World(name, features, rank, shared, models, labels, cfg, seed)


def write_paired_shards(world: World, out_dir: str | Path, n_samples: int, shard_rows: int,
                        batch_size: int = 4096, firing: CorrelatedFiring | None = None,
                        device: str = "cpu") -> dict[str, Path]:
    """Stream ``n_samples`` paired samples to one shard set per model under ``out_dir/<model>``.

    One coefficient draw feeds every model, so row ``i`` of every model's shards is
    the same sample. Memory is bounded by one batch plus one shard per model. The firing
    coefficients are drawn on ``device`` (``world.firing(device)``).
    """
    firing = firing or world.firing(device)
    noise_rng = np.random.default_rng(derive_seed(world.seed, world.name, "noise"))
    out_dir = Path(out_dir)
    writers = {m: ShardWriter(out_dir / m, world.models[m].d_model, shard_rows,
                              {"world": world.name, "model": m, "seed": world.seed})
               for m in world.models}
    with tqdm(total=n_samples, desc=f"world {world.name}: samples", unit="row") as bar:
        done = 0
        while done < n_samples:
            b = min(batch_size, n_samples - done)
            coeffs = firing.sample(b).cpu().numpy()
            for m, w in writers.items():
                w.add(world.activations(m, coeffs, noise_rng))
            done += b
            bar.update(b)
    return {m: w.close().path for m, w in writers.items()}
