"""Checkpoints, shards and tables load without unpickling: no pickle, no unsafe torch.load, anywhere."""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCANNED = ["src", "workflow", "benchmarks"]

UNSAFE = [
    (re.compile(r"^\s*(import|from)\s+(c?pickle|dill|cloudpickle|joblib|shelve|marshal)\b", re.M),
     "pickle-like module"),
    (re.compile(r"\b(pd|pandas)\.read_pickle\b|\.to_pickle\("), "pandas pickle"),
    (re.compile(r"allow_pickle\s*=\s*True"), "numpy allow_pickle=True"),
    (re.compile(r"torch\.load\((?![^)]*weights_only\s*=\s*True)[^)]*\)", re.S), "torch.load without weights_only=True"),
    (re.compile(r"torch\.save\("), "torch.save (pickles; use safetensors / saegeom.io.state)"),
]


def unsafe_loads(text: str) -> list[str]:
    return [f"{why}: {m.group(0).strip()[:80]}" for pattern, why in UNSAFE for m in pattern.finditer(text)]


def _files():
    for name in SCANNED:
        p = REPO / name
        yield from ([p] if p.is_file() else [f for f in p.rglob("*") if f.suffix in (".py", ".smk")])


def test_the_scanner_catches_each_unsafe_pattern():
    bad = ["import pickle", "from joblib import load", "df = pd.read_pickle(p)", "np.load(f, allow_pickle=True)",
           "state = torch.load(path, map_location='cpu')", "torch.save(obj, p)"]
    for line in bad:
        assert unsafe_loads(line), line
    assert not unsafe_loads("torch.load(path, map_location='cpu', weights_only=True)")
    assert not unsafe_loads("np.load(f)")


def test_no_unsafe_loading_in_the_code():
    offenders = {str(f.relative_to(REPO)): hits for f in _files() if (hits := unsafe_loads(f.read_text()))}
    assert not offenders
