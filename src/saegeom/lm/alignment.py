"""Aligning language models that tokenize the same text differently, by character offsets.

Two tokenizers cut a story into different tokens, so token row *i* of one model's activation cache is not
token row *i* of another's. This module maps both tokenizations onto **units** of the text that every side
can agree on and writes, per model, a shard set with **one row per unit** (the same rows, in the same order,
for every model of the comparison), each row the aggregate of the model's activations over the unit's tokens.

**Token spans.** A token's characters come from the fast tokenizer's offset mapping
(``return_offsets_mapping``); tokenizers without one (slow, Python tokenizers) get offsets from a
character-level alignment of incremental decodes to the text (:func:`offsets_by_decoding`). Every span is
trimmed of whitespace at both ends, so a leading-space convention (GPT-2's ``Ġ``, SentencePiece's ``▁``,
whether or not the offsets include the space) gives the same span as a tokenizer that drops the space; a
whitespace-only token has an empty span and belongs to no unit. Special tokens have empty spans too.

**Units** (``units``):

- ``words`` (default): maximal runs of word characters (Unicode letters, digits, combining marks — so
  ``e`` + U+0301 stays one word — and ``_``); every maximal run of other non-space characters
  (punctuation, symbols: ``.``, ``?!``, ``."``) is a unit too. ``don't`` is three units.
- ``whitespace``: maximal runs of non-space characters (a word with its punctuation).
- ``finest``: the finest segmentation both sides agree on — the characters of a token stay together on
  every side, so a unit ends only where every tokenizer has a token boundary (whitespace always ends one).

**Which units are kept.** On each side, the unit's tokens are those whose span meets the unit's characters.
The unit is dropped (``mask`` 0) when, on any side: no token covers it (``no_tokens``); a token reaches
beyond it into another unit (``crosses_units``: the token mixes two units, e.g. BPE's ``'t`` under
``words``); some of its characters are in no token (``not_covered``); or a token of it lies beyond the
model's context window (``truncated``: the cache holds only the first ``n_ctx`` positions, so the unit
was cut or never seen). The first applicable reason, in this order, is the side's reason.

**Aggregation** (``aggregation``) of the side's activations over the unit's tokens: ``mean`` (the unit's
tokens are exchangeable views of one thing — off the activation distribution the SAE was trained on when a
unit has several tokens), ``max`` (per dimension; a feature present on any piece is present on the unit —
also off-distribution), ``last`` (the activation at the unit's last token: in a causal model the only
position that has seen the whole unit, and a real activation, so the SAE reads it in distribution; the
default).
"""

from __future__ import annotations

import difflib
import hashlib
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from saegeom.io.shards import N_TOKENS
from saegeom.metrics.baselines import length_classes  # noqa: F401 - the unit_shuffle classes, re-exported

UNIT_KINDS = ("words", "whitespace", "finest")
AGGREGATIONS = ("mean", "max", "last")
#: why a side could not align a unit (code in the shards' ``reason`` array = position here; 0 = aligned)
REASONS = ("", "no_tokens", "crosses_units", "not_covered", "truncated")
OK, NO_TOKENS, CROSSES, NOT_COVERED, TRUNCATED = range(len(REASONS))
#: per-row arrays of an aligned shard set (besides ``activations`` and ``mask``)
DOC, UNIT, CHAR_START, CHAR_END, REASON = "doc", "pos", "char_start", "char_end", "reason"
UNITS_FILE, REPORT_JSON, REPORT_TABLE = "units.parquet", "report.json", "report.parquet"


# ---- token spans ---------------------------------------------------------------------------------------------
def trim_spans(text: str, spans: np.ndarray) -> np.ndarray:
    """(n, 2) character spans with whitespace removed at both ends; a whitespace-only or empty span becomes
    (s, s) (empty: belongs to no unit)."""
    out = np.asarray(spans, np.int64).reshape(-1, 2).copy()
    for i, (s, e) in enumerate(out):
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        out[i] = (s, e) if e > s else (s, s)
    return out


