"""Compare two SAEs through pairings of their features: the one comparison path every source uses.

A *source* (synthetic world, language model, your own shards) supplies two row-aligned
activation shard sets, the two SAEs and, optionally, a :class:`PairLabels` that names
subspaces of a pairing. :func:`compare_saes` does the rest and returns rows of the
metrics table (``saegeom.io.tables.METRICS_SCHEMA``).

Representations (ARCHITECTURE.md):
  ``decoder``      items = pairs; X = unit decoder rows of the A latents (n_pairs, d_model_A),
                   Y = those of their B partners (n_pairs, d_model_B);
  ``activations``  items = tokens; X = activations of the paired A latents on held-out tokens
                   (n_tokens, n_pairs), Y = their B partners' on the same tokens;
  ``ground_truth`` (synthetic) items = pairs whose both ends have a true feature; X, Y = those
                   true features in each model's basis — the same measure on what the pairs
                   *are*, so the SAEs' contribution is separable from which pairs were selected.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from saegeom.compare.multiple_testing import gpd_tail_p
from saegeom.compare.rows import Context, _SubspaceFields, degenerate_items, make_row, row_with_null
from saegeom.io.shards import ShardSet, paired_blocks, split_shards
from saegeom.io.tables import METRICS_SCHEMA, validate_metrics
from saegeom.metrics.baselines import NullPools, permutation_tests
from saegeom.metrics.registry import MetricUndefined, get_metric
from saegeom.pairing.correlation import encode_sparse
from saegeom.pairing.saes import as_shards, available_pairings, pair_saes
from saegeom.sae.load import check_input_width, decoder_directions
from saegeom.settings import LABELLED_FAMILIES, CompareSettings, PairingSettings
from saegeom.utils import derive_seed

log = logging.getLogger(__name__)
N_FREQUENCY_BINS = 10
#: what a NaN row keeps of a computed row
NAN_ROW_KEYS = ("subspace", "representation", "pairing", "metric", "baseline", "n_pairs", "n_tokens")


class PairLabels(Protocol):
    """What a source knows about pairs: named subspaces, and (synthetic) their true features."""

    def masks(self, a_idx: np.ndarray, b_idx: np.ndarray) -> dict[str, np.ndarray]:
        """Boolean masks over the pairs (a_idx[i], b_idx[i]), by subspace name; ``all`` first."""
        ...

    def ground_truth(self, a_idx: np.ndarray, b_idx: np.ndarray) -> GroundTruthPairs | None:
        """The pairs' true features, or None where the source has no ground truth."""
        ...

    def extra_pairings(self) -> dict[str, pd.DataFrame]:
        """Pairings the source computes itself (e.g. ``ground_truth``), as pairs tables."""
        ...


@dataclass
class GroundTruthPairs:
    """True features of pairs: ``valid`` (n_pairs,) both ends have one; ``x`` (n_valid, h_A),
    ``y`` (n_valid, h_B) unit rows; ``pool_y`` (G_B, h_B) every true feature of B and
    ``y_pool_idx`` (n_valid,) the row of each partner's feature in it."""

    valid: np.ndarray
    x: np.ndarray
    y: np.ndarray
    pool_y: np.ndarray
    y_pool_idx: np.ndarray


class AllPairs:
    """The default labels: one subspace, ``all``; no ground truth."""

    def masks(self, a_idx: np.ndarray, b_idx: np.ndarray) -> dict[str, np.ndarray]:
        return {"all": np.ones(len(a_idx), bool)}

    def ground_truth(self, a_idx: np.ndarray, b_idx: np.ndarray) -> None:
        return None

    def extra_pairings(self) -> dict[str, pd.DataFrame]:
        return {}


