"""Activation shards: fixed-size row blocks in safetensors, streamed to and from disk.

A shard set is a directory::

    index.json               {"d": 64, "shard_rows": 8192, "n_rows": ..., "shards": [...], "meta": {...}}
    shard_00000.safetensors  tensor "activations": (rows, d) float32, + JSON metadata
    ...                      optional per-row tensors, e.g. "mask" (rows,) uint8: 0 = padding /
                             BOS position to leave out of statistics; "token_ids" (rows,) int64

Every shard holds exactly ``shard_rows`` rows except possibly the last, so a
consumer can locate global row ``i`` at shard ``i // shard_rows``. Shard sets
written from the same draw (paired models) are row-aligned: global row ``i``
is the same input in every model.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from saegeom.io import strict_json
from saegeom.io.atomic import atomic_path
from saegeom.io.tensors import CorruptFileError, load_tensors, reading, save_tensors

INDEX = "index.json"
TENSOR = "activations"
MASK = "mask"
#: per-row array of aligned unit rows (saegeom.lm.alignment): tokens of the unit on this model's side
N_TOKENS = "n_tokens"


class ShardWriter:
    """Buffer rows and flush them as fixed-size shards; ``close()`` writes the index.

    Memory use is bounded by one shard (``shard_rows`` × ``d``).
    """

    def __init__(self, out_dir: str | Path, d: int, shard_rows: int, meta: dict[str, Any] | None = None):
        if shard_rows <= 0:
            raise ValueError(f"shard_rows must be positive, got {shard_rows}")
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.d, self.shard_rows, self.meta = d, shard_rows, dict(meta or {})
        self._buf: list[dict[str, np.ndarray]] = []
        self._buffered = 0
        self._shards: list[dict[str, Any]] = []
        self._n_rows = 0

    def add(self, rows: np.ndarray, extras: dict[str, np.ndarray] | None = None) -> ShardWriter:
        """Append ``rows`` of shape (n, d), plus optional per-row arrays ``extras`` (each (n, ...));
        returns the writer, so ``ShardWriter(...).add(x).close()`` writes a whole set."""
        if rows.ndim != 2 or rows.shape[1] != self.d:
            raise ValueError(f"expected rows of shape (n, {self.d}), got {rows.shape}")
        chunk = {TENSOR: np.asarray(rows, dtype=np.float32), **(extras or {})}
        if self._buf and set(chunk) != set(self._buf[0]):
            raise ValueError(f"every add() must carry the same arrays; got {sorted(chunk)}, had {sorted(self._buf[0])}")
        bad = [k for k, v in chunk.items() if len(v) != len(rows)]
        if bad:
            raise ValueError(f"extras {bad} do not have one entry per row ({len(rows)})")
        self._buf.append(chunk)
        self._buffered += rows.shape[0]
        while self._buffered >= self.shard_rows:
            block = {k: np.concatenate([c[k] for c in self._buf]) for k in chunk}
            self._write({k: v[: self.shard_rows] for k, v in block.items()})
            rest = {k: v[self.shard_rows :] for k, v in block.items()}
            n_rest = len(rest[TENSOR])
            self._buf, self._buffered = ([rest] if n_rest else []), n_rest
        return self

    def _write(self, block: dict[str, np.ndarray]) -> None:
        name = f"shard_{len(self._shards):05d}.safetensors"
        n = int(block[TENSOR].shape[0])
        meta = {**self.meta, "row_offset": self._n_rows, "n_rows": n}
        save_tensors(self.out_dir / name, block, meta)
        self._shards.append({"file": name, "n_rows": n})
        self._n_rows += n

    def close(self) -> ShardSet:
        if self._buffered:
            self._write({k: np.concatenate([c[k] for c in self._buf]) for k in self._buf[0]})
            self._buf, self._buffered = [], 0
        index = {"d": self.d, "shard_rows": self.shard_rows, "n_rows": self._n_rows,
                 "shards": self._shards, "meta": self.meta}
        with atomic_path(self.out_dir / INDEX) as tmp:
            tmp.write_text(strict_json.dumps(index, indent=1))
        return ShardSet(self.out_dir)


class BadShardError(ValueError):
    """A shard holds data no consumer should see (NaN/Inf, wrong width, wrong row count); the message
    names the shard file and, for values, the first bad global row."""


def _count(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def index_problems(index: dict[str, Any]) -> list[str]:
    """What is inconsistent in a shard index (empty when it can be trusted): ``d``/``shard_rows`` positive
    integers, every entry ``{"file", "n_rows"}`` with a plain file name inside the folder (no ``/``, no
    ``..``), every shard but the last exactly ``shard_rows`` rows and the last at most that, the entries
    summing to ``n_rows``. Checked without opening a shard (reads check each shard against its entry)."""
    out = []
    for key in ("d", "shard_rows"):
        if not _count(index[key]) or index[key] == 0:
            out.append(f"{key} = {index[key]!r} is not a positive integer")
    if not _count(index["n_rows"]):
        out.append(f"n_rows = {index['n_rows']!r} is not a non-negative integer")
    shards = index["shards"]
    if not isinstance(shards, list):
        return [*out, "shards is not a list"]
    rows = []
    for i, entry in enumerate(shards):
        if not isinstance(entry, dict) or not isinstance(entry.get("file"), str) or not _count(entry.get("n_rows")):
            out.append(f"shards[{i}] = {entry!r} is not {{'file': name, 'n_rows': count}}")
            continue
        name = entry["file"]
        if name in ("", ".", "..") or "/" in name or "\\" in name or name.startswith("~") or "\0" in name:
            out.append(f"shards[{i}].file = {name!r} is not a file name inside the shard folder")
        rows.append(entry["n_rows"])
    if out:
        return out
    size = index["shard_rows"]
    wrong = [i for i, n in enumerate(rows[:-1]) if n != size]
    if wrong:
        out.append(f"shards {wrong} do not hold shard_rows = {size} rows (only the last shard may be shorter)")
    if rows and not 0 < rows[-1] <= size:
        out.append(f"the last shard holds {rows[-1]} rows, not 1..shard_rows = {size}")
    if sum(rows) != index["n_rows"]:
        out.append(f"n_rows = {index['n_rows']} but the shards hold {sum(rows)} rows")
    return out


class ShardSet:
    """Read-only view of a shard directory written by :class:`ShardWriter`.

    Every read is checked where the data enters: a damaged file raises ``CorruptFileError``, a shard
    whose width or row count disagrees with ``index.json`` or that holds NaN/Inf raises
    :class:`BadShardError` naming the shard (and the global row)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        index_file = self.path / INDEX
        if not index_file.exists():
            raise FileNotFoundError(f"{self.path} is not a shard set: {INDEX} missing (was the run that "
                                    f"writes it interrupted? re-run the workflow)")
        with reading(index_file, "shard index"):
            self.index = json.loads(index_file.read_text())
        missing = [k for k in ("d", "n_rows", "shard_rows", "shards") if k not in self.index]
        if missing:
            raise CorruptFileError(f"{index_file}: shard index lacks {missing}")
        self.d: int = self.index["d"]
        self.n_rows: int = self.index["n_rows"]
        self.shard_rows: int = self.index["shard_rows"]
        self.meta: dict[str, Any] = self.index.get("meta", {})
        problems = index_problems(self.index)
        if problems:
            raise BadShardError(f"{index_file}: " + "; ".join(problems) + " (the index does not describe its "
                                "shards; delete the folder and re-run the rule that writes it)")

    @property
    def n_shards(self) -> int:
        return len(self.index["shards"])

    def shard(self, i: int) -> np.ndarray:
        """Rows of shard ``i``: (n_rows_i, d) float32."""
        return self.shard_arrays(i)[TENSOR]

    def shard_arrays(self, i: int) -> dict[str, np.ndarray]:
        """Every array of shard ``i``: ``activations`` plus any per-row extras (``mask``, ...), checked
        against the index (width ``d``, row count) and for NaN/Inf."""
        entry = self.index["shards"][i]
        file = self.path / entry["file"]
        arrays, _ = load_tensors(file)
        x = arrays.get(TENSOR)
        if x is None or x.ndim != 2 or x.shape[1] != self.d or x.shape[0] != entry["n_rows"]:
            shape = None if x is None else x.shape
            raise BadShardError(f"{file}: {TENSOR!r} has shape {shape}, but {self.path / INDEX} says "
                                f"({entry['n_rows']}, {self.d})")
        short = {k: len(v) for k, v in arrays.items() if k != TENSOR and (np.ndim(v) == 0 or len(v) != len(x))}
        if short:
            raise BadShardError(f"{file}: per-row arrays {short} do not have one entry per row ({len(x)} rows)")
        finite = np.isfinite(x).all(axis=1)
        if not finite.all():
            local = int(np.flatnonzero(~finite)[0])
            raise BadShardError(f"{file}: row {local} (global row {i * self.shard_rows + local}) holds NaN or Inf "
                                f"({int((~finite).sum())} bad rows in this shard); fix the activations upstream")
        return arrays

    def shard_valid(self, i: int) -> np.ndarray:
        """Rows of shard ``i`` whose ``mask`` is non-zero (all rows when there is no mask)."""
        arrays = self.shard_arrays(i)
        mask = arrays.get(MASK)
        return arrays[TENSOR] if mask is None else arrays[TENSOR][mask.astype(bool)]

    def iter_shards(self, order: list[int] | None = None) -> Iterator[np.ndarray]:
        """Unmasked rows of each shard (see :meth:`shard_valid`)."""
        for i in order if order is not None else range(self.n_shards):
            yield self.shard_valid(i)

    def iter_batches(self, batch_size: int, max_rows: int | None = None,
                     shards: list[int] | None = None) -> Iterator[np.ndarray]:
        """Consecutive batches of unmasked rows (the last may be short), at most ``max_rows`` rows.

        Two shard sets with different masks are no longer row-aligned through this
        view; pair them with ``saegeom.pairing.correlation.paired_blocks`` instead."""
        seen = 0
        for block in self.iter_shards(shards):
            for start in range(0, block.shape[0], batch_size):
                if max_rows is not None and seen >= max_rows:
                    return
                stop = start + batch_size
                if max_rows is not None:
                    stop = min(stop, start + max_rows - seen)
                batch = block[start:stop]
                seen += batch.shape[0]
                yield batch

    def read(self, max_rows: int | None = None) -> np.ndarray:
        """Materialise (up to ``max_rows``) unmasked rows. For small sets and tests only."""
        return np.concatenate(list(self.iter_batches(self.shard_rows, max_rows=max_rows)))


