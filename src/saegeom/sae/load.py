"""Load saved SAEs and what the comparison needs of them (decoder directions, training metrics).

Every load goes through :func:`verify_sae_folder` first: ``cfg.json`` must be JSON naming a known SAELens
architecture, carry no field of another architecture (SAELens drops unknown fields silently, so a TopK
folder whose ``architecture`` was set to ``standard`` would load as a ReLU SAE), and agree with the weight
tensors (names and shapes, against the SAE SAELens builds from that config on the meta device — the way
``SAE.load_from_disk`` builds it); after loading, every weight must be finite. A pretrained SAE's recorded
``model_name``/``hook_name`` (SAELens cfg metadata) is compared with the configured model and hook.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

METRICS_FILE = "metrics.json"
WEIGHTS_FILE = "sae_weights.safetensors"  # SAELens' file names of a saved SAE
CONFIG_FILE = "cfg.json"
#: key of a pretrained-SAE config entry that accepts an SAE recorded for another model or hook
ALLOW_MISMATCH_KEY = "allow_model_mismatch"


class SAEFolderError(ValueError):
    """A saved SAE folder contradicts itself or the config (architecture, shapes, model/hook); names the folder."""


class NonFiniteSAEError(ValueError):
    """An SAE's weights hold NaN or Inf; the message names the folder and the tensors."""


def read_sae_config(path: str | Path) -> dict[str, Any]:
    """The ``cfg.json`` of a saved SAE folder; a missing file raises ``FileNotFoundError``, one that is not a
    JSON object ``CorruptFileError`` naming ``cfg.json``."""
    from saegeom.io.tensors import CorruptFileError, reading

    file = Path(path) / CONFIG_FILE
    if not file.exists():
        raise FileNotFoundError(f"{path} is not a saved SAE: {CONFIG_FILE} missing")
    with reading(file, "SAE config (JSON)"):
        cfg = json.loads(file.read_text())
    if not isinstance(cfg, dict):
        raise CorruptFileError(f"{file}: an SAE config must be a JSON object, got {type(cfg).__name__}")
    return cfg


def _weight_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    from safetensors import safe_open

    from saegeom.io.tensors import reading

    file = path / WEIGHTS_FILE
    if not file.exists():
        raise FileNotFoundError(f"{path} is not a saved SAE: {WEIGHTS_FILE} missing")
    with reading(file, "SAE weights file"), safe_open(str(file), framework="numpy") as f:
        return {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}  # noqa: SIM118 (not a dict)