@dataclass
class HeldOut:
    """Both SAEs on the same held-out tokens: ``codes_a`` (n_tokens, d_A), ``codes_b`` (n_tokens, d_B)
    dense, and firing frequencies ``freq_a`` (d_A,), ``freq_b`` (d_B,) over a larger held-out sample
    of ``n_frequency`` tokens. ``reuses_pairing_tokens``: the shard set has one shard, so these are the
    tokens that paired the latents (activation p-values are then NaN with :data:`REUSED_TOKENS_NOTE`)."""

    codes_a: np.ndarray
    codes_b: np.ndarray
    freq_a: np.ndarray
    freq_b: np.ndarray
    n_frequency: int
    reuses_pairing_tokens: bool = False
    #: (n_tokens,) length class of each row when the rows are aligned units of a cross-tokenizer comparison
    #: (``saegeom.metrics.baselines.length_classes``; the ``unit_shuffle`` null), else None
    row_classes: np.ndarray | None = None


#: note of activation rows whose held-out tokens are the pairing tokens (their p-values are NaN: the
#: pairing chose partners that agree on exactly these tokens, which no null redraws)
REUSED_TOKENS_NOTE = ("held-out tokens are the pairing tokens (one shard): no p-value; write at least two shards "
                      "so that one is held out")


def held_out_codes(acts_a: ShardSet | str | Path, acts_b: ShardSet | str | Path, sae_a, sae_b, n_tokens: int,
                   device: str = "cpu", frequency_rows: int = 16384) -> HeldOut:
    """Codes of both SAEs on the first ``n_tokens`` unmasked rows of the held-out (last) shard
    (rows masked in either model are dropped from both), and both firing frequencies on up to
    ``max(n_tokens, frequency_rows)`` such rows."""
    sa, sb = as_shards(acts_a), as_shards(acts_b)
    train_ids, eval_ids = split_shards(sa)
    if train_ids == eval_ids:
        log.warning("%s has a single shard: the activations representation reuses the tokens that paired the "
                    "latents (write at least two shards to hold one out)", sa.path)
    blocks = list(paired_blocks(sa, sb, eval_ids, max(n_tokens, frequency_rows)))
    xa, xb = (np.concatenate([blk[i] for blk in blocks]) for i in (0, 1))
    za, zb = encode_sparse(sae_a, xa, device), encode_sparse(sae_b, xb, device)
    freq_a, freq_b = (np.asarray((z != 0).mean(axis=0)).ravel() for z in (za, zb))
    return HeldOut(za[:n_tokens].toarray(), zb[:n_tokens].toarray(), freq_a, freq_b, len(xa),
                   reuses_pairing_tokens=train_ids == eval_ids,
                   row_classes=unit_length_classes(sa, sb, eval_ids, n_tokens))


def unit_length_classes(a: ShardSet, b: ShardSet, shard_ids: list[int], n_rows: int) -> np.ndarray | None:
    """(≤ n_rows,) length class of the first ``n_rows`` rows unmasked in both sets (the rows
    :func:`held_out_codes` encodes), when both are aligned unit sets (``saegeom.lm.alignment``: per-row
    ``n_tokens``, ``length_cap`` in the metadata); None otherwise."""
    from saegeom.io.shards import MASK, N_TOKENS
    from saegeom.metrics.baselines import length_classes

    cap = a.meta.get("length_cap")
    if cap is None or b.meta.get("length_cap") != cap:
        return None
    na, nb = [], []
    for i in shard_ids:
        xa, xb = a.shard_arrays(i), b.shard_arrays(i)
        keep = xa[MASK].astype(bool) & xb[MASK].astype(bool)
        na.append(xa[N_TOKENS][keep])
        nb.append(xb[N_TOKENS][keep])
    return length_classes(np.concatenate(na)[:n_rows], np.concatenate(nb)[:n_rows], int(cap))


def frequency_bins(freq: np.ndarray, n_bins: int = N_FREQUENCY_BINS) -> np.ndarray:
    """(d,) bin of each latent by rank of firing frequency (equal-count bins; ties by index)."""
    rank = np.empty(len(freq), np.int64)
    rank[np.argsort(freq, kind="stable")] = np.arange(len(freq))
    return rank * n_bins // max(len(freq), 1)


def _family(subspace: str) -> str:
    return subspace.split(":", 1)[0]


