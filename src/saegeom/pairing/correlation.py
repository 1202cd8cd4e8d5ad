"""Pearson correlation between every latent of SAE A and every latent of SAE B,
streamed over row-aligned shards and exploiting the sparsity of SAE codes.

For latents i (of A) and j (of B) over N tokens,

    corr_ij = (S_ij / N − μ_i μ_j) / (σ_i σ_j),   S_ij = Σ_t a_ti b_tj.

Only S needs a pass over pairs, and S_ij ≠ 0 only when i and j co-fire, so S is
accumulated as a scipy sparse matrix (per batch: sparse Aᵀ B). Codes are never
materialised for all N tokens, and the dense d_A × d_B matrix only when asked.

SAE latents are non-negative (ReLU, TopK, JumpReLU), so for a pair that never
co-fires corr_ij = −μ_i μ_j / (σ_i σ_j) ≤ 0: every positive correlation sits in
the sparse pattern of S, which is exactly what best-partner pairing needs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from tqdm.auto import tqdm

from saegeom.io.shards import ShardSet, paired_blocks
from saegeom.sae.encode import encode_batches, encode_rows


def encode_sparse(sae, x: np.ndarray, device: str = "cpu", batch_size: int = 2048) -> sp.csr_matrix:
    """SAE codes of rows ``x`` (n, d_in) as a CSR matrix (n, d_sae), float32 (``saegeom.sae.encode``)."""
    parts = [sp.csr_matrix(z.cpu().numpy()) for z in encode_batches(sae, x, device, batch_size, nonnegative=True)]
    return sp.vstack(parts, format="csr") if parts else sp.csr_matrix((0, sae.cfg.d_sae), dtype=np.float32)


@dataclass
class CoactivationStats:
    """Sufficient statistics for the A × B latent correlation matrix.

    ``sum_*``/``sumsq_*``/``count_*``: (d,) per-latent Σ z, Σ z², #tokens fired;
    ``cross``: (d_A, d_B) sparse Σ_t a_ti b_tj (float64); ``n``: tokens.
    """

    n: int
    sum_a: np.ndarray
    sumsq_a: np.ndarray
    count_a: np.ndarray
    sum_b: np.ndarray
    sumsq_b: np.ndarray
    count_b: np.ndarray
    cross: sp.csr_matrix
    shifted: CoactivationStats | None = None  # the same with B's tokens circularly shifted (alignment destroyed)
    #: None: ``cross`` holds every co-firing pair. An int m: ``cross`` holds only the pairs of positive
    #: correlation that are among the m best of their B latent or of their A latent (and always each
    #: B latent's best one), as :func:`bounded_coactivation_stats` keeps them
    kept_partners: int | None = None

    @property
    def alive_a(self) -> np.ndarray:
        """(d_A,) latents that fired at least once (and so have a defined correlation)."""
        return self.count_a > 0

    @property
    def alive_b(self) -> np.ndarray:
        return self.count_b > 0

    def _moments(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        mu_a, mu_b = self.sum_a / self.n, self.sum_b / self.n
        sd_a = np.sqrt(np.maximum(self.sumsq_a / self.n - mu_a**2, 0.0))
        sd_b = np.sqrt(np.maximum(self.sumsq_b / self.n - mu_b**2, 0.0))
        return mu_a, mu_b, sd_a, sd_b

    def correlation_sparse(self) -> sp.csr_matrix:
        """Correlations of co-firing pairs only (the sparsity pattern of ``cross``), CSR (d_A, d_B).

        With ``kept_partners`` set, only the kept pairs (see :class:`CoactivationStats`)."""
        mu_a, mu_b, sd_a, sd_b = self._moments()
        c = self.cross.tocoo()
        den = sd_a[c.row] * sd_b[c.col]
        with np.errstate(divide="ignore", invalid="ignore"):
            val = (c.data / self.n - mu_a[c.row] * mu_b[c.col]) / den  # bounded_coactivation_stats ranks
        val[den == 0] = 0.0  # pairs by this same expression, element for element
        return sp.csr_matrix((val, (c.row, c.col)), shape=c.shape)

    def correlation_dense(self, max_bytes: float = 4 * 2**30) -> np.ndarray:
        """Full (d_A, d_B) correlation matrix, float32; dead latents get NaN.

        Raises before allocating when it would exceed ``max_bytes``.
        """
        d_a, d_b = len(self.sum_a), len(self.sum_b)
        if self.kept_partners is not None:
            raise ValueError(f"these statistics keep only each latent's {self.kept_partners} best partners "
                             "(bounded pairing memory); a dense correlation matrix needs the complete sums")
        if d_a * d_b * 4 > max_bytes:
            raise MemoryError(f"dense {d_a}×{d_b} correlation needs {d_a * d_b * 4 / 2**30:.1f} GiB "
                              f"> max_bytes {max_bytes / 2**30:.1f} GiB; use sparse pairing")
        mu_a, mu_b, sd_a, sd_b = self._moments()
        out = (-np.outer(mu_a, mu_b)).astype(np.float32)
        c = self.cross.tocoo()
        out[c.row, c.col] += (c.data / self.n).astype(np.float32)
        with np.errstate(divide="ignore", invalid="ignore"):
            out /= np.outer(sd_a, sd_b).astype(np.float32)
        out[~self.alive_a] = np.nan
        out[:, ~self.alive_b] = np.nan
        return out


#: a host accumulator sums co-activations in a dense (d_A, d_B) float64 array up to this size
#: (16384 × 16384 = 2 GiB), and in folded sparse batches beyond it
DENSE_CROSS_BYTES = 2 * 2**30


class CoactivationAccumulator:
    """Running sums behind :class:`CoactivationStats`; feed it row-aligned sparse code batches.

    Each batch's product Aᵀ B is sparse (scipy ``csr_matmat``, cost Σ_t L0_A(t)·L0_B(t)). Its
    entries are added into a dense float64 (d_A, d_B) array when that fits ``dense_bytes``
    (scatter-add of unique positions: no re-sorting of a growing sparse sum), otherwise kept
    pending and folded into a sparse running sum once they outnumber ``fold_factor`` × the
    sum's entries (at least ``fold_min_nnz``). Both give the same sums (``dense_bytes=0``
    forces the sparse one). Profile at d = 16384, L0 = 32 (2 cores): folding 28M entries took 80%
    of the sparse run (COO→CSR, index sorting); the dense scatter removes it.
    """

    fold_factor = 4
    fold_min_nnz = 2**22

    def __init__(self, d_a: int, d_b: int, dense_bytes: float = DENSE_CROSS_BYTES):
        self.n = 0
        self.acc = dict(sum_a=np.zeros(d_a), sumsq_a=np.zeros(d_a), count_a=np.zeros(d_a, np.int64),
                        sum_b=np.zeros(d_b), sumsq_b=np.zeros(d_b), count_b=np.zeros(d_b, np.int64))
        self.cross = sp.csr_matrix((d_a, d_b), dtype=np.float64)
        self.dense = np.zeros(d_a * d_b) if d_a * d_b * 8 <= dense_bytes else None
        self._pending: list[sp.coo_matrix] = []
        self._pending_nnz = 0

    def _fold(self) -> None:
        """Sum pending batch products into ``cross`` in one COO→CSR pass (duplicates add up),
        instead of re-allocating the running sum after every batch."""
        if not self._pending:
            return
        parts = [self.cross.tocoo(), *self._pending]
        rows = np.concatenate([p.row for p in parts])
        cols = np.concatenate([p.col for p in parts])
        data = np.concatenate([p.data for p in parts])
        self.cross = sp.csr_matrix((data, (rows, cols)), shape=self.cross.shape)
        self.cross.sum_duplicates()
        self._pending, self._pending_nnz = [], 0

    def update(self, za: sp.csr_matrix, zb: sp.csr_matrix) -> None:
        """Add one batch: ``za`` (n, d_A) and ``zb`` (n, d_B) codes of the same n tokens."""
        if za.shape[0] != zb.shape[0]:
            raise ValueError(f"batches are not row-aligned: {za.shape[0]} vs {zb.shape[0]} rows")
        za, zb = za.astype(np.float64), zb.astype(np.float64)
        for side, z in (("a", za), ("b", zb)):
            self.acc[f"sum_{side}"] += np.asarray(z.sum(0)).ravel()
            self.acc[f"sumsq_{side}"] += np.asarray(z.multiply(z).sum(0)).ravel()
            self.acc[f"count_{side}"] += np.bincount(z.indices, minlength=z.shape[1])
        prod = (za.T.tocsr() @ zb).tocoo()
        if self.dense is not None:  # a product's entries are unique, so fancy-index += adds each once
            self.dense[prod.row.astype(np.int64) * zb.shape[1] + prod.col] += prod.data
        else:
            self._pending.append(prod)
            self._pending_nnz += prod.nnz
            if self._pending_nnz > max(self.fold_factor * self.cross.nnz, self.fold_min_nnz):
                self._fold()
        self.n += za.shape[0]

    def stats(self) -> CoactivationStats:
        if self.n == 0:
            raise ValueError("no (unmasked) rows to correlate")
        if self.dense is not None:
            self.cross = sp.csr_matrix(self.dense.reshape(self.cross.shape))
        self._fold()
        return _stats(self.n, self.cross, self.acc)


def _stats(n: int, cross: sp.csr_matrix, sums: dict[str, np.ndarray]) -> CoactivationStats:
    """:class:`CoactivationStats` of the per-latent ``sums`` (keys ``sum_a`` … ``count_b``)."""
    return CoactivationStats(n=n, cross=cross, sum_a=sums["sum_a"], sumsq_a=sums["sumsq_a"], count_a=sums["count_a"],
                             sum_b=sums["sum_b"], sumsq_b=sums["sumsq_b"], count_b=sums["count_b"])


class DeviceCoactivationAccumulator:
    """The same sums on a torch device (CUDA when present): codes stay where the SAE encoded them.

    ``update`` takes dense (n, d) code tensors; the cross sum is a dense float64 (d_A, d_B) tensor
    on the device, grown by ``torch.sparse.mm(Aᵀ as sparse, B)`` (cost ∝ nnz(A)·d_B, not n·d_A·d_B).
    ``stats`` copies it to the host once, as the sparse matrix :class:`CoactivationStats` holds.
    ``memory_bytes``: the pairing budget; a dense sum larger than it raises ``MemoryError`` before any
    allocation (:func:`coactivation_stats` then takes the blocked path of
    :func:`bounded_coactivation_stats`, as on the host).
    """

    def __init__(self, d_a: int, d_b: int, device: str, memory_bytes: float | None = None):
        import torch

        if memory_bytes is not None and d_a * d_b * 8 > memory_bytes:
            raise MemoryError(f"a dense {d_a}×{d_b} device co-activation sum needs {d_a * d_b * 8 / 2**30:.3g} GiB "
                              f"> the pairing budget {memory_bytes / 2**30:.3g} GiB (compare.pairing_memory_gib)")

        self.n, self.device = 0, device
        z = lambda d, dt=torch.float64: torch.zeros(d, dtype=dt, device=device)  # noqa: E731
        self.acc = dict(sum_a=z(d_a), sumsq_a=z(d_a), count_a=z(d_a, torch.int64),
                        sum_b=z(d_b), sumsq_b=z(d_b), count_b=z(d_b, torch.int64))
        self.cross = torch.zeros((d_a, d_b), dtype=torch.float64, device=device)

    def update(self, za, zb) -> None:
        """Add one batch: ``za`` (n, d_A) and ``zb`` (n, d_B) tensors of the same n tokens, on the device."""
        import torch

        if za.shape[0] != zb.shape[0]:
            raise ValueError(f"batches are not row-aligned: {za.shape[0]} vs {zb.shape[0]} rows")
        for side, z in (("a", za), ("b", zb)):
            zd = z.double()
            self.acc[f"sum_{side}"] += zd.sum(0)
            self.acc[f"sumsq_{side}"] += (zd * zd).sum(0)
            self.acc[f"count_{side}"] += (z != 0).sum(0)
        self.cross += torch.sparse.mm(za.double().T.to_sparse(), zb.double())
        self.n += za.shape[0]

    def stats(self) -> CoactivationStats:
        if self.n == 0:
            raise ValueError("no (unmasked) rows to correlate")
        host = {k: v.cpu().numpy() for k, v in self.acc.items()}
        return _stats(self.n, sp.csr_matrix(self.cross.cpu().numpy()), host)


def encode_dense(sae, x: np.ndarray, device: str = "cpu"):
    """SAE codes of rows ``x`` (n, d_in) as a dense float32 tensor on ``device`` (n, d_sae)."""
    return encode_rows(sae, x, device, nonnegative=True)


def coactivation_stats(sae_a, shards_a: ShardSet, sae_b, shards_b: ShardSet, *, device: str = "cpu",
                       batch_size: int = 4096, max_rows: int | None = None, shard_ids: list[int] | None = None,
                       shifted: bool = True, progress: bool = True, on_device: bool | None = None,
                       dense_bytes: float = DENSE_CROSS_BYTES, memory_bytes: float | None = None,
                       top_m: int = 16) -> CoactivationStats:
    """Stream row-aligned shards through both SAEs and accumulate :class:`CoactivationStats`.

    With ``shifted``, ``stats.shifted`` holds the same statistics with B's codes rolled
    by half a batch within each batch: token alignment is destroyed while every
    latent's marginal distribution is kept (the null behind ``min_corr: auto``).
    ``on_device`` (default: when ``device`` is CUDA and the dense sum fits 8 GiB): accumulate on the device
    (:class:`DeviceCoactivationAccumulator`) instead of copying codes to the host.
    Memory: one shard of activations, one batch of dense codes per SAE, and the
    co-activation sums (dense up to ``dense_bytes`` each, see :class:`CoactivationAccumulator`).
    ``memory_bytes``: bound the sums to this, any width, on the host and on the device alike: when
    the dense sums (× 2 with ``shifted``) do not fit the one-pass share of the budget
    (:func:`plan_coactivation`), :func:`bounded_coactivation_stats` runs (codes still encoded on
    ``device``; its guarantee: exact best partners; each latent's ``top_m`` best positive partners kept
    for ``hungarian``) and ``dense_bytes`` is not used; when they fit, the device accumulator runs
    with its dense sums inside the budget.
    """
    import torch

    d_a, d_b = sae_a.cfg.d_sae, sae_b.cfg.d_sae
    if on_device is None:  # a dense device sum up to 4 × DENSE_CROSS_BYTES (32768² latents); wider SAEs on the host
        on_device = str(device).startswith("cuda") and d_a * d_b * 8 <= 4 * DENSE_CROSS_BYTES
    blocked = memory_bytes is not None and (not on_device or device_sums_exceed(d_a, d_b, memory_bytes, shifted))
    acc: CoactivationAccumulator | DeviceCoactivationAccumulator
    null: CoactivationAccumulator | DeviceCoactivationAccumulator | None
    if on_device and not blocked:
        acc = DeviceCoactivationAccumulator(d_a, d_b, device, memory_bytes)
        null = DeviceCoactivationAccumulator(d_a, d_b, device, memory_bytes) if shifted else None
        encode, roll = encode_dense, lambda z: torch.roll(z, z.shape[0] // 2, 0)
    else:
        acc = CoactivationAccumulator(d_a, d_b, dense_bytes)
        null = CoactivationAccumulator(d_a, d_b, dense_bytes) if shifted else None
        encode, roll = encode_sparse, lambda z: z[np.roll(np.arange(z.shape[0]), z.shape[0] // 2)]
    ids = shard_ids if shard_ids is not None else list(range(shards_a.n_shards))
    total = sum(shards_a.index["shards"][i]["n_rows"] for i in ids)
    if blocked:
        assert memory_bytes is not None  # blocked only under a budget

        def batches():
            for block_a, block_b in paired_blocks(shards_a, shards_b, ids, max_rows):
                for start in range(0, len(block_a), batch_size):
                    yield (encode_sparse(sae_a, block_a[start : start + batch_size], device),
                           encode_sparse(sae_b, block_b[start : start + batch_size], device))

        return bounded_coactivation_stats(batches, d_a, d_b, memory_bytes, shifted=shifted, top_m=top_m,
                                          total=min(total, max_rows or total), progress=progress)
    with tqdm(total=min(total, max_rows or total), desc="co-activation", unit="tok", disable=not progress) as bar:
        for block_a, block_b in paired_blocks(shards_a, shards_b, ids, max_rows):
            for start in range(0, len(block_a), batch_size):
                za = encode(sae_a, block_a[start : start + batch_size], device)
                zb = encode(sae_b, block_b[start : start + batch_size], device)
                acc.update(za, zb)
                if null is not None:
                    null.update(za, roll(zb))
                bar.update(za.shape[0])
    stats = acc.stats()
    if null is not None:
        stats.shifted = null.stats()
    return stats


def device_sums_exceed(d_a: int, d_b: int, memory_bytes: float, shifted: bool) -> bool:
    """Whether the device accumulators' dense float64 sums (one, or two with ``shifted``) exceed the
    one-pass block share of ``memory_bytes`` — the same test that sends the host to more than one pass."""
    return (2 if shifted else 1) * d_a * d_b * 8 > BLOCK_SHARE * memory_bytes


#: how a bounded run splits ``memory_bytes``: the dense co-activation blocks, the scratch of the
#: per-block correlation scan, and the in-memory cache of the first pass's codes (else re-encoded)
BLOCK_SHARE, SCRATCH_SHARE, CACHE_SHARE = 0.6, 0.15, 0.25


@dataclass(frozen=True)
class CoactivationPlan:
    """How the co-activation sums of a d_A × d_B pairing fit ``memory_bytes``.

    ``block_rows``: A latents per pass (= d_A: one pass, the complete sums of
    :class:`CoactivationAccumulator`); ``passes``: passes over the tokens; ``chunk_rows``: A latents
    whose correlations are scanned at once; ``cache_bytes``: codes of the first pass kept for the others.
    """

    block_rows: int
    passes: int
    chunk_rows: int
    cache_bytes: float

    @property
    def bounded(self) -> bool:
        return self.passes > 1


def plan_coactivation(d_a: int, d_b: int, memory_bytes: float, shifted: bool = False,
                      block_rows: int | None = None) -> CoactivationPlan:
    """Blocks of A latents whose dense float64 sums (× 2 with ``shifted``) fit ``BLOCK_SHARE`` of
    ``memory_bytes`` — all of A in one pass when they fit. ``block_rows`` forces a block size (tests).
    Raises before any work when not even one A latent's row fits."""
    k = 2 if shifted else 1
    if block_rows is None:
        block_rows = int(BLOCK_SHARE * memory_bytes // (k * d_b * 8))
        if block_rows < 1:
            raise MemoryError(f"pairing memory {memory_bytes / 2**30:.3g} GiB cannot hold one A latent's "
                              f"co-activations with {d_b} B latents ({k * d_b * 8 / BLOCK_SHARE / 2**30:.3g} "
                              "GiB needed); raise compare.pairing_memory_gib")
    block_rows = max(1, min(block_rows, d_a))
    chunk_rows = max(1, min(block_rows, int(SCRATCH_SHARE * memory_bytes // (12 * d_b * 8))))
    passes = -(-d_a // block_rows)
    return CoactivationPlan(block_rows, passes, chunk_rows, CACHE_SHARE * memory_bytes if passes > 1 else 0.0)


#: bytes per co-firing pair that the complete sparse statistics take on their way to pairs (tracemalloc at
#: d = 2048, 32768 tokens: 40 to build them from the dense sums, 12 held + 36 for many_to_one or + 72 for
#: hungarian's graph)
COMPLETE_PAIR_BYTES = 100


class _PartnerScan:
    """Best positive partners found so far, from correlation blocks scanned in increasing A order.

    Per B latent: its best A partner (the lowest A index among equal maxima, as :func:`best_partners`
    picks) and its ``top_m`` best; per A latent: its ``top_m`` best B latents. Memory O((d_A + d_B)·m).
    """

    def __init__(self, d_a: int, d_b: int, top_m: int):
        self.d_b, self.m = d_b, top_m
        self.best_val = np.full(d_b, -np.inf)
        self.best_a = np.full(d_b, -1, np.int64)
        self.best_s = np.zeros(d_b)
        self.top_val = np.full((top_m, d_b), -np.inf)
        self.top_a = np.full((top_m, d_b), -1, np.int64)
        self.top_s = np.zeros((top_m, d_b))
        self.rows: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # per-A top-m (a, b, S)

    def scan(self, s: np.ndarray, a0: int, n: int, mu_a, mu_b, sd_a, sd_b) -> None:
        """``s``: (c, d_B) co-activation sums of A latents a0..a0+c−1."""
        with np.errstate(divide="ignore", invalid="ignore"):
            corr = (s / n - np.outer(mu_a, mu_b)) / np.outer(sd_a, sd_b)  # correlation_sparse's expression
        corr[~((s > 0) & (corr > 0))] = -np.inf  # co-firing and positive only (NaN from dead latents too)
        cols = np.arange(self.d_b)
        k = corr.argmax(0)  # first maximum: the lowest A index; earlier chunks hold lower indices
        v = corr[k, cols]
        better = v > self.best_val
        self.best_val[better], self.best_a[better], self.best_s[better] = v[better], a0 + k[better], s[k, cols][better]
        if self.m > 1:
            val = np.concatenate([self.top_val, corr])
            idx = np.concatenate([self.top_a, np.broadcast_to(a0 + np.arange(len(s))[:, None], s.shape)])
            ss = np.concatenate([self.top_s, s])
            pick = np.argpartition(-val, self.m - 1, axis=0)[: self.m]
            self.top_val, self.top_a, self.top_s = (np.take_along_axis(x, pick, 0) for x in (val, idx, ss))
            m = min(self.m, self.d_b)
            pick = np.argpartition(-corr, m - 1, axis=1)[:, :m] if m < self.d_b else np.tile(cols, (len(s), 1))
            keep = np.isfinite(np.take_along_axis(corr, pick, 1))
            rows = np.broadcast_to(a0 + np.arange(len(s))[:, None], pick.shape)
            self.rows.append((rows[keep], pick[keep], np.take_along_axis(s, pick, 1)[keep]))

    def cross(self, d_a: int) -> sp.csr_matrix:
        """The kept pairs' co-activation sums as a (d_A, d_B) CSR matrix (each pair once)."""
        ok = self.best_a >= 0
        parts = [(self.best_a[ok], np.flatnonzero(ok), self.best_s[ok])]
        ok = np.isfinite(self.top_val)
        parts.append((self.top_a[ok], np.broadcast_to(np.arange(self.d_b), ok.shape)[ok], self.top_s[ok]))
        parts += self.rows
        a = np.concatenate([p[0] for p in parts]).astype(np.int64)
        b = np.concatenate([p[1] for p in parts]).astype(np.int64)
        v = np.concatenate([p[2] for p in parts])
        _, first = np.unique(a * self.d_b + b, return_index=True)  # one entry per pair: no summing of duplicates
        return sp.csr_matrix((v[first], (a[first], b[first])), shape=(d_a, self.d_b))


def _roll(z: sp.csr_matrix) -> sp.csr_matrix:
    """B's codes rolled by half a batch (the token-shifted null of :func:`coactivation_stats`)."""
    return z[np.roll(np.arange(z.shape[0]), z.shape[0] // 2)]


def bounded_coactivation_stats(batches: Callable[[], Iterable[tuple[sp.csr_matrix, sp.csr_matrix]]], d_a: int,
                               d_b: int, memory_bytes: float, *, shifted: bool = False, top_m: int = 16,
                               block_rows: int | None = None, total: int | None = None,
                               progress: bool = True) -> CoactivationStats:
    """:class:`CoactivationStats` whose co-activation sums never take more than ``memory_bytes``.

    ``batches()`` yields row-aligned CSR code batches (n, d_A), (n, d_B) — the same tokens in the same
    order at every call. A's latents are split in blocks (:func:`plan_coactivation`), one pass over the
    tokens per block (the first pass's codes are kept in memory up to the plan's ``cache_bytes`` and
    ``batches()`` is not called again; else once per pass). Each block's dense float64 sums are added
    in the same order as :class:`CoactivationAccumulator`'s (bit-identical sums and moments).

    Complete statistics (``kept_partners`` None, every co-firing pair: the same as the one-pass
    accumulator) come back when there is one block and its co-firing pairs fit the budget at
    ``COMPLETE_PAIR_BYTES`` each. Otherwise each block is scanned in chunks of A latents for
    correlations (which need the moments of the first pass), and only some pairs are kept
    (``kept_partners = top_m``). Guarantee then: every B latent's best positive partner and its
    correlation are exactly those of the complete sums (ties to the lowest A index, as
    :func:`~saegeom.pairing.match.best_partners`), so ``many_to_one``, ``one_to_one`` and
    ``min_corr: auto`` (best partners of the shifted sums, where only the best is kept) are exact.
    ``hungarian`` runs on the kept graph (each B latent's and each A latent's ``top_m`` best positive
    partners): optimal on that graph, exact whenever no latent has more than ``top_m`` positive
    partners, an approximation otherwise. Memory on top of the budget: one batch's sparse product
    (≈ batch × L0_A × L0_B entries) and the kept pairs, O((d_A + d_B)·top_m).
    """
    plan = plan_coactivation(d_a, d_b, memory_bytes, shifted, block_rows)
    if top_m < 1:
        raise ValueError(f"top_m must be >= 1, got {top_m}")
    sides = [("observed", top_m)] + ([("shifted", 1)] if shifted else [])
    scans = {name: _PartnerScan(d_a, d_b, m) for name, m in sides}
    moments: dict[str, dict[str, np.ndarray]] = {}
    # per batch, prepared once: Aᵀ as CSR (d_A, n) — a block of A latents is then a cheap row slice — and
    # B (and B rolled) in float64; kept for later passes while they fit the plan's cache_bytes
    cache: list[tuple[sp.csr_matrix, dict[str, sp.csr_matrix]]] | None = []
    cached_bytes, n = 0, 0
    complete: dict[str, sp.csr_matrix] | None = None

    def prepare(za: sp.csr_matrix, zb: sp.csr_matrix) -> tuple[sp.csr_matrix, dict[str, sp.csr_matrix]]:
        """(Aᵀ, {"observed": B, "shifted": B rolled}) in float64; ``za`` (float64) under key "a" too."""
        if za.shape[0] != zb.shape[0]:
            raise ValueError(f"batches are not row-aligned: {za.shape[0]} vs {zb.shape[0]} rows")
        za, zb = za.astype(np.float64), zb.astype(np.float64)
        return za.T.tocsr(), {"a": za} | {name: zb if name == "observed" else _roll(zb) for name, _ in sides}

    with tqdm(total=None if total is None else total * plan.passes, unit="tok", disable=not progress) as bar:
        for p, lo in enumerate(range(0, d_a, plan.block_rows)):
            hi = min(lo + plan.block_rows, d_a)
            bar.set_description(f"co-activation pass {p + 1}/{plan.passes}")
            blocks = {name: np.zeros((hi - lo) * d_b) for name, _ in sides}
            source = (prepare(za, zb) for za, zb in batches()) if cache is None or p == 0 else cache
            for at, zbs in source:
                if p == 0:
                    za = zbs.pop("a")
                    if cache is not None:
                        cached_bytes += sum(z.data.nbytes + z.indices.nbytes + z.indptr.nbytes
                                            for z in (at, *zbs.values()))
                        if cached_bytes <= plan.cache_bytes and plan.passes > 1:
                            cache.append((at, zbs))
                        else:  # codes do not fit (or one pass): later passes encode again
                            cache = None
                    # the shifted sums get the moments of the rolled codes: the same numbers, summed in the
                    # rolled order (bit for bit what the one-pass accumulators report)
                    for side, z in (("a", za), ("b", zbs["observed"])) + (
                            (("bs", zbs["shifted"]),) if shifted else ()):
                        mo = moments.setdefault(side, dict(sum=np.zeros(z.shape[1]), sumsq=np.zeros(z.shape[1]),
                                                            count=np.zeros(z.shape[1], np.int64)))
                        mo["sum"] += np.asarray(z.sum(0)).ravel()
                        mo["sumsq"] += np.asarray(z.multiply(z).sum(0)).ravel()
                        mo["count"] += np.bincount(z.indices, minlength=z.shape[1])
                    n += at.shape[1]
                zbs.pop("a", None)  # re-encoded batches of later passes
                block_t = at[lo:hi]
                for name, _ in sides:
                    prod = (block_t @ zbs[name]).tocoo()
                    blocks[name][prod.row.astype(np.int64) * d_b + prod.col] += prod.data
                bar.update(at.shape[1])
            if n == 0:
                raise ValueError("no (unmasked) rows to correlate")
            if plan.passes == 1:
                nnz = sum(np.count_nonzero(blk) for blk in blocks.values())
                if sum(blk.nbytes for blk in blocks.values()) + nnz * COMPLETE_PAIR_BYTES <= memory_bytes:
                    complete = {name: sp.csr_matrix(blocks.pop(name).reshape(d_a, d_b)) for name, _ in sides}
                    break
            mu = {k: m["sum"] / n for k, m in moments.items()}
            sd = {k: np.sqrt(np.maximum(m["sumsq"] / n - mu[k] ** 2, 0.0)) for k, m in moments.items()}
            for name, _ in sides:
                blk, b = blocks.pop(name).reshape(hi - lo, d_b), "b" if name == "observed" else "bs"
                for c0 in range(0, hi - lo, plan.chunk_rows):
                    c1 = min(c0 + plan.chunk_rows, hi - lo)
                    scans[name].scan(blk[c0:c1], lo + c0, n, mu["a"][lo + c0 : lo + c1], mu[b],
                                     sd["a"][lo + c0 : lo + c1], sd[b])
                del blk
    out = {}
    for name, m in sides:
        b = "b" if name == "observed" else "bs"
        acc = {f"{k}_{side}": v for side, mo in (("a", moments["a"]), ("b", moments[b])) for k, v in mo.items()}
        out[name] = _stats(n, complete[name] if complete is not None else scans[name].cross(d_a), acc)
        if complete is None:
            out[name].kept_partners = m
    stats = out["observed"]
    stats.shifted = out.get("shifted")
    return stats
