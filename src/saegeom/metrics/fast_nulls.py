"""Fast null draws for nulls that keep X fixed and draw Y by index: ``Y_null = take(S, idx, axis)``.

``random_partners``, ``repairing`` and ``token_shuffle`` never touch X; every draw is a selection
``idx`` of rows (``axis`` 0: decoder, ground truth) or columns (``axis`` 1: activations) of a fixed
source S (B's live latents, or Y itself). So whatever a measure computes from X alone — its
centred Gram, its SVD basis, its RDM ranks, its k-NN graph, its cosines to every row of S — is
computed once, and a draw costs only what depends on Y. Each evaluator

* consumes nothing from the random stream (the caller draws ``idx`` exactly as the plain
  sampler does), so the null values, and hence the p-values for a fixed seed, equal the plain
  ones to float tolerance (``tests/metrics/test_fast_nulls.py`` checks every evaluator against the plain
  metric on the same draws);
* falls back to the plain metric on a draw where its shortcut is not exact or not well
  conditioned (a near-constant side, tied neighbours, a draw outside the fixed set);
* is written by hand because no library offers "the same measure under a re-indexed Y".

The gram-family evaluators (CKA, debiased CKA, SVCCA, PWCCA, both Procrustes, soft matching) of one
(X, source) share a :class:`SharedRows`: X's SVD once, and per draw one gather of Y, one centred
Gram of Y, one eigendecomposition and one product ``P = U_xᵀ Y`` (U_x: X's orthonormal basis) from
which every one of them reads what it needs (``Xcᵀ Y = V_x S_x P``; CCA's ``Q_xᵀ Y`` are rows of P).
With ``precision="float32"`` that product is taken in float32 (on the GPU when one is used); the
metric values then stay within ``FLOAT32_ATOL`` of the float64 path (measured, and tested in
``tests/metrics/test_null_stream.py``): each evaluator re-takes the product in float64 on a draw
where rounding could be amplified (a Y side with Gram condition number above
``FLOAT32_MAX_CONDITION`` for CCA, a Procrustes or soft-matching distance² below
``FLOAT32_MIN_DISTANCE_SQ``, where 2 − 2t cancels).

The one non-exact path: RSA on more than ``RSA_EXACT_MAX_ITEMS`` items (n(n−1)/2 RDM entries
ranked per draw) uses a fixed random subsample of ``RSA_SUBSAMPLE_ITEMS`` items for the value
*and* every null draw (a valid permutation test of the subsampled statistic), and says so in
the row's ``note``; its distance to the full-sample value is bounded in the tests.

:func:`fast_null` returns None where no shortcut exists (the caller then runs the plain loop).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.stats import rankdata

from saegeom.metrics import representational as rep
from saegeom.metrics._arrays import as_f64, unit_rows
from saegeom.metrics._arrays import svd as _svd
from saegeom.metrics.registry import MetricSpec, MetricUndefined

RSA_EXACT_MAX_ITEMS = 4096  # above: n(n-1)/2 ranks per draw are too many; subsample items
RSA_SUBSAMPLE_ITEMS = 1024
MMCS_TOP = 64  # best cosines of each X row kept; a draw missing all of them is computed exactly
_CHUNK = 1 << 24  # elements of an intermediate block (128 MB of float64)
#: float32 products: metric values within this of the float64 path (measured max over the benchmark
#: and test data ≈ 2e-6; tests assert it)
FLOAT32_ATOL = 2e-5
FLOAT32_MIN_ITEMS = 1024  # float32 products only from this many items (below, the products are cheap anyway)
FLOAT32_MAX_CONDITION = 1e4  # Y-Gram condition number (kept eigenvalues) above which CCA re-takes P in float64
FLOAT32_MIN_DISTANCE_SQ = 1e-2  # Procrustes / soft-matching distance² below which P is re-taken in float64


class RowDraw:
    """The shared work of one draw ``Y = S[idx]`` (see :class:`SharedRows`), computed on first use."""

    def __init__(self, shared: SharedRows, idx: np.ndarray):
        self.shared, self.idx = shared, idx
        self._y: np.ndarray | None = None
        self._gram: tuple[np.ndarray, np.ndarray] | None = None
        self._eig: tuple[np.ndarray, np.ndarray] | None = None
        self._p: dict[bool, np.ndarray] = {}

    @property
    def y(self) -> np.ndarray:
        """(n, d2) float64 Y of this draw."""
        if self._y is None:
            self._y = self.shared.s[self.idx]
        return self._y

    def y_dot(self, v: np.ndarray) -> np.ndarray:
        """(n,) Y v, without gathering Y when it is not there yet (S v, then the draw's entries)."""
        if self._y is not None or len(self.idx) < len(self.shared.s) // 2:
            return self.y @ v
        return (self.shared.s @ v)[self.idx]

    def centred_gram(self) -> tuple[np.ndarray, np.ndarray]:
        """(YcᵀYc (d2, d2), column mean μ (d2,)): from SᵀS updated over the rows whose count is not 1
        (none when a draw permutes all of S), else YᵀY."""
        if self._gram is None:
            sh, idx = self.shared, self.idx
            c = np.bincount(idx, minlength=len(sh.s))
            off = np.flatnonzero(c != 1)
            if len(off) < len(idx):
                w = (c[off] - 1).astype(np.float64)
                gram = sh.sts + (sh.s[off].T * w) @ sh.s[off]
                mean = (sh.colsum + w @ sh.s[off]) / len(idx)
            else:
                gram, mean = self.y.T @ self.y, self.y.mean(axis=0)
            self._gram = (gram - len(idx) * np.outer(mean, mean), mean)
        return self._gram

    def eig(self) -> tuple[np.ndarray, np.ndarray]:
        """(w, v): eigenvalues (descending) and eigenvectors of the centred Gram."""
        if self._eig is None:
            w, v = np.linalg.eigh(self.centred_gram()[0])
            self._eig = (w[::-1], v[:, ::-1])
        return self._eig

    def p(self, exact: bool = False) -> np.ndarray:
        """(r, d2) float64 ``U_xᵀ Y`` — taken in the shared precision unless ``exact`` (float64)."""
        exact = exact or not self.approximate
        if exact not in self._p:
            self._p[exact] = self.shared.product(self.idx, exact)
        return self._p[exact]

    def cross(self, exact: bool = False) -> np.ndarray:
        """(d1, d2) ``Xcᵀ Y`` = V_x S_x P (equal to Xcᵀ Yc: Xc has centred columns)."""
        return self.shared.to_cross @ self.p(exact)

    @property
    def approximate(self) -> bool:
        """True when :meth:`p` is not float64 by default (evaluators then guard cancellation)."""
        return self.shared.precision != "float64" and not self.shared.force_exact


class SharedRows:
    """What every gram-family evaluator of one (X, source) reuses, and one :class:`RowDraw` per draw.

    x: (n, d1) float64; source S: (n_src, d2) float64, Y = S[idx]. Once: Xc = X centred and its
    SVD Xc = U_x S_x V_xᵀ (directions with singular value ≤ 1e-10 × the largest dropped, as
    ``representational._orthonormal_basis`` does), SᵀS, S's column sums and row norms. Per draw
    (:meth:`draw`, cached for the last ``idx`` object, so the evaluators called one after the other on
    the same draw share it): see :class:`RowDraw`. ``precision``: ``float64`` or ``float32`` (the
    product ``P = U_xᵀ Y``; module doc); ``device``: None (numpy) or a torch device for that product.
    """

    def __init__(self, x: np.ndarray, source: np.ndarray, precision: str = "float64", device: str | None = None):
        if precision not in ("float32", "float64"):
            raise ValueError(f"precision must be float32 or float64, got {precision!r}")
        if precision == "float32" and len(x) < FLOAT32_MIN_ITEMS:
            precision = "float64"
        self.s, self.precision, self.device = source, precision, device
        self.knn_graphs: dict = {}  # k-NN graphs shared by the k-NN evaluators of the stream
        self.force_exact = False  # set while a draw is re-evaluated in float64 (near the observed value)
        self.sts = source.T @ source
        self.colsum = source.sum(axis=0)
        self.sq = np.einsum("ij,ij->i", source, source)
        self.xc = rep._centre(x)
        u, sv, vt = _svd(self.xc, full_matrices=False)
        keep = sv > 1e-10 * max(sv.max(initial=0.0), 1e-300)
        self.ux, self.sx, self.vtx = u[:, keep], sv[keep], vt[keep]
        self.to_cross = self.vtx.T * self.sx  # (d1, r)
        self._low: tuple | None = None  # (U_xᵀ, S) in float32 / on the device, made on first use
        self._last: RowDraw | None = None
        self.n_draws = 0  # distinct draws served (tests: one stream per null)

    def draw(self, idx: np.ndarray) -> RowDraw:
        if self._last is None or self._last.idx is not idx:
            self._last = RowDraw(self, idx)
            self.n_draws += 1
        return self._last

    def product(self, idx: np.ndarray, exact: bool) -> np.ndarray:
        """U_xᵀ S[idx] as float64 (r, d2): float64 on the host when ``exact``, else in ``precision`` on
        ``device``."""
        if exact or (self.precision == "float64" and self.device is None):
            return self.ux.T @ self.s[idx]
        if self.device is None:
            if self._low is None:
                self._low = (np.ascontiguousarray(self.ux.T, np.float32), self.s.astype(np.float32))
            return (self._low[0] @ self._low[1][idx]).astype(np.float64)
        import torch

        dt = torch.float32 if self.precision == "float32" else torch.float64
        if self._low is None:
            self._low = (torch.as_tensor(self.ux.T, dtype=dt, device=self.device).contiguous(),
                         torch.as_tensor(self.s, dtype=dt, device=self.device))
        ti = torch.as_tensor(idx, device=self.device)
        return (self._low[0] @ self._low[1].index_select(0, ti)).double().cpu().numpy()


class FastNull:
    """Evaluator of one metric under index draws; ``note`` goes into the row's note."""

    note: str = ""

    def __init__(self, spec: MetricSpec, x: np.ndarray, source: np.ndarray, axis: int, **kw):
        self.spec, self.x, self.source, self.axis, self.kw = spec, x, source, axis, kw
        self.n = x.shape[axis]

    def observed(self, y: np.ndarray) -> float | None:
        """The observed value when this evaluator defines it (else None: the plain metric)."""
        return None

    def plain(self, idx: np.ndarray) -> float:
        y = self.source[idx] if self.axis == 0 else self.source[:, idx]
        return self.spec(self.x, y, **self.kw)

    def __call__(self, idx: np.ndarray) -> float:  # pragma: no cover - overridden
        return self.plain(idx)


class _RowGram(FastNull):
    """Rows drawn from S (axis 0), through a :class:`SharedRows` (given, or one of its own)."""

    def __init__(self, spec, x, source, axis, shared: SharedRows | None = None, **kw):
        super().__init__(spec, x, source, axis, **kw)
        self.shared = shared if shared is not None else SharedRows(x, source)
        self.s, self.sts, self.sq = self.shared.s, self.shared.sts, self.shared.sq
        self.xc = self.shared.xc

    def well_conditioned(self, gram: np.ndarray) -> bool:
        """False when the centred Gram is at rounding level of SᵀS (near-constant Y): use plain."""
        return np.trace(gram) > 1e-9 * max(np.trace(self.sts), 1e-300)


class _LinearCKA(_RowGram):
    def __init__(self, spec, x, source, axis, **kw):
        super().__init__(spec, x, source, axis, **kw)
        self.nxx = np.linalg.norm(self.xc.T @ self.xc)

    def __call__(self, idx):
        d = self.shared.draw(idx)
        gram, _ = d.centred_gram()
        if self.nxx == 0 or not self.well_conditioned(gram):
            return self.plain(idx)
        return float(np.linalg.norm(d.cross()) ** 2 / (self.nxx * np.linalg.norm(gram)))


class _DebiasedCKA(_RowGram):
    """Unbiased HSIC through X and Y only (see ``representational._hsic_unbiased``); with centred
    columns Σ_i x_i = 0, so K̃1 = −diag(K) and tr(K̃L̃) = ‖XᵀY‖² − diag(K)·diag(L)."""

    def __init__(self, spec, x, source, axis, **kw):
        super().__init__(spec, x, source, axis, **kw)
        self.dk = np.einsum("ij,ij->i", self.xc, self.xc)
        self.hxx = rep._hsic_unbiased(self.xc, self.xc)

    def _hsic(self, cross_sq: float, dk: np.ndarray, dl: np.ndarray) -> float:
        n = len(dk)
        trace = cross_sq - dk @ dl
        return float((trace + dk.sum() * dl.sum() / ((n - 1) * (n - 2)) - 2.0 / (n - 2) * (dk @ dl)) / (n * (n - 3)))

    def __call__(self, idx):
        d = self.shared.draw(idx)
        gram, mean = d.centred_gram()
        if not self.well_conditioned(gram):
            return self.plain(idx)
        dl = self.sq[idx] - 2 * d.y_dot(mean) + mean @ mean  # ‖y_i − μ‖²
        hyy = self._hsic(float(np.sum(gram**2)), dl, dl)
        if self.hxx <= 0 or hyy <= 0:
            return self.plain(idx)  # the plain metric raises with its own message
        return self._hsic(float(np.linalg.norm(d.cross()) ** 2), self.dk, dl) / np.sqrt(self.hxx * hyy)


class _SVCCA(_RowGram):
    """X's reduced basis spans the first kx columns of U_x; Y's from the eigendecomposition of its
    centred Gram (d2 × d2): canonical correlations are the singular values of
    P[:kx] V_k W_k^{-1/2} (Qx has centred columns, so Qxᵀ Yc = Qxᵀ Y)."""

    def __init__(self, spec, x, source, axis, var_fraction: float = 0.99, **kw):
        super().__init__(spec, x, source, axis, var_fraction=var_fraction, **kw)
        self.vf = var_fraction
        self.kx = rep._orthonormal_basis(rep._centre(rep._svd_reduce(self.xc, var_fraction))).shape[1]
        self.kx = min(self.kx, self.shared.ux.shape[1])

    def __call__(self, idx):
        d = self.shared.draw(idx)
        gram, _ = d.centred_gram()
        if self.kx == 0 or not self.well_conditioned(gram):
            return self.plain(idx)
        w, v = d.eig()
        k = int(np.searchsorted(np.cumsum(w) / w.sum(), self.vf - 1e-12) + 1)
        if w[k - 1] < 1e-8 * w[0]:  # eigenvalues of a Gram lose the small singular values: use the SVD
            return self.plain(idx)
        if self.kx + k > self.n - 1:
            raise MetricUndefined(f"svcca undefined: kx={self.kx} + ky={k} kept components exceed n - 1 = "
                                  f"{self.n - 1} (n={self.n} items), so some canonical correlations are 1 by "
                                  "construction")
        exact = d.approximate and w[0] > FLOAT32_MAX_CONDITION * w[k - 1]
        m = d.p(exact)[: self.kx] @ (v[:, :k] / np.sqrt(w[:k]))
        return float(np.clip(_svd(m, compute_uv=False), 0.0, 1.0).mean())


class _PWCCA(_RowGram):
    """PWCCA with X's orthonormal basis U_x and Y's from its centred Gram's eigendecomposition:
    Qxᵀ Qy = P V_k W_k^{-1/2}; the weights use the narrower side's neurons, through
    U_xᵀ Xc = S_x V_xᵀ (fixed) or Qyᵀ Yc = W_k^{1/2} V_kᵀ."""

    def __init__(self, spec, x, source, axis, **kw):
        super().__init__(spec, x, source, axis, **kw)
        self.qx_xc = self.shared.sx[:, None] * self.shared.vtx
        self.x_weights = x.shape[1] <= source.shape[1]

    def __call__(self, idx):
        d = self.shared.draw(idx)
        gram, _ = d.centred_gram()
        kx = self.shared.ux.shape[1]
        if kx == 0 or not self.well_conditioned(gram):
            return self.plain(idx)
        w, v = d.eig()
        s = np.sqrt(np.maximum(w, 0.0))
        keep = s > 1e-10 * s[0]
        k = int(keep.sum())
        if (w[:k] < 1e-8 * w[0]).any() or ((w[k:] > 1e-22 * w[0]).any() and k < len(w)):
            return self.plain(idx)  # rank decided near rounding level: the SVD decides it
        if kx + k > self.n - 1:
            return self.plain(idx)  # raises the plain metric's MetricUndefined
        exact = d.approximate and w[0] > FLOAT32_MAX_CONDITION * w[k - 1]
        m = d.p(exact) @ (v[:, :k] / s[:k])
        u, rho, vt = _svd(m, full_matrices=False)
        rho = np.clip(rho, 0.0, 1.0)
        if self.x_weights:
            alpha = np.abs(u.T @ self.qx_xc).sum(axis=1)
        else:
            alpha = np.abs(vt @ (s[:k, None] * v[:, :k].T)).sum(axis=1)
        return float((alpha * rho).sum() / alpha.sum())


class _Procrustes(_RowGram):
    """‖X − Y R‖² = 2 − 2 ‖XᵀY‖_* for unit-Frobenius centred X, Y (orthogonal R), and
    2 − 2 max_P tr(P XᵀY) for column permutations P (zero padding adds zero rows/columns)."""

    def __init__(self, spec, x, source, axis, **kw):
        super().__init__(spec, x, source, axis, **kw)
        self.nrm = np.linalg.norm(self.xc)
        self.permutation = spec.name == "permutation_procrustes"

    def _distance_sq(self, m: np.ndarray) -> float:
        if self.permutation:
            w = max(m.shape)
            m = np.pad(m, ((0, w - m.shape[0]), (0, w - m.shape[1])))
            r, c = linear_sum_assignment(-m)
            t = m[r, c].sum()
        else:
            t = _svd(m, compute_uv=False).sum()
        return 2.0 - 2.0 * t

    def __call__(self, idx):
        d = self.shared.draw(idx)
        gram, _ = d.centred_gram()
        if self.nrm == 0 or not self.well_conditioned(gram):
            return self.plain(idx)
        scale = self.nrm * np.sqrt(np.trace(gram))
        d2 = self._distance_sq(d.cross() / scale)
        if d.approximate and d2 < FLOAT32_MIN_DISTANCE_SQ:
            d2 = self._distance_sq(d.cross(exact=True) / scale)
        if d2 < 1e-6:  # cancellation: near-identical shapes are measured directly
            return self.plain(idx)
        return float(np.sqrt(d2))


class _SoftMatching(_RowGram):
    """Soft matching from the cross product: the cost between columns c of X and c' of Y is
    ‖x_c‖² + ‖y_c'‖² − 2 x_cᵀ y_c' after the metric's scaling (norms from X once and Y's Gram).
    With equal widths the uniform-marginal optimal plan is a permutation (Birkhoff–von Neumann),
    so ``linear_sum_assignment`` solves it; otherwise POT's ``emd2`` as in the metric."""

    def __init__(self, spec, x, source, axis, **kw):
        super().__init__(spec, x, source, axis, **kw)
        nrm = np.linalg.norm(self.xc)
        self.xscale = np.sqrt(x.shape[1]) / nrm if nrm > 0 else None
        self.xsq = (self.xc**2).sum(axis=0) * self.xscale**2 if nrm > 0 else None

    def _value(self, cross: np.ndarray, gram: np.ndarray) -> float:
        d1, d2 = cross.shape
        scale = np.sqrt(d2 / np.trace(gram))
        cost = self.xsq[:, None] + (np.diag(gram) * scale**2)[None, :] - 2 * scale * self.xscale * cross
        cost = np.maximum(cost, 0.0)
        if d1 == d2:
            r, c = linear_sum_assignment(cost)
            return float(max(cost[r, c].sum() / d1, 0.0))
        import ot

        return float(max(ot.emd2(np.full(d1, 1.0 / d1), np.full(d2, 1.0 / d2), cost), 0.0))

    def __call__(self, idx):
        d = self.shared.draw(idx)
        gram, _ = d.centred_gram()
        if self.xscale is None or not self.well_conditioned(gram):
            return self.plain(idx)
        v = self._value(d.cross(), gram)
        if d.approximate and v < FLOAT32_MIN_DISTANCE_SQ:
            v = self._value(d.cross(exact=True), gram)
        return float(np.sqrt(v))


class _MMCS(FastNull):
    """Each X row's ``MMCS_TOP`` best cosines with rows of S, sorted, computed once; a draw's
    max over its rows is the first of them the draw contains (exact for the rest)."""

    def __init__(self, spec, x, source, axis, **kw):
        super().__init__(spec, x, source, axis, **kw)
        # all-zero rows have no direction and mmcs leaves them out: such inputs take the plain path
        self.dead = not (np.any(x != 0, axis=1).all() and np.any(source != 0, axis=1).all())
        self.xu, self.su = unit_rows(x), unit_rows(source)
        k = min(MMCS_TOP, len(source))
        self.top = np.empty((len(x), k), np.int64)
        self.topv = np.empty((len(x), k))
        step = max(1, _CHUNK // max(len(source), 1))
        for i in range(0, len(x), step):
            sim = self.xu[i:i + step] @ self.su.T
            part = np.argpartition(-sim, k - 1, axis=1)[:, :k]
            val = np.take_along_axis(sim, part, 1)
            order = np.argsort(-val, axis=1, kind="stable")
            self.top[i:i + step] = np.take_along_axis(part, order, 1)
            self.topv[i:i + step] = np.take_along_axis(val, order, 1)

    def __call__(self, idx):
        if self.dead:
            return self.plain(idx)
        member = np.zeros(len(self.su), bool)
        member[idx] = True
        hit = member[self.top]
        first = hit.argmax(axis=1)
        best = self.topv[np.arange(len(first)), first]
        miss = np.flatnonzero(~hit[np.arange(len(first)), first])
        if len(miss):
            best[miss] = (self.xu[miss] @ self.su[idx].T).max(axis=1)
        return float(best.mean())


def _knn_no_ties(x: np.ndarray, k: int) -> np.ndarray | None:
    """(n, k) cosine k-NN sets as ``representational.knn_sets``, in row blocks (no n × n matrix);
    None when some row has another neighbour tied with its k-th (the plain tie-break is random)."""
    n = len(x)
    u = rep._directions(x, "cosine")
    out = np.empty((n, k), np.int64)
    step = max(1, _CHUNK // n)
    for i in range(0, n, step):
        sim = np.round(u[i:i + step] @ u.T, rep._DECIMALS)
        sim[np.arange(len(sim)), np.arange(i, i + len(sim))] = -np.inf
        part = np.argpartition(-sim, k - 1, axis=1)[:, :k]
        kth = np.take_along_axis(sim, part, 1).min(axis=1, keepdims=True)
        if ((sim >= kth).sum(axis=1) != k).any():
            return None
        out[i:i + step] = part
    return out


class _FixedSet(FastNull):
    """Draws that permute one fixed set F of source items (axis 0): Y_null = Y_F[p] with p a
    permutation; anything else is computed plainly. Captures F from the first draw."""

    def __init__(self, spec, x, source, axis, **kw) -> None:
        super().__init__(spec, x, source, axis, **kw)
        self.members: np.ndarray | None = None
        self.ready = False

    def positions(self, idx: np.ndarray) -> np.ndarray | None:
        """p with idx = F[p], or None when idx is not a permutation of F."""
        if self.members is None:
            f = np.unique(idx)
            if len(f) != len(idx):
                return None
            self.members = f
            self.ready = self.prepare(self.source[f])
        if not self.ready or len(idx) != len(self.members):
            return None
        p = np.searchsorted(self.members, idx)
        p = np.minimum(p, len(self.members) - 1)
        if (self.members[p] != idx).any() or len(np.unique(p)) != len(p):
            return None
        return p

    def prepare(self, y_f: np.ndarray) -> bool:  # pragma: no cover - overridden
        return False


class _KNN(_FixedSet):
    """k-NN graph of X and of Y_F once; under Y_null = Y_F[p], N_null(i) = p⁻¹(N_F(p_i)). ``graphs``:
    a dict shared by the k-NN evaluators of one null stream (the graphs are computed once for both)."""

    def __init__(self, spec, x, source, axis, graphs: dict | None = None, **kw):
        super().__init__(spec, x, source, axis, **kw)
        self.graphs = graphs

    def prepare(self, y_f):
        k = self.kw.get("k", 10)
        if not 1 <= k < self.n:
            return False
        ok = rep.defined_items(self.x, y_f, "cosine")
        if not ok.all():
            return False  # items drop out depending on the draw: plain
        self.k = k
        key = (k, self.members.tobytes())  # mutual and Jaccard k-NN of one stream share the graphs
        if self.graphs is not None and key in self.graphs:
            self.nx, self.ny = self.graphs[key]
        else:
            self.nx, self.ny = _knn_no_ties(self.x, k), _knn_no_ties(y_f, k)
            if self.graphs is not None:
                self.graphs[key] = (self.nx, self.ny)
        if self.nx is None or self.ny is None:
            return False
        self.nx = np.sort(self.nx, axis=1)
        return True

    def __call__(self, idx):
        p = self.positions(idx)
        if p is None:
            return self.plain(idx)
        pinv = np.empty_like(p)
        pinv[p] = np.arange(len(p))
        ny = pinv[self.ny[p]]  # (n, k) neighbours of item i under the draw
        inter = (self.nx[:, :, None] == ny[:, None, :]).sum(axis=(1, 2))
        if self.spec.name == "mutual_knn":
            return float(inter.mean() / self.k)
        return float((inter / (2 * self.k - inter)).mean())


class _RSA(_FixedSet):
    """Ranks of X's RDM and of Y_F's RDM once; a permutation of Y's items permutes its RDM, and the
    ranks of a permuted set are the permuted ranks, so a draw is one gather and one dot product."""

    def prepare(self, y_f):
        inner, outer = self.kw.get("inner", "correlation"), self.kw.get("outer", "spearman")
        if inner not in ("correlation", "cosine") or outer not in ("spearman", "pearson"):
            return False
        if self.n < 3 or not rep.defined_items(self.x, y_f, inner).all():
            return False
        n = self.n
        self.iu = np.triu_indices(n, 1)

        def ranks(m):
            r = np.round(rep.rdm(m, inner), rep._DECIMALS)
            if r.min() == r.max():
                return None
            r = rankdata(r) if outer == "spearman" else rep.rdm(m, inner)
            return r - r.mean()

        a, b = ranks(self.x), ranks(y_f)
        if a is None or b is None:
            return False
        def full(v):  # symmetric (n, n) with zero diagonal: Σ_{i<j} a_ij b_ij = ½ Σ_ij A_ij B_ij
            m = np.zeros((n, n))
            m[self.iu] = v
            return m + m.T

        self.a_full, self.b_full = full(a), full(b)
        self.den = 2 * np.sqrt((a @ a) * (b @ b))
        del self.iu
        return True

    def __call__(self, idx):
        p = self.positions(idx)
        if p is None:
            return self.plain(idx)
        return float(np.vdot(self.a_full, self.b_full[np.ix_(p, p)]) / self.den)


class _SubsampledRSA(FastNull):
    """RSA on a fixed random subsample of ``RSA_SUBSAMPLE_ITEMS`` items, for the value and for
    every null draw (too many RDM entries to rank per draw otherwise). X's side (its RDM's centred
    ranks) is computed once; a draw ranks only Y's RDM, and falls back to the plain metric when an item
    of the subsample has no direction (the plain metric then drops it on both sides)."""

    def __init__(self, spec, x, source, axis, seed: int = 0, **kw):
        super().__init__(spec, x, source, axis, **kw)
        self.items = np.sort(np.random.default_rng(seed).choice(self.n, RSA_SUBSAMPLE_ITEMS, replace=False))
        self.note = (f"rsa on a fixed random subsample of {RSA_SUBSAMPLE_ITEMS} of {self.n} items (value and "
                     f"every null draw; n(n-1)/2 ranks per draw are too many)")
        self.inner, self.outer = self.kw.get("inner", "correlation"), self.kw.get("outer", "spearman")
        xs = self.x[self.items]
        self.a = None
        if (self.inner in ("correlation", "cosine") and self.outer in ("spearman", "pearson")
                and rep.defined_items(xs, xs, self.inner).all()):
            self.a = self._centred(xs)

    def _centred(self, m: np.ndarray) -> np.ndarray | None:
        """Centred ranks (spearman) or values (pearson) of m's RDM, None when it is constant."""
        r = rep.rdm(m, self.inner)
        rr = np.round(r, rep._DECIMALS)
        if rr.min() == rr.max():
            return None
        v = rankdata(rr) if self.outer == "spearman" else r
        return v - v.mean()

    def observed(self, y: np.ndarray) -> float:
        return self.spec(self.x[self.items], y[self.items], **self.kw)

    def __call__(self, idx):
        ys = self.source[idx[self.items]]
        if self.a is None or not rep.defined_items(ys, ys, self.inner).all():
            return self.spec(self.x[self.items], ys, **self.kw)
        b = self._centred(ys)
        if b is None:
            return self.spec(self.x[self.items], ys, **self.kw)  # raises the plain metric's MetricUndefined
        return float(self.a @ b / np.sqrt((self.a @ self.a) * (b @ b)))


_ROW_EVALUATORS: dict[str, type[FastNull]] = {
    "linear_cka": _LinearCKA, "linear_cka_debiased": _DebiasedCKA, "svcca": _SVCCA, "pwcca": _PWCCA,
    "orthogonal_procrustes": _Procrustes, "permutation_procrustes": _Procrustes, "mmcs": _MMCS,
    "soft_matching": _SoftMatching,
    "mutual_knn": _KNN, "jaccard_knn": _KNN, "rsa": _RSA,
}


def fast_null(spec: MetricSpec, x: np.ndarray, source: np.ndarray, axis: int, shared: SharedRows | None = None,
              **kw) -> FastNull | None:
    """An evaluator ``idx -> metric(x, take(source, idx, axis))`` that reuses what depends on X only,
    or None where there is none (then the caller evaluates the plain metric per draw).

    x: (n, d1) float64; source: (n_src, d2) when ``axis`` is 0 (rows drawn), (n, n_src) when 1.
    ``shared``: the :class:`SharedRows` of (x, source) that the gram-family evaluators of one null
    stream share (default: each its own, float64).
    """
    if axis != 0 or spec.name not in _ROW_EVALUATORS or x.shape[0] < 4:
        return None
    if spec.same_width and x.shape[1] != np.shape(source)[1]:
        return None  # undefined: the plain metric raises MetricUndefined with its reason
    source = as_f64(source)  # here, not in the sampler: the plain path converts only the drawn columns
    if spec.name == "rsa" and x.shape[0] > RSA_EXACT_MAX_ITEMS:
        return _SubsampledRSA(spec, x, source, axis, **kw)
    cls = _ROW_EVALUATORS[spec.name]
    if issubclass(cls, _RowGram):
        return cls(spec, x, source, axis, shared=shared, **kw)
    if cls is _KNN:
        return cls(spec, x, source, axis, graphs=None if shared is None else shared.knn_graphs, **kw)
    return cls(spec, x, source, axis, **kw)


def uses_shared_rows(name: str) -> bool:
    """Whether metric ``name``'s evaluator reads a :class:`SharedRows`."""
    cls = _ROW_EVALUATORS.get(name)
    return cls is not None and issubclass(cls, _RowGram)


class PairDraw:
    """Shared work of one null draw that gives a whole pair (X, Y) — nulls that redraw X too
    (``random_subset``, ``mismatched_subspace``) and re-indexed columns (activations): centring and one
    SVD per side, computed on first use and read by every metric of the draw that needs them
    (:func:`pair_value`). ``x_side``: a :class:`PairDraw` whose X side is reused (X fixed across draws)."""

    def __init__(self, x: np.ndarray, y: np.ndarray, x_side: PairDraw | None = None):
        self.x, self.y = x, y
        self._c: dict[str, np.ndarray] = {}
        self._svd: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        if x_side is not None:
            x_side.centred("x")
            x_side.svd("x")
            self._c["x"], self._svd["x"] = x_side._c["x"], x_side._svd["x"]
        self._knn: dict[tuple, np.ndarray] = {}

    def centred(self, side: str) -> np.ndarray:
        if side not in self._c:
            self._c[side] = rep._centre(self.x if side == "x" else self.y)
        return self._c[side]

    def svd(self, side: str) -> tuple[np.ndarray, np.ndarray]:
        """(u, s) of the centred side (thin SVD)."""
        if side not in self._svd:
            u, s, _ = _svd(self.centred(side), full_matrices=False)
            self._svd[side] = (u, s)
        return self._svd[side]

    def basis(self, side: str, var_fraction: float | None = None) -> np.ndarray:
        """``representational._orthonormal_basis`` of the centred side, or of its ``_svd_reduce`` to
        ``var_fraction`` (the same span: the first singular directions)."""
        u, s = self.svd(side)
        if var_fraction is not None:
            var = s**2
            if var.sum() == 0:
                return u[:, :0]
            k = int(np.searchsorted(np.cumsum(var) / var.sum(), var_fraction - 1e-12) + 1)
            u, s = u[:, :k], s[:k]
        return u[:, s > 1e-10 * max(s.max(initial=0.0), 1e-300)]

    def knn_overlap(self, k: int, seed: int) -> np.ndarray:
        """``representational._knn_overlap``, once per (k, seed) for mutual and Jaccard k-NN alike."""
        if (k, seed) not in self._knn:
            self._knn[(k, seed)] = rep._knn_overlap(self.x, self.y, k, seed)
        return self._knn[(k, seed)]


def _cca_shared(d: PairDraw, qx: np.ndarray, qy: np.ndarray, name: str):
    n = len(d.x)
    if qx.shape[1] == 0 or qy.shape[1] == 0:
        raise MetricUndefined(f"{name} undefined: a side has no variance across items")
    if qx.shape[1] + qy.shape[1] > n - 1:
        raise MetricUndefined(f"{name} undefined: kx={qx.shape[1]} + ky={qy.shape[1]} kept components exceed "
                              f"n - 1 = {n - 1} (n={n} items), so some canonical correlations are 1 by construction")
    u, rho, _ = _svd(qx.T @ qy, full_matrices=False)
    return u, np.clip(rho, 0.0, 1.0)


def pair_value(name: str, d: PairDraw, **kw) -> float | None:
    """Metric ``name`` of the draw (d.x, d.y) from its shared work, or None where the metric has no
    shared form here (the caller evaluates the plain metric). Equal to the plain metric to float
    rounding (``tests/metrics/test_null_stream.py``); raises its ``MetricUndefined`` alike."""
    x, y = d.x, d.y
    n = len(x)
    if name == "svcca" and n >= 2:
        vf = kw.get("var_fraction", 0.99)
        return float(_cca_shared(d, d.basis("x", vf), d.basis("y", vf), "svcca")[1].mean())
    if name == "pwcca" and n >= 2:
        a, b = ("x", "y") if x.shape[1] <= y.shape[1] else ("y", "x")
        qa = d.basis(a)
        u, rho = _cca_shared(d, qa, d.basis(b), "pwcca")
        alpha = np.abs((qa @ u).T @ d.centred(a)).sum(axis=1)
        return float((alpha * rho).sum() / alpha.sum())
    if name == "orthogonal_procrustes" and not kw:
        xc, yc = d.centred("x"), d.centred("y")
        nx, ny = np.linalg.norm(xc), np.linalg.norm(yc)
        if nx == 0 or ny == 0:
            return None  # the plain metric raises with its own message
        d2 = 2.0 - 2.0 * _svd((xc / nx).T @ (yc / ny), compute_uv=False).sum()
        return None if d2 < 1e-6 else float(np.sqrt(d2))  # cancellation: near-identical shapes measured directly
    if name in ("mutual_knn", "jaccard_knn") and set(kw) <= {"k", "seed"}:
        k = kw.get("k", 10)
        inter = d.knn_overlap(k, kw.get("seed", 0))
        return float(inter.mean() / k) if name == "mutual_knn" else float((inter / (2 * k - inter)).mean())
    return None