def expected_tensors(cfg: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    """{tensor name: shape} of the SAE SAELens builds from ``cfg`` (a ``cfg.json`` dict), on the meta device
    (no memory); raises ``ValueError`` when SAELens cannot build it."""
    from sae_lens import SAE
    from sae_lens.saes.sae import handle_config_defaulting

    cfg = handle_config_defaulting(dict(cfg))
    cfg_cls = SAE.get_sae_config_class_for_architecture(cfg["architecture"])
    sae_cfg = cfg_cls.from_dict({**cfg, "device": "meta"})
    sae = SAE.get_sae_class_for_architecture(sae_cfg.architecture())(sae_cfg)
    return {k: tuple(v.shape) for k, v in sae.state_dict().items()}


def _architecture_problems(cfg: dict[str, Any]) -> list[str]:
    """``cfg.json`` keys that belong to another SAELens inference architecture than the one it names."""
    import dataclasses

    from sae_lens.registry import SAE_CLASS_REGISTRY

    arch = cfg.get("architecture", "standard")
    if arch not in SAE_CLASS_REGISTRY:
        return [f"architecture {arch!r} is not a SAELens architecture ({sorted(SAE_CLASS_REGISTRY)})"]
    fields = {a: {f.name for f in dataclasses.fields(c)} for a, (_, c) in SAE_CLASS_REGISTRY.items()}
    foreign = {k: sorted(a for a in fields if k in fields[a]) for k in set(cfg) - fields[arch] - {"architecture"}}
    foreign = {k: v for k, v in foreign.items() if v}
    if foreign:
        return [f"architecture {arch!r} has no field(s) {sorted(foreign)}, which belong to "
                f"{sorted({a for v in foreign.values() for a in v})}: the architecture does not match the SAE"]
    return []


def verify_sae_folder(path: str | Path) -> dict[str, Any]:
    """Check a saved SAE folder before loading it (see the module docstring); returns its ``cfg.json``.

    Raises ``FileNotFoundError`` (a file missing), ``CorruptFileError`` (``cfg.json`` not JSON, weights
    truncated or not safetensors) or :class:`SAEFolderError` (architecture or shapes inconsistent), each
    naming the folder or file."""
    import torch

    path = Path(path)
    cfg = read_sae_config(path)
    shapes = _weight_shapes(path)
    problems = _architecture_problems(cfg)
    for key in ("d_in", "d_sae"):
        if key not in cfg:
            problems.append(f"{CONFIG_FILE} has no {key}")
    if not problems:
        try:
            expected = expected_tensors(cfg)
        except (ValueError, TypeError, KeyError) as e:
            problems.append(f"SAELens cannot build an SAE from {CONFIG_FILE}: {e}")
        else:
            from sae_lens import SAE

            # the renames SAELens applies when loading (e.g. JumpReLU's log_threshold -> threshold)
            loaded = {k: torch.empty(s, device="meta") for k, s in shapes.items()}
            sae_cls = SAE.get_sae_class_for_architecture(cfg.get("architecture", "standard"))
            sae_cls.process_state_dict_for_loading(None, loaded)  # only renames keys; does not use self
            got = {k: tuple(v.shape) for k, v in loaded.items()}
            missing, extra = sorted(set(expected) - set(got)), sorted(set(got) - set(expected))
            if missing or extra:
                problems.append(f"the weights hold tensors {sorted(got)}, but architecture "
                                f"{cfg.get('architecture', 'standard')!r} needs {sorted(expected)} "
                                f"(missing {missing}, unexpected {extra})")
            bad = {k: (got[k], expected[k]) for k in expected if k in got and got[k] != expected[k]}
            if bad:
                problems.append(f"{CONFIG_FILE} says d_in={cfg['d_in']}, d_sae={cfg['d_sae']}, but tensor shapes "
                                f"disagree: " + ", ".join(f"{k} is {g}, expected {e}" for k, (g, e) in bad.items()))
    if problems:
        raise SAEFolderError(f"{path}: not a consistent SAE folder: " + "; ".join(problems))
    return cfg


def check_finite(sae, where: str | Path) -> None:
    """Raise :class:`NonFiniteSAEError` naming ``where`` when any parameter or buffer of ``sae`` is NaN/Inf."""
    import torch

    bad = {}
    for name, t in [*sae.named_parameters(), *sae.named_buffers()]:
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            bad[name] = int((~torch.isfinite(t)).sum())
    if bad:
        counts = ", ".join(f"{k}: {n} values" for k, n in bad.items())
        raise NonFiniteSAEError(f"{where}: SAE weights hold NaN/Inf ({counts}); "
                                f"the training diverged or the file is damaged — retrain it (a smaller lr) or "
                                f"replace it")


def load_sae(path: str | Path, device: str = "cpu"):
    """Load a saved SAE (inference class) with SAELens after :func:`verify_sae_folder`; refuses non-finite
    weights. Every error names the folder or file."""
    from sae_lens import SAE

    from saegeom.io.tensors import reading

    path = Path(path)
    verify_sae_folder(path)
    with reading(path / WEIGHTS_FILE, "SAE weights file"):
        sae = SAE.load_from_disk(str(path), device=device)
    check_finite(sae, path)
    return sae


def _official(name: str) -> str:
    try:
        from transformer_lens.loading_from_pretrained import get_official_model_name

        return get_official_model_name(name)
    except Exception:  # noqa: BLE001 (an unknown name is compared as written)
        return name


def recorded_source_problems(metadata: Any, where: str, model_name: str | None, hook: str | None) -> list[str]:
    """Where an SAE's recorded ``model_name``/``hook_name`` (SAELens cfg ``metadata``) differs from the
    configured model (a TransformerLens name; aliases compared by their official name) or hook. A field the
    SAE does not record, or that is not configured, is not compared."""
    meta = metadata if isinstance(metadata, dict) else vars(metadata) if metadata is not None else {}
    out = []
    rec_hook = meta.get("hook_name")
    if hook is not None and rec_hook and rec_hook != hook:
        out.append(f"{where} was trained on hook {rec_hook!r}, but the config caches hook {hook!r}")
    rec_model = meta.get("model_name")
    if model_name is not None and rec_model and _official(rec_model) != _official(model_name):
        out.append(f"{where} was trained on model {rec_model!r}, but the config's model is {model_name!r}")
    return out


def load_sae_source(source: dict[str, Any], device: str = "cpu", *, model_name: str | None = None,
                    hook: str | None = None):
    """A pretrained SAE of an ``lm.pretrained_saes`` entry: ``{path}`` (a local SAELens folder, loaded through
    :func:`load_sae`) or ``{release, sae_id}`` (``SAE.from_pretrained``); its recorded model/hook must match
    ``model_name`` (pretrained models; None = not compared) and ``hook`` unless the entry sets
    ``allow_model_mismatch: true``. Non-finite weights are refused."""
    from sae_lens import SAE

    if "path" in source:
        where = f"pretrained SAE {source['path']}"
        sae = load_sae(source["path"], device)
    else:
        from saegeom.utils import ModelUnavailable

        where = f"pretrained SAE {source['release']}/{source['sae_id']}"
        try:
            sae = SAE.from_pretrained(source["release"], source["sae_id"], device=device)
        except (OSError, ConnectionError) as e:
            raise ModelUnavailable(
                f"could not load {where} ({type(e).__name__}). Offline, save it elsewhere with "
                f"SAE.from_pretrained(...).save_model(DIR), copy DIR here and give `path: DIR` instead of "
                f"release/sae_id") from e
        check_finite(sae, where)
    problems = recorded_source_problems(getattr(sae.cfg, "metadata", None), where, model_name, hook)
    if problems and not source.get(ALLOW_MISMATCH_KEY, False):
        raise SAEFolderError("; ".join(problems) + f" — set {ALLOW_MISMATCH_KEY}: true on this pretrained_saes "
                             f"entry to use it anyway")
    return sae


def check_input_width(sae, acts, label: str = "") -> None:
    """Raise when ``sae`` (input width ``cfg.d_in``) is applied to a shard set ``acts`` of another width;
    the message names both, before any encoding. Duck-typed encoders without ``cfg.d_in`` are not checked."""
    d_in = getattr(getattr(sae, "cfg", None), "d_in", None)
    if d_in is not None and int(d_in) != acts.d:
        raise ValueError(f"SAE {label} expects inputs of width d_in={d_in}, but the activations {acts.path} "
                         f"have width {acts.d}: was it trained on another model or hook?")


def decoder_directions(sae) -> np.ndarray:
    """(d_sae, d_in) unit-norm decoder rows of an SAE (float64).

    ``sae``: a loaded SAE, or the path of a saved SAELens folder — then only ``W_dec`` is read
    from its ``sae_weights.safetensors``, without importing SAELens (a job that needs no
    encoding starts seconds faster); non-finite rows raise :class:`NonFiniteSAEError` naming the folder.
    """
    if isinstance(sae, str | Path):
        from safetensors import safe_open

        from saegeom.io.tensors import reading

        with reading(Path(sae) / WEIGHTS_FILE), safe_open(str(Path(sae) / WEIGHTS_FILE), framework="numpy") as f:
            w = f.get_tensor("W_dec").astype(np.float64)
        if not np.isfinite(w).all():
            raise NonFiniteSAEError(f"{sae}: W_dec holds NaN/Inf in {int((~np.isfinite(w).all(1)).sum())} rows; "
                                    f"the training diverged or the file is damaged — retrain or replace it")
    else:
        w = sae.W_dec.detach().double().cpu().numpy()
    return w / np.maximum(np.linalg.norm(w, axis=1, keepdims=True), 1e-12)


def read_sae_metrics(path: str | Path) -> dict[str, Any]:
    """The ``metrics.json`` written next to a trained SAE."""
    from saegeom.io.tensors import reading

    with reading(Path(path) / METRICS_FILE, "SAE metrics (JSON)"):
        return json.loads((Path(path) / METRICS_FILE).read_text())
