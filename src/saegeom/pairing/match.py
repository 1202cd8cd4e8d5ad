"""Turn correlations (or decoder cosines) into feature pairs.

Methods (column ``pairing`` of the pairs table):
  ``many_to_one``  each live latent of B → its best-correlated latent of A
                   (several B latents may share an A partner);
  ``one_to_one``   many_to_one, then for each A latent only the B latent with the
                   highest correlation is kept (not the first index);
  ``hungarian``    optimal one-to-one assignment maximising total *positive* correlation
                   (a negative correlation is no evidence of correspondence, and letting it
                   into the objective trades a strong positive pair for two weak ones). Solved
                   on the sparse graph of positive correlations (scipy
                   ``min_weight_full_bipartite_matching``, LAPJVsp: any width, memory ∝ co-firing
                   pairs; :func:`assign_positive_sparse`); ``linear_sum_assignment`` on the dense
                   clipped matrix (:func:`assign_positive`) is the plain version it is tested against;
  ``decoder_cosine`` each B latent → A latent with the highest decoder cosine
                   (needs equal widths: both SAEs read the same space).
Pairs scoring below ``min_corr`` are dropped; dead latents are never paired.
Correlation pairing keeps only positive correlations, so ``min_corr`` ≥ 0.
:func:`calibrated_min_corr` turns ``min_corr: auto`` into a number from the
token-shifted correlations (see ``saegeom.settings.PairingSettings``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import scipy.sparse as sp
from scipy.optimize import linear_sum_assignment
from scipy.sparse.csgraph import min_weight_full_bipartite_matching

from saegeom.io.tables import write_table
from saegeom.pairing.correlation import CoactivationStats
from saegeom.settings import CORRELATION_PAIRINGS

PAIRS_SCHEMA = pa.schema([("a_idx", pa.int64()), ("b_idx", pa.int64()), ("score", pa.float64()),
                          ("pairing", pa.string()), ("min_score", pa.float64())])


def _frame(a, b, score, pairing: str, min_score: float = float("nan")) -> pd.DataFrame:
    return pd.DataFrame({"a_idx": np.asarray(a, np.int64), "b_idx": np.asarray(b, np.int64),
                         "score": np.asarray(score, np.float64), "pairing": pairing, "min_score": float(min_score)})


def best_partners(stats: CoactivationStats) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every live B latent with a positive correlation: (best A latent, B latent, r)."""
    corr = stats.correlation_sparse().tocsc()
    a_idx, b_idx, score = [], [], []
    for j in np.flatnonzero(stats.alive_b):
        lo, hi = corr.indptr[j], corr.indptr[j + 1]
        if lo == hi:
            continue
        k = lo + int(np.argmax(corr.data[lo:hi]))
        if corr.data[k] > 0:
            a_idx.append(corr.indices[k])
            b_idx.append(j)
            score.append(corr.data[k])
    return np.array(a_idx, np.int64), np.array(b_idx, np.int64), np.array(score)


def calibrated_min_corr(stats: CoactivationStats, quantile: float = 0.99) -> float:
    """``min_corr: auto``: the ``quantile`` of every live B latent's best positive correlation with
    A when B's tokens are shifted (``stats.shifted``; 0 for a B latent without one).

    Under the shift no pair shares anything, so a kept pair beats what chance pairing reaches
    for at least ``quantile`` of B's latents.
    """
    if stats.shifted is None:
        raise ValueError("min_corr 'auto' needs the token-shifted statistics (coactivation_stats(shifted=True))")
    _, b, s = best_partners(stats.shifted)
    best = np.zeros(int(stats.shifted.alive_b.sum()))
    best[: len(s)] = s
    return float(np.quantile(best, quantile)) if len(best) else 0.0