def offsets_by_decoding(decode: Callable[[list[int]], str], ids: Sequence[int], text: str) -> np.ndarray:
    """(n, 2) character spans of ``ids`` in ``text`` for a tokenizer without an offset mapping.

    Token i's characters are those that decoding ``ids[:i+1]`` adds to decoding ``ids[:i]``; a trailing
    U+FFFD (a multi-byte character whose bytes are not all decoded yet) is not counted until its last
    byte arrives. The decoded string is then aligned to ``text`` character by character
    (``difflib.SequenceMatcher``: decoders that insert or drop spaces, or normalise, still map); characters
    of the decoding that match nothing in the text give no span (an unknown token decoded as ``[UNK]`` thus
    covers nothing, and its word is ``not_covered``). Quadratic in the number of tokens: for stories, not books.
    """
    ends, prev = [], 0
    for i in range(len(ids)):
        d = decode(list(ids[: i + 1]))
        n = len(d.rstrip("\ufffd")) if i + 1 < len(ids) else len(d)
        prev = max(prev, n)
        ends.append(prev)
    full = decode(list(ids))
    to_text = np.full(len(full) + 1, -1, np.int64)
    for a, b, size in difflib.SequenceMatcher(None, full, text, autojunk=False).get_matching_blocks():
        to_text[a : a + size] = np.arange(b, b + size)
    spans, start = np.zeros((len(ids), 2), np.int64), 0
    for i, end in enumerate(ends):
        mapped = to_text[start:end]
        mapped = mapped[mapped >= 0]
        spans[i] = (mapped.min(), mapped.max() + 1) if len(mapped) else (0, 0)
        start = end
    return spans


def token_spans(tokenizer, text: str) -> tuple[list[int], np.ndarray]:
    """(token ids of ``text`` without special tokens, (n, 2) trimmed character spans)."""
    if getattr(tokenizer, "is_fast", False):
        enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        return list(enc["input_ids"]), trim_spans(text, np.asarray(enc["offset_mapping"], np.int64))
    ids = list(tokenizer(text, add_special_tokens=False)["input_ids"])
    return ids, trim_spans(text, offsets_by_decoding(
        lambda x: tokenizer.decode(x, clean_up_tokenization_spaces=False), ids, text))


# ---- units ---------------------------------------------------------------------------------------------------
def _is_word_char(c: str) -> bool:
    return c == "_" or unicodedata.category(c)[0] in "LNM"


def _runs(text: str, key: Callable[[str], Any]) -> list[tuple[int, int]]:
    """Maximal runs of non-space characters with equal ``key``."""
    out, start = [], None
    for i, c in enumerate(text):
        if c.isspace():
            if start is not None:
                out.append((start, i))
            start = None
        elif start is None:
            start = i
        elif key(c) != key(text[i - 1]):
            out.append((start, i))
            start = i
    if start is not None:
        out.append((start, len(text)))
    return out


def word_units(text: str) -> list[tuple[int, int]]:
    """``words`` units (module doc): runs of word characters and runs of other non-space characters."""
    return _runs(text, _is_word_char)


def whitespace_units(text: str) -> list[tuple[int, int]]:
    """``whitespace`` units: maximal runs of non-space characters."""
    return _runs(text, lambda c: True)


def finest_units(text: str, spans: Sequence[np.ndarray]) -> list[tuple[int, int]]:
    """``finest`` units of ``text`` under every side's trimmed token ``spans``: characters inside one token
    (on any side) stay together; everything else is cut, and whitespace outside tokens ends a unit."""
    n = len(text)
    joined = np.zeros(n + 1, bool)  # joined[c]: characters c-1 and c must stay in one unit
    for sp in spans:
        for s, e in sp:
            joined[s + 1 : e] = True
    out, start = [], None
    for c in range(n + 1):
        if c == n or (text[c].isspace() and not joined[c]):
            if start is not None:
                out.append((start, c))
            start = None
        elif start is None:
            start = c
        elif not joined[c]:
            out.append((start, c))
            start = c
    return out


def units_of(text: str, kind: str, spans: Sequence[np.ndarray]) -> list[tuple[int, int]]:
    if kind == "words":
        return word_units(text)
    if kind == "whitespace":
        return whitespace_units(text)
    if kind == "finest":
        return finest_units(text, spans)
    raise ValueError(f"unknown units {kind!r}; expected one of {list(UNIT_KINDS)}")


# ---- assignment ----------------------------------------------------------------------------------------------
@dataclass
class SideUnits:
    """One side's tokens of each unit: ``first``/``last`` (n_units,) token indices (in the text's
    tokenization, special tokens excluded; −1 when none), ``n_tokens`` (last − first + 1, 0 when none),
    ``reason`` (n_units,) code into :data:`REASONS`."""

    first: np.ndarray
    last: np.ndarray
    n_tokens: np.ndarray
    reason: np.ndarray