def nulls_for(settings: CompareSettings, rep: str, subspace: str, metric: str) -> list[str]:
    """The configured nulls that mean something for this (representation, subspace, metric)."""
    out = []
    for b in settings.baselines.get(rep, []):
        if b == "random_subset" and subspace == "all":
            continue  # a random subset of everything is everything
        if b == "mismatched_subspace" and _family(subspace) not in LABELLED_FAMILIES:
            continue
        if b == "repairing" and not get_metric(metric).pairing_sensitive:
            continue  # re-pairing does not move a pairing-free measure
        out.append(b)
    return out


def _take(m: np.ndarray, mask: np.ndarray, axis: int) -> np.ndarray:
    return m[mask] if axis == 0 else m[:, mask]


def representation_rows(ctx: Context, rep: str, pairing: str, x_all: np.ndarray, y_all: np.ndarray, axis: int,
                        subspaces: dict[str, np.ndarray], settings: CompareSettings, *,
                        b_pool: np.ndarray | None = None, b_pool_bins: np.ndarray | None = None,
                        y_pool_idx: np.ndarray | None = None, n_tokens: float = float("nan"),
                        skip: frozenset[tuple[str, str]] = frozenset(),
                        pair_ids: np.ndarray | None = None,
                        row_classes: np.ndarray | None = None) -> list[dict[str, Any]]:
    """Rows of one representation for one pairing.

    ``x_all``/``y_all`` hold every pair along ``axis`` (0: rows are pairs, 1: columns are pairs);
    ``subspaces``: boolean masks over pairs, ``all`` the pairs every subspace is drawn from (the
    ``random_subset`` null draws among them; default every pair); ``b_pool``: every live B item along ``axis`` (the
    ``random_partners`` null), ``b_pool_bins`` its frequency bins and ``y_pool_idx`` (n_pairs,) each
    partner's position in it (−1 if absent); ``skip``: (subspace, metric) reported elsewhere;
    ``pair_ids``: (n_pairs,) an id per distinct (A latent, B latent) pair (``n_distinct_pairs``;
    default: every pair distinct); ``row_classes``: (n_rows,) length class of each row when the rows are
    aligned units (activations of a cross-tokenizer comparison: the ``unit_shuffle`` null).
    """
    rows = []
    universe = subspaces.get("all", np.ones(x_all.shape[axis], bool))  # what random_subset draws from
    ux, uy = _take(x_all, universe, axis), _take(y_all, universe, axis)
    for sub, mask in subspaces.items():
        x, y = _take(x_all, mask, axis), _take(y_all, mask, axis)
        idx = None if y_pool_idx is None else y_pool_idx[mask]
        bins = b_pool_bins if settings.match_frequency and idx is not None else None
        n_distinct = int(mask.sum()) if pair_ids is None else len(np.unique(pair_ids[mask]))
        y_bins = None if bins is None or idx is None else np.where(idx >= 0, bins[np.maximum(idx, 0)], -1)
        pools = NullPools(axis=axis, pairs_x=ux, pairs_y=uy, b_pool=b_pool, b_pool_bins=bins,
                          y_pool_idx=idx, y_bins=y_bins,
                          others=[_take(y_all, m, axis) for s, m in subspaces.items()
                                  if s != sub and _family(s) == _family(sub) and m.any()],
                          row_classes=row_classes)
        n_pairs = int(mask.sum())
        wanted = [m for m in settings.metrics.get(rep, []) if (sub, m) not in skip]
        nulls = list(dict.fromkeys(b for m in wanted for b in nulls_for(settings, rep, sub, m)))
        by_key: dict[tuple[str, str], dict[str, Any]] = {}
        for null in nulls:
            if null == "mismatched_subspace" and not pools.others:
                continue
            metrics = [m for m in wanted if null in nulls_for(settings, rep, sub, m)]
            for r in rows_with_null_stream(
                    ctx, x, y, metrics=metrics, subspace=sub, representation=rep, pairing=pairing,
                    n_baseline=settings.n_baseline, baseline=null, n_pairs=n_pairs, min_pairs=settings.min_pairs,
                    n_tokens=n_tokens, pools=pools, n_distinct_pairs=n_distinct,
                    min_valid_fraction=settings.min_valid_fraction,
                    seed=null_stream_seed(ctx, pairing, rep, sub, null), metric_options=settings.metric_options):
                by_key[(r["metric"], null)] = r
        rows += [by_key[(m, b)] for m in wanted for b in nulls_for(settings, rep, sub, m) if (m, b) in by_key]
    return rows