def assign_positive(corr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Optimal one-to-one (rows, cols) maximising the total of ``max(corr, 0)``; NaN counts as 0.

    Pairs whose correlation is ≤ 0 come back too and are dropped by the caller.
    """
    r, c = linear_sum_assignment(np.clip(np.nan_to_num(corr, nan=0.0), 0.0, None), maximize=True)
    return r, c


def assign_positive_sparse(corr: sp.spmatrix) -> tuple[np.ndarray, np.ndarray]:
    """Optimal one-to-one (rows, cols) maximising the total positive correlation, from the sparse
    (d_A, d_B) correlations of co-firing pairs (entries ≤ 0 or NaN are no edge).

    Same objective as :func:`assign_positive`, but only positive pairs are edges, so a latent may
    stay unmatched. LAPJVsp needs a *full* matching, so the graph is augmented (rows A ∪ B',
    columns B ∪ A'): a real edge (a, b) costs c − w_ab, every a has a dummy partner a' and every
    b a dummy b', each at cost c, and b'–a' edges (cost c) on the transpose pattern free the
    dummies of a matched pair. Every full matching has |A| + |B| edges, so it costs
    c·(|A| + |B|) − Σ w over the real pairs: minimising it maximises the positive total, and
    c = 1 + max w keeps every weight > 0 (LAPJVsp rejects zeros).
    """
    c = sp.coo_matrix(corr)
    keep = np.isfinite(c.data) & (c.data > 0)
    r, k, w = c.row[keep], c.col[keep], c.data[keep].astype(np.float64)
    if not len(w):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    d_a, d_b = c.shape
    big = 1.0 + w.max()
    rows = np.concatenate([r, np.arange(d_a), d_a + np.arange(d_b), d_a + k])
    cols = np.concatenate([k, d_b + np.arange(d_a), np.arange(d_b), d_b + r])
    vals = np.concatenate([big - w, np.full(d_a + d_b + len(w), big)])
    graph = sp.csr_matrix((vals, (rows, cols)), shape=(d_a + d_b, d_b + d_a))
    ri, ci = min_weight_full_bipartite_matching(graph)
    real = (ri < d_a) & (ci < d_b)
    return ri[real].astype(np.int64), ci[real].astype(np.int64)


def pair_features(stats: CoactivationStats, method: str = "one_to_one", min_corr: float | str = 0.0,
                  max_dense_bytes: float = 4 * 2**30, quantile: float = 0.99,
                  dense_assignment: bool = False) -> pd.DataFrame:
    """Pairs (a_idx, b_idx, score = Pearson r, pairing, min_score), sorted by b_idx.

    ``dense_assignment``: ``hungarian`` on the dense matrix (limited by ``max_dense_bytes``) instead
    of the sparse positive-correlation graph; the same pairs, kept as the reference.

    ``min_corr``: a number ≥ 0 or ``"auto"`` (:func:`calibrated_min_corr` at ``quantile``); the
    threshold used is stored in column ``min_score``.
    """
    if isinstance(min_corr, str):
        if min_corr != "auto":
            raise ValueError(f"min_corr must be a number >= 0 or 'auto', got {min_corr!r}")
        min_corr = calibrated_min_corr(stats, quantile)
    if min_corr < 0:
        raise ValueError(f"min_corr must be >= 0 (only positive correlations are paired), got {min_corr}")
    if method in ("many_to_one", "one_to_one"):
        a, b, s = best_partners(stats)
        if method == "one_to_one" and len(a):
            order = np.lexsort((b, -s, a))  # by A latent, best score first, ties by B index
            first = np.ones(len(order), bool)
            first[1:] = a[order][1:] != a[order][:-1]
            keep = np.sort(order[first])
            a, b, s = a[keep], b[keep], s[keep]
    elif method == "hungarian":
        if dense_assignment:  # the plain version: dense clipped matrix, linear_sum_assignment
            live_a, live_b = np.flatnonzero(stats.alive_a), np.flatnonzero(stats.alive_b)
            corr = stats.correlation_dense(max_dense_bytes)[np.ix_(live_a, live_b)].astype(np.float64)
            r, c = assign_positive(corr)
            a, b, s = live_a[r], live_b[c], corr[r, c]
        else:
            corr = stats.correlation_sparse().tocsr()
            a, b = assign_positive_sparse(corr)
            s = np.asarray(corr[a, b]).ravel() if len(a) else np.zeros(0)
    else:
        raise ValueError(f"unknown correlation pairing {method!r}; expected one of {CORRELATION_PAIRINGS}")
    positive = (s > 0) & (s >= min_corr)
    df = _frame(a[positive], b[positive], s[positive], method, min_corr)
    return df.sort_values("b_idx", kind="stable").reset_index(drop=True)


def decoder_cosine_pairs(dec_a: np.ndarray, dec_b: np.ndarray, min_cos: float = 0.0,
                         alive_a: np.ndarray | None = None, alive_b: np.ndarray | None = None,
                         chunk: int = 4096) -> pd.DataFrame:
    """Each B latent → the A latent with the highest decoder cosine (many-to-one).

    ``dec_*``: (d_sae, d_model) unit-norm decoder rows; widths must match.
    Computed in chunks of B rows so no d_A × d_B matrix is held at once.
    """
    if dec_a.shape[1] != dec_b.shape[1]:
        raise ValueError(f"decoder_cosine pairing needs one space: widths {dec_a.shape[1]} and {dec_b.shape[1]}")
    live_a = np.flatnonzero(alive_a) if alive_a is not None else np.arange(len(dec_a))
    live_b = np.flatnonzero(alive_b) if alive_b is not None else np.arange(len(dec_b))
    best_a, best = np.empty(len(live_b), np.int64), np.empty(len(live_b))
    for start in range(0, len(live_b), chunk):
        cos = dec_b[live_b[start : start + chunk]] @ dec_a[live_a].T
        k = cos.argmax(axis=1)
        best_a[start : start + chunk] = live_a[k]
        best[start : start + chunk] = cos[np.arange(len(k)), k]
    keep = best >= min_cos
    return _frame(best_a[keep], live_b[keep], best[keep], "decoder_cosine")


def write_pairs(df: pd.DataFrame, path: str | Path) -> None:
    write_table(df[PAIRS_SCHEMA.names], path, PAIRS_SCHEMA)


def read_pairs(path: str | Path) -> pd.DataFrame:
    return pq.read_table(path).to_pandas()