def assign_tokens(text: str, units: Sequence[tuple[int, int]], spans: np.ndarray, n_window: int) -> SideUnits:
    """Which tokens (trimmed ``spans``, (n_tok, 2)) make each unit, and why a unit cannot be aligned
    (module doc); ``n_window``: how many of the tokens the activation cache holds."""
    n_units = len(units)
    first, last = np.full(n_units, -1, np.int64), np.full(n_units, -1, np.int64)
    reason = np.zeros(n_units, np.uint8)
    owner_lo = np.full(len(text), len(spans), np.int64)  # first / last token covering each character
    owner_hi = np.full(len(text), -1, np.int64)
    for t, (s, e) in enumerate(spans):
        if e > s:
            owner_lo[s:e] = np.minimum(owner_lo[s:e], t)
            owner_hi[s:e] = t
    for u, (s, e) in enumerate(units):
        hi = owner_hi[s:e]
        if (hi < 0).all():
            reason[u] = NO_TOKENS
            continue
        t0, t1 = int(owner_lo[s:e].min()), int(hi.max())
        first[u], last[u] = t0, t1
        inside = spans[t0 : t1 + 1]
        inside = inside[inside[:, 1] > inside[:, 0]]
        if (inside[:, 0] < s).any() or (inside[:, 1] > e).any():
            reason[u] = CROSSES
        elif (hi < 0).any():
            reason[u] = NOT_COVERED
        elif t1 >= n_window:
            reason[u] = TRUNCATED
    n_tokens = np.where(first >= 0, last - first + 1, 0)
    return SideUnits(first, last, n_tokens, reason)


@dataclass
class DocAlignment:
    """Units of one text: ``spans`` (n_units, 2) character spans, ``sides`` {name: :class:`SideUnits`},
    ``mask`` (n_units,) bool, aligned on every side."""

    text: str
    spans: np.ndarray
    sides: dict[str, SideUnits]
    mask: np.ndarray = field(init=False)

    def __post_init__(self):
        self.mask = np.ones(len(self.spans), bool)
        for s in self.sides.values():
            self.mask &= s.reason == OK


def align_text(text: str, spans: dict[str, np.ndarray], units: str = "words",
               n_window: dict[str, int] | None = None) -> DocAlignment:
    """Units of ``text`` under every side's trimmed token ``spans`` ({side: (n_tok, 2)}); ``n_window``:
    tokens of each side inside the context window (default: all)."""
    unit_spans = units_of(text, units, list(spans.values()))
    win = n_window or {}
    sides = {k: assign_tokens(text, unit_spans, sp, win.get(k, len(sp))) for k, sp in spans.items()}
    return DocAlignment(text, np.asarray(unit_spans, np.int64).reshape(-1, 2), sides)


# ---- aggregation ---------------------------------------------------------------------------------------------
def aggregate(acts: np.ndarray, first: np.ndarray, last: np.ndarray, how: str) -> np.ndarray:
    """(n_units, d) aggregate of ``acts`` (n_tokens, d) over each unit's token rows ``first[u]..last[u]``
    (inclusive): ``mean``, ``max`` (per dimension) or ``last`` (row ``last[u]``); a unit with ``first`` −1
    or beyond ``acts`` gets a zero row (it is masked)."""
    if how not in AGGREGATIONS:
        raise ValueError(f"unknown aggregation {how!r}; expected one of {list(AGGREGATIONS)}")
    out = np.zeros((len(first), acts.shape[1]), np.float32)
    for u, (a, b) in enumerate(zip(first, last, strict=True)):
        if a < 0 or b >= len(acts):
            continue
        block = acts[a : b + 1]
        out[u] = block[-1] if how == "last" else block.mean(0) if how == "mean" else block.max(0)
    return out


# ---- corpus-level: aligned shard sets and the report ----------------------------------------------------------
def iter_docs(shards) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """(doc, activations (len, d), token_ids (len,)) of each story of an LM activation cache, in order,
    one shard in memory at a time (a story may span two shards)."""
    from saegeom.io.shards import TENSOR
    from saegeom.lm.activations import DOC as TDOC
    from saegeom.lm.activations import TOKEN_IDS

    buf_x, buf_t, cur = [], [], None
    for i in range(shards.n_shards):
        arr = shards.shard_arrays(i)
        docs = arr[TDOC]
        cuts = np.flatnonzero(np.diff(docs)) + 1
        for s, e in zip([0, *cuts], [*cuts, len(docs)], strict=True):
            d = int(docs[s])
            if cur is not None and d != cur:
                yield cur, np.concatenate(buf_x), np.concatenate(buf_t)
                buf_x, buf_t = [], []
            cur = d
            buf_x.append(arr[TENSOR][s:e])
            buf_t.append(arr[TOKEN_IDS][s:e])
    if cur is not None:
        yield cur, np.concatenate(buf_x), np.concatenate(buf_t)


