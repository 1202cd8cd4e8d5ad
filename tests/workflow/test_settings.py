"""One source of truth: the schema's defaults and vocabulary equal saegeom.settings, and no
module re-defines a default with a fallback of its own."""

import re
from dataclasses import fields
from pathlib import Path

import yaml

from saegeom import settings as S
from saegeom.io import tables
from saegeom.viz import summary

REPO = Path(__file__).resolve().parents[2]
SCHEMA = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())


def _defaults(cls):
    return {f.name: (f.default_factory() if callable(f.default_factory) else f.default) for f in fields(cls)}


def test_schema_defaults_equal_the_settings_defaults():
    compare = SCHEMA["properties"]["compare"]["properties"]
    defs = SCHEMA["$defs"]
    for name, default in _defaults(S.PairingSettings).items():
        assert compare[name]["default"] == default, name
    for name, default in _defaults(S.CompareSettings).items():
        if name == "n_baseline":
            assert SCHEMA["properties"]["n_baseline"]["default"] == default
        elif name in ("metrics", "baselines"):
            assert {k: v["default"] for k, v in defs[name]["properties"].items()} == default, name
        elif name == "metric_options":
            assert defs[name]["default"] == default
        else:
            assert compare[name]["default"] == default, name
    assert SCHEMA["properties"]["seed"]["default"] == S.DEFAULT_SEED
    assert SCHEMA["properties"]["device"]["default"] == S.DEFAULT_DEVICE
    sae = defs["sae"]["properties"]
    assert {k: sae[k]["default"] for k in S.SAE_TRAINER_DEFAULTS} == S.SAE_TRAINER_DEFAULTS
    ck = SCHEMA["properties"]["checkpoint"]["properties"]
    assert {k: v["default"] for k, v in ck.items()} == S.CHECKPOINT_DEFAULTS
    assert SCHEMA["properties"]["compare"]["properties"]["on_width_mismatch"]["default"] == S.DEFAULT_ON_WIDTH_MISMATCH
    assert tuple(SCHEMA["properties"]["compare"]["properties"]["on_width_mismatch"]["enum"]) == S.WIDTH_MISMATCH


def test_schema_vocabulary_comes_from_settings():
    compare = SCHEMA["properties"]["compare"]["properties"]
    assert compare["pairings"]["items"]["enum"] == [p for p in S.PAIRINGS if p != "none"]
    for rep, prop in SCHEMA["$defs"]["baselines"]["properties"].items():
        assert tuple(prop["items"]["enum"]) == S.REPRESENTATION_NULLS[rep], rep
    assert set(SCHEMA["$defs"]["metrics"]["properties"]) == set(S.REPRESENTATIONS)
    assert set(S.NULLS) == {n for v in S.REPRESENTATION_NULLS.values() for n in v} | {"random_directions"}
    # tables and figures import the vocabulary instead of listing it
    assert tables.PAIRINGS is S.PAIRINGS and tables.REPRESENTATIONS is S.REPRESENTATIONS
    assert summary.PAIRING_PREFERENCE is S.PAIRING_PREFERENCE and summary.HEADLINE_NULLS is S.HEADLINE_NULLS


def test_no_module_redefines_a_setting_default():
    """A fallback like ``spec.get("training_samples", 200_000)`` is a second default that can drift
    from the schema (it did: 200 000 in the trainer vs 1 000 000 in the schema)."""
    keys = {*S.SAE_TRAINER_DEFAULTS, *_defaults(S.PairingSettings), *_defaults(S.CompareSettings)}
    pattern = re.compile(r"""\.get\(\s*["']({})["']\s*,""".format("|".join(sorted(keys))))
    offenders = []
    for path in (REPO / "src" / "saegeom").rglob("*.py"):
        if path.name == "settings.py":
            continue
        offenders += [f"{path.name}: {m.group(0)}" for m in pattern.finditer(path.read_text())]
    assert not offenders


def test_settings_reject_unknown_names():
    import pytest

    with pytest.raises(ValueError, match="unknown pairings"):
        S.PairingSettings(pairings=["greedy"])
    with pytest.raises(ValueError, match="min_corr"):
        S.PairingSettings(min_corr=-0.2)
    with pytest.raises(ValueError, match="activations baselines"):
        S.CompareSettings(baselines={"activations": ["repairing"]})
    with pytest.raises(KeyError, match="no_such_metric"):
        S.CompareSettings(metrics={"decoder": ["no_such_metric"]})