def null_stream_seed(ctx: Context, pairing: str, rep: str, subspace: str, null: str) -> int:
    """Seed of the one null stream of (comparison, pairing, representation, subspace, null): every
    metric of that subspace is evaluated on the same draws (no metric in the seed)."""
    return derive_seed(ctx.seed, ctx.comparison, pairing, rep, subspace, null)


def rows_with_null_stream(ctx: Context, x: np.ndarray, y: np.ndarray, *, metrics: list[str], subspace: str,
                          representation: str, pairing: str, n_baseline: int, baseline: str, seed: int,
                          n_pairs: int, min_pairs: int = 2, n_tokens: float = float("nan"),
                          pools: NullPools | None = None, min_valid_fraction: float = 0.5,
                          n_distinct_pairs: int | None = None,
                          metric_options: dict[str, dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """One row per metric of ``metrics`` against the null ``baseline``, all on ONE stream of null draws
    (``saegeom.metrics.baselines.permutation_tests``): the rows of :func:`~saegeom.compare.rows.row_with_null`
    (the same NaN rows with a note for too few pairs, degenerate items or an undefined metric), with
    the null drawn once instead of once per metric."""
    options = metric_options or {}
    n_distinct_pairs = n_pairs if n_distinct_pairs is None else n_distinct_pairs

    def common(metric: str) -> _SubspaceFields:
        return _SubspaceFields(subspace=subspace, representation=representation, pairing=pairing, metric=metric,
                               baseline=baseline, n_items=len(x), n_pairs=n_pairs,
                               n_distinct_pairs=n_distinct_pairs, n_tokens=n_tokens)

    if not metrics:
        return []
    if n_pairs < min_pairs:
        return [make_row(ctx, **common(m), note=f"too few pairs ({n_pairs} < {min_pairs})") for m in metrics]
    if n_distinct_pairs < min_pairs:
        return [make_row(ctx, **common(m), note=f"too few distinct pairs ({n_distinct_pairs} of {n_pairs} pairs are "
                                                f"distinct, < {min_pairs}): the pairing repeats a latent pair")
                for m in metrics]
    why = degenerate_items(x, y)
    if why:
        log.info("%s %s %s: degenerate items (%s)", pairing, representation, subspace, why)
        return [make_row(ctx, **common(m), note=f"{m} undefined: {why}") for m in metrics]
    results = permutation_tests({m: options.get(m, {}) for m in metrics}, x, y, n_baseline=n_baseline,
                                baseline=baseline, seed=seed, pools=pools, min_valid_fraction=min_valid_fraction)
    rows = []
    for m in metrics:
        r = results[m]
        if isinstance(r, MetricUndefined):
            log.info("%s %s %s %s: undefined (%s)", pairing, representation, subspace, m, r)
            rows.append(make_row(ctx, **common(m), note=str(r)))
            continue
        if not np.isfinite(r.value):
            rows.append(make_row(ctx, **common(m), note=f"{m} gave a non-finite value on these items"))
            continue
        p_tail = (gpd_tail_p(r.value, r.samples, get_metric(m).higher_is_similar)[0]
                  if np.isfinite(r.p_value) else float("nan"))
        rows.append(make_row(ctx, **common(m), value=r.value, baseline_mean=r.baseline_mean,
                             baseline_std=r.baseline_std, p_value=r.p_value, p_value_gpd=p_tail,
                             n_baseline=r.n_baseline, n_baseline_valid=r.n_valid,
                             n_baseline_distinct=r.n_distinct, note=r.note))
    return rows


def _pool_positions(live: np.ndarray, latents: np.ndarray) -> np.ndarray:
    """Position of each latent in the sorted index array ``live`` (−1 where absent)."""
    if not len(live):
        return np.full(len(latents), -1, np.int64)
    pos = np.minimum(np.searchsorted(live, latents), len(live) - 1)
    return np.where(live[pos] == latents, pos, -1)


def random_subspaces(universe: np.ndarray, n: int, size: int, seed: int) -> dict[str, np.ndarray]:
    """``random:<i>`` for i < n: masks of ``size`` pairs drawn without replacement among ``universe``
    (a boolean mask over pairs); none when the universe has fewer than ``size`` pairs."""
    where = np.flatnonzero(universe)
    if n == 0 or len(where) < size:
        return {}
    rng = np.random.default_rng(seed)
    out = {}
    for i in range(n):
        m = np.zeros(len(universe), bool)
        m[rng.choice(where, size, replace=False)] = True
        out[f"random:{i}"] = m
    return out


def pairing_rows(ctx: Context, pairing: str, pairs: pd.DataFrame, dec_a: np.ndarray, dec_b: np.ndarray,
                 held: HeldOut | None, labels: PairLabels, settings: CompareSettings) -> list[dict[str, Any]]:
    """Every row of one pairing: subspaces × representations × metrics × nulls."""
    ia, ib = pairs["a_idx"].to_numpy(np.int64), pairs["b_idx"].to_numpy(np.int64)
    subspaces = labels.masks(ia, ib)
    n_random = settings.random_subspaces
    randoms = random_subspaces(subspaces.get("all", np.ones(len(ia), bool)), max(n_random.values(), default=0),
                               settings.random_subspace_size, derive_seed(ctx.seed, ctx.comparison, pairing,
                                                                          "random_subspaces"))

    def subspaces_of(rep: str) -> dict[str, np.ndarray]:  # random:<i> for i < that representation's count
        return subspaces | {k: m for k, m in randoms.items() if int(k.split(":")[1]) < n_random.get(rep, 0)}

    rows: list[dict[str, Any]] = []
    freq = held.freq_b if held is not None else np.ones(len(dec_b))
    live_b = np.flatnonzero(freq > 0)
    bins = frequency_bins(freq[live_b])
    pos = _pool_positions(live_b, ib)
    pair_ids = np.unique(np.stack([ia, ib], axis=1), axis=0, return_inverse=True)[1].ravel() if len(ia) else ia
    if "decoder" in settings.metrics:
        skip = frozenset({("all", "mmcs")}) if pairing == "decoder_cosine" else frozenset()
        rows += representation_rows(ctx, "decoder", pairing, dec_a[ia], dec_b[ib], 0, subspaces_of("decoder"),
                                    settings,
                                    b_pool=dec_b[live_b], b_pool_bins=bins, y_pool_idx=pos, skip=skip,
                                    pair_ids=pair_ids)
    if "activations" in settings.metrics and held is not None:
        act = representation_rows(ctx, "activations", pairing, held.codes_a[:, ia], held.codes_b[:, ib], 1,
                                  subspaces_of("activations"), settings, b_pool=held.codes_b[:, live_b],
                                  b_pool_bins=bins, y_pool_idx=pos, n_tokens=held.codes_a.shape[0], pair_ids=pair_ids,
                                  row_classes=held.row_classes)
        if held.reuses_pairing_tokens:
            act = [withhold_p_value(r, REUSED_TOKENS_NOTE) for r in act]
        rows += act
    gt = labels.ground_truth(ia, ib) if "ground_truth" in settings.metrics else None
    if gt is not None:
        gt_subspaces = {s: m[gt.valid] for s, m in subspaces_of("ground_truth").items()}
        rows += representation_rows(ctx, "ground_truth", pairing, gt.x, gt.y, 0, gt_subspaces, settings,
                                    b_pool=gt.pool_y, y_pool_idx=gt.y_pool_idx, pair_ids=pair_ids[gt.valid])
    return rows


def withhold_p_value(row: dict[str, Any], note: str) -> dict[str, Any]:
    """The row with its p-value NaN and ``note`` prepended (the value and the null's summary stay)."""
    if pd.isna(row["p_value"]) and row["note"]:
        return row | {"note": f"{note}; {row['note']}"}
    return row | {"p_value": float("nan"), "p_value_gpd": float("nan"),
                  "note": "; ".join(filter(None, [note, row["note"]]))}


def whole_dictionary_rows(ctx: Context, dec_a: np.ndarray, dec_b: np.ndarray,
                          settings: CompareSettings) -> list[dict[str, Any]]:
    """MMCS of the whole dictionaries (every decoder row of A → best row of B) against random
    directions; reported as pairing ``decoder_cosine``, subspace ``all`` (NaN with a note when the
    widths differ)."""
    if "mmcs" not in settings.metrics.get("decoder", []):
        return []
    return [row_with_null(ctx, dec_a, dec_b, metric="mmcs", subspace="all", representation="decoder",
                          pairing="decoder_cosine", n_baseline=settings.n_baseline, baseline="random_directions",
                          n_pairs=len(dec_a), min_pairs=1, min_valid_fraction=settings.min_valid_fraction,
                          seed=derive_seed(ctx.seed, ctx.comparison, "whole_dictionary_mmcs"))]


def compare_saes(acts_a: ShardSet | str | Path, acts_b: ShardSet | str | Path, sae_a, sae_b, *,
                 pairs: pd.DataFrame | None = None, subspaces: PairLabels | None = None,
                 settings: CompareSettings | None = None, pairing: PairingSettings | None = None,
                 context: Context | None = None, device: str = "cpu") -> pd.DataFrame:
    """Every row of one A-vs-B comparison, as a validated metrics table.

    ``acts_a``/``acts_b``: row-aligned shard sets (paths or ``ShardSet``) of the two models on the same
    tokens; the last shard is held out for the ``activations`` representation and the rest pair the
    latents. ``pairs``: a pairs table (``saegeom.pairing.PAIRS_SCHEMA``); computed with ``pairing``
    when None. Every pairing of ``pairing.pairings`` gets its rows (NaN rows with a note where it
    kept no pairs). ``subspaces``: the source's :class:`PairLabels` (default: ``all`` only).
    """
    settings = settings or CompareSettings()
    labels = subspaces or AllPairs()
    context = context or Context()
    extra = labels.extra_pairings()
    for sae, acts, side in ((sae_a, acts_a, "A"), (sae_b, acts_b, "B")):
        check_input_width(sae, as_shards(acts), side)
    held = held_out_codes(acts_a, acts_b, sae_a, sae_b, settings.n_tokens, device)
    dead = [side for side, f in (("A", held.freq_a), ("B", held.freq_b)) if not (f > 0).any()]
    dead_note = f"no live latents: SAE {' and '.join(dead)} fired on none of {held.n_frequency} held-out tokens"
    if pairs is None:
        pairs = pair_saes(acts_a, acts_b, sae_a, sae_b, pairing, device=device, extra=extra)
    dec_a, dec_b = decoder_directions(sae_a), decoder_directions(sae_b)
    held_acts = held if "activations" in settings.metrics else None
    del held  # without activation rows the held-out codes are freed here
    rows = whole_dictionary_rows(context, dec_a, dec_b, settings)
    names = list(dict.fromkeys(pairs["pairing"]))
    if pairing is not None:  # configured pairings that kept no pair still get (NaN) rows
        available = available_pairings(dec_a, dec_b, extra)
        names += [m for m in pairing.pairings if m not in names and m in available]
    for name in names:
        p = pairs[pairs["pairing"] == name].reset_index(drop=True)
        log.info("pairing %s: %d pairs", name, len(p))
        rows += pairing_rows(context, name, p, dec_a, dec_b, held_acts, labels, settings)
    if dead:  # nothing to compare: keep the rows (the table says what was asked) but not their numbers
        rows = [make_row(context, **{k: r[k] for k in NAN_ROW_KEYS}, note=dead_note) for r in rows]
    return validate_metrics(pd.DataFrame(rows, columns=METRICS_SCHEMA.names))