def _unit_fingerprint(units: pd.DataFrame, kind: str) -> str:
    h = hashlib.sha256(kind.encode())
    h.update(np.ascontiguousarray(units[["doc", "char_start", "char_end"]].to_numpy(np.int64)).tobytes())
    return "units:" + h.hexdigest()[:16]


def align_caches(stories: list[str], caches: dict[str, Any], tokenizers: dict[str, Any], out_dir: str | Path,
                 units: str = "words", aggregation: str = "last", length_cap: int = 3,
                 shard_rows: int = 16384) -> dict[str, Any]:
    """Write ``out_dir/<model>/`` (an aligned shard set per model), ``units.parquet``, ``report.json`` and
    ``report.parquet`` (atomic, one directory); returns the report.

    ``caches``: {model: ``ShardSet`` of its token activations on ``stories``, BOS at position 0};
    ``tokenizers``: {model: its Hugging Face tokenizer}. Each cache's token ids are checked against the
    tokenizer's encoding of the story (a cache of another corpus or tokenizer is refused by name).

    Every model's set has one row per unit of every story (``units.parquet`` row i = shard row i), the
    aggregated activations (zeros where that side has no valid tokens), and per row ``doc``, ``pos`` (unit
    index in the story), ``char_start``/``char_end``, ``n_tokens`` (the side's tokens in the unit),
    ``reason`` (the side's code into :data:`REASONS`) and ``mask`` (1: aligned on every side). The index
    metadata holds ``tokenizer`` = a fingerprint of the units (equal for every model, so the sets pass
    ``check_same_tokens``), ``aggregation``, ``units``, ``length_cap``, ``aligned_models``.
    """
    from saegeom.io import strict_json
    from saegeom.io.atomic import atomic_path
    from saegeom.io.shards import MASK, ShardWriter
    from saegeom.lm.tokenizer import tokenizer_fingerprint

    if units not in UNIT_KINDS:
        raise ValueError(f"unknown units {units!r}; expected one of {list(UNIT_KINDS)}")
    if aggregation not in AGGREGATIONS:
        raise ValueError(f"unknown aggregation {aggregation!r}; expected one of {list(AGGREGATIONS)}")
    if len(caches) < 2 or set(caches) != set(tokenizers):
        raise ValueError(f"need caches and tokenizers of the same >= 2 models, got {sorted(caches)} and "
                         f"{sorted(tokenizers)}")
    names = sorted(caches)
    for m in names:
        if caches[m].meta.get("n_docs", len(stories)) != len(stories):
            raise ValueError(f"activation cache {caches[m].path} of {m} holds {caches[m].meta.get('n_docs')} "
                             f"stories, the corpus {len(stories)}: cached from another corpus?")
    doc_iters = {m: iter_docs(caches[m]) for m in names}
    rows: list[dict[str, Any]] = []
    per_side: dict[str, dict[str, list[np.ndarray]]] = {m: {"x": [], N_TOKENS: [], REASON: []} for m in names}
    chars_total = chars_aligned = 0
    with atomic_path(out_dir) as tmp:
        tmp.mkdir(parents=True)
        writers: dict[str, ShardWriter] = {}
        for doc, text in enumerate(stories):
            spans, window, acts = {}, {}, {}
            for m in names:
                d, x, ids = next(doc_iters[m])
                tok_ids, sp = token_spans(tokenizers[m], text)
                cached = ids[1:]  # position 0 is BOS
                if d != doc or list(cached) != tok_ids[: len(cached)]:
                    raise ValueError(f"activation cache {caches[m].path} of {m} does not hold story {doc} as its "
                                     f"tokenizer encodes it (stale cache, or another corpus/tokenizer?)")
                spans[m], window[m], acts[m] = sp, len(cached), x[1:]
            al = align_text(text, spans, units, window)
            for m in names:
                s = al.sides[m]
                ok = s.reason == OK
                x = aggregate(acts[m], np.where(ok, s.first, -1), s.last, aggregation)
                per_side[m]["x"].append(x)
                per_side[m][N_TOKENS].append(s.n_tokens.astype(np.int32))
                per_side[m][REASON].append(s.reason)
            n = len(al.spans)
            lengths = al.spans[:, 1] - al.spans[:, 0]
            chars_total += int(lengths.sum())
            chars_aligned += int(lengths[al.mask].sum())
            why = ["; ".join(f"{m}: {REASONS[al.sides[m].reason[u]]}" for m in names if al.sides[m].reason[u])
                   for u in range(n)]
            rows += [dict(doc=doc, pos=u, char_start=int(al.spans[u, 0]), char_end=int(al.spans[u, 1]),
                          text=text[al.spans[u, 0] : al.spans[u, 1]], mask=bool(al.mask[u]), reason=why[u])
                     for u in range(n)]
            for m in names:
                extras = {DOC: np.full(n, doc, np.int32), UNIT: np.arange(n, dtype=np.int32),
                          CHAR_START: al.spans[:, 0].astype(np.int32), CHAR_END: al.spans[:, 1].astype(np.int32),
                          N_TOKENS: al.sides[m].n_tokens.astype(np.int32), REASON: al.sides[m].reason,
                          MASK: al.mask.astype(np.uint8)}
                if n:
                    if m not in writers:
                        writers[m] = ShardWriter(tmp / m, caches[m].d, shard_rows, {})
                    writers[m].add(per_side[m]["x"][-1], extras)
                per_side[m]["x"].clear()  # written: keep only the counts
        table = pd.DataFrame(rows, columns=["doc", "pos", "char_start", "char_end", "text", "mask", "reason"])
        if table.empty:
            raise ValueError("no units to align: the stories are empty")
        fingerprint = _unit_fingerprint(table, units)
        report = alignment_report(table, {m: np.concatenate(per_side[m][N_TOKENS]) for m in names},
                                  {m: np.concatenate(per_side[m][REASON]) for m in names}, chars_total, chars_aligned)
        report.update(units=units, aggregation=aggregation, length_cap=length_cap, models=names)
        for m in names:
            w = writers[m]
            w.meta.update({**caches[m].meta, "model": caches[m].meta.get("model", m), "tokenizer": fingerprint,
                           "source_tokenizer": tokenizer_fingerprint(tokenizers[m]), "aggregation": aggregation,
                           "units": units, "length_cap": length_cap, "aligned_models": names,
                           "n_docs": len(stories)})
            w.close()
        table.to_parquet(tmp / UNITS_FILE, index=False)
        _report_table(report).to_parquet(tmp / REPORT_TABLE, index=False)
        (tmp / REPORT_JSON).write_text(strict_json.dumps(report, indent=1))
    return report


