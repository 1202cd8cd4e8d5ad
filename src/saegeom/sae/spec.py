"""SAE specs: which keys go to SAELens' architecture config and which to the trainer; checked by name.

An SAE spec is a config block like::

    architecture: topk          # any SAELens training architecture: standard, topk, batchtopk, jumprelu, ...
    d_sae: 256                  # or expansion_factor: 4
    k: 8                        # architecture options are SAELens config fields
    lr: 3.0e-4                  # trainer options: lr, training_samples, batch_size, lr_warm_up_steps,
    training_samples: 400000    #   lr_decay_steps, lr_scheduler, lr_end, dead_feature_window

Training keys go to ``SAETrainerConfig``; every other key must be a field of the architecture's
SAELens config class, otherwise the spec is rejected by name. The architectures and their fields are
read from SAELens once per installed version and cached as JSON (importing SAELens takes seconds; the
workflow checks every spec when the DAG is built, before any job).
"""

from __future__ import annotations

import dataclasses
import json
import os
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import Any

from saegeom.settings import SAE_TRAINER_DEFAULTS

TRAINER_KEYS = {*SAE_TRAINER_DEFAULTS, "lr_end"}
SPEC_ONLY_KEYS = {"architecture", "expansion_factor"}
#: SAELens config fields a spec may not set (saegeom sets them)
RESERVED_FIELDS = {"d_in", "device", "metadata"}


def sae_registry():
    """SAELens' training registry {architecture: (TrainingSAE class, config class)} (imports SAELens)."""
    import sae_lens  # noqa: F401  (registers the architectures)
    from sae_lens.registry import SAE_TRAINING_CLASS_REGISTRY

    return SAE_TRAINING_CLASS_REGISTRY


def _cache_file() -> Path:
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "saegeom" / f"sae_lens-{version('sae-lens')}-fields.json"


@cache
def architecture_fields() -> dict[str, list[str]]:
    """{architecture: its SAELens config fields}, from the JSON cache of this SAELens version when present."""
    file = _cache_file()
    try:
        return json.loads(file.read_text())
    except (OSError, ValueError):
        pass
    fields = {arch: sorted(f.name for f in dataclasses.fields(cfg)) for arch, (_, cfg) in sae_registry().items()}
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        tmp = file.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(fields, allow_nan=False))
        tmp.replace(file)
    except OSError:
        pass  # a read-only home only costs the import next time
    return fields


def split_spec(spec: dict[str, Any], d_in: int, where: str = "SAE spec") -> tuple[str, dict[str, Any], dict[str, Any]]:
    """(architecture, SAE config kwargs, trainer kwargs) of a spec; unknown names raise ``ValueError``
    naming ``where``, the key and the allowed names."""
    known = architecture_fields()
    arch = spec.get("architecture", "standard")
    if arch not in known:
        raise ValueError(f"{where}.architecture: unknown SAE architecture {arch!r}; SAELens has {sorted(known)}")
    fields = set(known[arch]) - RESERVED_FIELDS
    sae_kw: dict[str, Any] = {"d_in": d_in}
    trainer_kw: dict[str, Any] = {}
    for key, val in spec.items():
        if key in TRAINER_KEYS:
            trainer_kw[key] = val
        elif key in SPEC_ONLY_KEYS:
            continue
        elif key in fields:
            sae_kw[key] = val
        else:
            raise ValueError(f"{where}: key {key!r} is neither a trainer option {sorted(TRAINER_KEYS)} nor a field "
                             f"of SAELens' {arch!r} config {sorted(fields)}")
    if "d_sae" not in sae_kw:
        if "expansion_factor" not in spec:
            raise ValueError(f"{where}: needs d_sae or expansion_factor")
        sae_kw["d_sae"] = int(round(spec["expansion_factor"] * d_in))
    if "k" in sae_kw and sae_kw["k"] > sae_kw["d_sae"]:
        raise ValueError(f"{where}: k ({sae_kw['k']}) must be at most d_sae ({sae_kw['d_sae']})")
    return arch, sae_kw, trainer_kw
