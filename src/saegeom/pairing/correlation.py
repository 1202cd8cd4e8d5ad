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

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from tqdm.auto import tqdm

from saegeom.io.shards import ShardSet, paired_blocks


def encode_sparse(sae, x: np.ndarray, device: str = "cpu", batch_size: int = 2048) -> sp.csr_matrix:
    """SAE codes of rows ``x`` (n, d_in) as a CSR matrix (n, d_sae), float32."""
    import torch  # here, not at module level: importing saegeom.pairing/compare must not start torch

    parts = []
    for start in range(0, len(x), batch_size):
        with torch.no_grad():
            z = sae.encode(torch.as_tensor(x[start : start + batch_size], device=device, dtype=torch.float32))
        if (z < 0).any():
            raise ValueError("SAE produced negative activations; sparse correlation assumes non-negative codes")
        parts.append(sp.csr_matrix(z.cpu().numpy()))
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
        """Correlations of co-firing pairs only (the sparsity pattern of ``cross``), CSR (d_A, d_B)."""
        mu_a, mu_b, sd_a, sd_b = self._moments()
        c = self.cross.tocoo()
        den = sd_a[c.row] * sd_b[c.col]
        with np.errstate(divide="ignore", invalid="ignore"):
            val = (c.data / self.n - mu_a[c.row] * mu_b[c.col]) / den
        val[den == 0] = 0.0
        return sp.csr_matrix((val, (c.row, c.col)), shape=c.shape)

    def correlation_dense(self, max_bytes: float = 4 * 2**30) -> np.ndarray:
        """Full (d_A, d_B) correlation matrix, float32; dead latents get NaN.

        Raises before allocating when it would exceed ``max_bytes``.
        """
        d_a, d_b = len(self.sum_a), len(self.sum_b)
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
        return CoactivationStats(n=self.n, cross=self.cross, **self.acc)


class DeviceCoactivationAccumulator:
    """The same sums on a torch device (CUDA when present): codes stay where the SAE encoded them.

    ``update`` takes dense (n, d) code tensors; the cross sum is a dense float64 (d_A, d_B) tensor
    on the device, grown by ``torch.sparse.mm(Aᵀ as sparse, B)`` (cost ∝ nnz(A)·d_B, not n·d_A·d_B).
    ``stats`` copies it to the host once, as the sparse matrix :class:`CoactivationStats` holds.
    """

    def __init__(self, d_a: int, d_b: int, device: str):
        import torch

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
        return CoactivationStats(n=self.n, cross=sp.csr_matrix(self.cross.cpu().numpy()), **host)


def encode_dense(sae, x: np.ndarray, device: str = "cpu"):
    """SAE codes of rows ``x`` (n, d_in) as a dense float32 tensor on ``device`` (n, d_sae)."""
    import torch

    with torch.no_grad():
        z = sae.encode(torch.as_tensor(x, device=device, dtype=torch.float32))
    if (z < 0).any():
        raise ValueError("SAE produced negative activations; sparse correlation assumes non-negative codes")
    return z


def coactivation_stats(sae_a, shards_a: ShardSet, sae_b, shards_b: ShardSet, *, device: str = "cpu",
                       batch_size: int = 4096, max_rows: int | None = None, shard_ids: list[int] | None = None,
                       shifted: bool = True, progress: bool = True, on_device: bool | None = None,
                       dense_bytes: float = DENSE_CROSS_BYTES) -> CoactivationStats:
    """Stream row-aligned shards through both SAEs and accumulate :class:`CoactivationStats`.

    With ``shifted``, ``stats.shifted`` holds the same statistics with B's codes rolled
    by half a batch within each batch: token alignment is destroyed while every
    latent's marginal distribution is kept (the null behind ``min_corr: auto``).
    ``on_device`` (default: when ``device`` is CUDA and the dense sum fits 8 GiB): accumulate on the device
    (:class:`DeviceCoactivationAccumulator`) instead of copying codes to the host.
    Memory: one shard of activations, one batch of dense codes per SAE, and the
    co-activation sums (dense up to ``dense_bytes`` each, see :class:`CoactivationAccumulator`).
    """
    import torch

    d_a, d_b = sae_a.cfg.d_sae, sae_b.cfg.d_sae
    if on_device is None:  # a dense device sum up to 4 × DENSE_CROSS_BYTES (32768² latents); wider SAEs on the host
        on_device = str(device).startswith("cuda") and d_a * d_b * 8 <= 4 * DENSE_CROSS_BYTES
    if on_device:
        acc = DeviceCoactivationAccumulator(d_a, d_b, device)
        null = DeviceCoactivationAccumulator(d_a, d_b, device) if shifted else None
        encode, roll = encode_dense, lambda z: torch.roll(z, z.shape[0] // 2, 0)
    else:
        acc = CoactivationAccumulator(d_a, d_b, dense_bytes)
        null = CoactivationAccumulator(d_a, d_b, dense_bytes) if shifted else None
        encode, roll = encode_sparse, lambda z: z[np.roll(np.arange(z.shape[0]), z.shape[0] // 2)]
    ids = shard_ids if shard_ids is not None else list(range(shards_a.n_shards))
    total = sum(shards_a.index["shards"][i]["n_rows"] for i in ids)
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