def alignment_report(units: pd.DataFrame, n_tokens: dict[str, np.ndarray], reasons: dict[str, np.ndarray],
                     chars_total: int, chars_aligned: int) -> dict[str, Any]:
    """Share of units and of their characters aligned, units dropped per side and reason, and each side's
    tokens-per-unit distribution (over aligned units: {n_tokens: count}, mean, max)."""
    aligned = units["mask"].to_numpy(bool)
    out: dict[str, Any] = {
        "n_units": len(units), "n_aligned": int(aligned.sum()), "share_units_aligned": float(aligned.mean()),
        "share_chars_aligned": chars_aligned / chars_total if chars_total else float("nan"),
        "n_docs": int(units["doc"].nunique()), "dropped": {}, "tokens_per_unit": {}}
    for m in n_tokens:
        out["dropped"][m] = {REASONS[c]: int((reasons[m] == c).sum()) for c in range(1, len(REASONS))}
        k = n_tokens[m][aligned]
        values, counts = np.unique(k, return_counts=True)
        out["tokens_per_unit"][m] = {"counts": {str(int(v)): int(c) for v, c in zip(values, counts, strict=True)},
                                     "mean": float(k.mean()) if len(k) else float("nan"),
                                     "max": int(k.max()) if len(k) else 0}
    out["dropped_any_side"] = int((~aligned).sum())
    return out


def _report_table(report: dict[str, Any]) -> pd.DataFrame:
    """The report's counts as a long table: ``model``, ``kind`` (``tokens_per_unit`` | ``dropped``),
    ``key`` (token count or reason), ``count``."""
    rows = []
    for m, dist in report["tokens_per_unit"].items():
        rows += [dict(model=m, kind="tokens_per_unit", key=k, count=c) for k, c in dist["counts"].items()]
    for m, reasons in report["dropped"].items():
        rows += [dict(model=m, kind="dropped", key=k, count=c) for k, c in reasons.items()]
    return pd.DataFrame(rows, columns=["model", "kind", "key", "count"]).astype({"count": "int64"})


def read_report(aligned_dir: str | Path) -> dict[str, Any]:
    import json

    return json.loads((Path(aligned_dir) / REPORT_JSON).read_text())