def shard_batches(shards: ShardSet, batch_size: int, shard_ids: list[int], seed: int,
                  device: str = "cpu") -> Iterator[Any]:
    """Endless stream of (batch_size, d) float32 batches: each epoch visits the given
    shards in a fresh random order and shuffles rows within a shard; only one
    shard is in memory at a time. Leftover rows carry over between shards.
    Masked rows (padding / BOS, see ``saegeom.io.shards``) are skipped."""
    import torch

    rng = np.random.default_rng(seed)
    carry = np.empty((0, shards.d), dtype=np.float32)
    while True:
        for i in rng.permutation(shard_ids):
            block = shards.shard_valid(int(i))
            block = np.concatenate([carry, block[rng.permutation(len(block))]])
            n_full = len(block) // batch_size * batch_size
            for start in range(0, n_full, batch_size):
                yield torch.from_numpy(block[start : start + batch_size]).to(device)
            carry = block[n_full:]


def split_shards(shards: ShardSet) -> tuple[list[int], list[int]]:
    """(train, eval) shard ids: the last shard is held out for evaluation when
    there are at least two; otherwise evaluation reuses the training shard."""
    ids = list(range(shards.n_shards))
    return (ids[:-1], ids[-1:]) if len(ids) >= 2 else (ids, ids)


def paired_blocks(a: ShardSet, b: ShardSet, shard_ids: list[int] | None, max_rows: int | None
                   ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Row-aligned blocks of A and B with masked rows (padding/BOS) removed from both."""
    if a.n_rows != b.n_rows or a.shard_rows != b.shard_rows:
        raise ValueError(f"shard sets are not row-aligned: {a.path} has {a.n_rows} rows, {b.path} has {b.n_rows}")
    seen = 0
    for i in shard_ids if shard_ids is not None else range(a.n_shards):
        xa, xb = a.shard_arrays(i), b.shard_arrays(i)
        keep = np.ones(len(xa[TENSOR]), bool)
        for arr in (xa, xb):
            if MASK in arr:
                keep &= arr[MASK].astype(bool)
        block_a, block_b = xa[TENSOR][keep], xb[TENSOR][keep]
        if max_rows is not None:
            block_a, block_b = block_a[: max_rows - seen], block_b[: max_rows - seen]
        seen += len(block_a)
        yield block_a, block_b
        if max_rows is not None and seen >= max_rows:
            return
