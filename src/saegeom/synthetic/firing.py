"""Correlated sparse firing of ground-truth features.

The procedure of Sharkey et al., "Taking features out of superposition with
sparse autoencoders" (2022), vectorised:

1. a random correlation matrix ``C`` (G×G) — SAELens'
   ``generate_random_correlation_matrix``, its draws re-done here so that one
   factorisation (Cholesky, or the eigendecomposition that repairs a matrix that
   is not positive definite, with a warning) serves as the factor — computed
   **once** (the original code called ``np.random.multivariate_normal`` per
   batch, which re-factorises ``C`` every call);
2. ``z ~ N(0, C)`` per sample, ``u = Φ(z)`` (uniform marginals, correlated);
3. ``p_i = min(1, s · decay^{r_i} · u_i)`` with ``r_i`` the feature's frequency
   rank; the scale ``s`` is solved so the expected number of active features
   equals ``mean_active`` exactly (closed form below, clipping included);
4. fire ~ Bernoulli(p), value = fire × U(0, 1).

Low-rank option (``correlation: {rank: r, correlation_scale: s}``, SynthSAEBench scale): C = F Fᵀ +
diag(D) from SAELens' ``generate_random_low_rank_correlation_matrix`` (F: G × r, D = 1 − row norms²),
sampled as z = η·√D + ε Fᵀ with η ~ N(0, I_G), ε ~ N(0, I_r): set-up O(G·r), no G×G matrix ever, and
per sample O(G·r) instead of the G×G matmul — the same copula construction as SAELens'
``_generate_low_rank_correlated_features``.

SAELens' own ``ActivationGenerator`` thresholds the Gaussian directly (a
copula with fixed firing probabilities) rather than drawing Bernoulli(Φ(z)·…),
so steps 2–4 are written here.

Shapes: ``sample(n)`` returns (n, G) float32 coefficients, rows = samples.
"""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.optimize import brentq

if TYPE_CHECKING:  # torch is imported where it is used: building a world file needs no torch start-up
    import torch


def _expected_active(a: np.ndarray) -> np.ndarray:
    """E[min(1, a·U)] for U ~ Uniform(0, 1): a/2 if a ≤ 1, else 1 − 1/(2a)."""
    a = np.asarray(a, dtype=np.float64)
    return np.where(a <= 1, a / 2, 1 - 1 / (2 * np.maximum(a, 1e-300)))


def calibrate_scale(weights: np.ndarray, mean_active: float) -> float:
    """Scale ``s`` with Σ_i E[min(1, s·w_i·U)] = ``mean_active`` (U uniform).

    Exact whatever the correlation, because Φ(z_i) is uniform for every i.
    """
    n = len(weights)
    if not 0 < mean_active < n:
        raise ValueError(f"mean_active must be in (0, {n}) for {n} features, got {mean_active}")
    f = lambda s: float(_expected_active(s * weights).sum()) - mean_active  # noqa: E731
    hi = 1.0
    while f(hi) < 0:
        hi *= 2
    return brentq(f, 0.0, hi, xtol=1e-12, rtol=1e-12)


def _saelens_raw_correlations(n: int, seed: int, positive_ratio: float = 0.5, uncorrelated_ratio: float = 0.3,
                              min_correlation_strength: float = 0.1,
                              max_correlation_strength: float = 0.8) -> np.ndarray:
    """The symmetric matrix SAELens' ``generate_random_correlation_matrix`` draws *before* its
    positive-definiteness check (same generator, same calls, float64 strengths), (n, n) float64.

    Re-written here (vectorised, as SAELens is) because SAELens then runs two G×G eigendecompositions
    (``eigvalsh`` to test, ``eigh`` to repair) and this module a Cholesky on top: ≈45 s at G = 2048
    on 2 cores. :func:`random_correlation_factor` needs one factorisation.
    """
    import torch
    from sae_lens.synthetic.correlation import _validate_correlation_params

    _validate_correlation_params(positive_ratio, uncorrelated_ratio, min_correlation_strength,
                                 max_correlation_strength)
    g = torch.Generator().manual_seed(seed)
    row, col = torch.triu_indices(n, n, offset=1)
    m = row.shape[0]
    is_corr = torch.rand(m, generator=g) >= uncorrelated_ratio
    sign = torch.where(torch.rand(m, generator=g) < positive_ratio, 1.0, -1.0)
    strength = (torch.rand(m, generator=g, dtype=torch.float64) * (max_correlation_strength - min_correlation_strength)
                + min_correlation_strength)
    out = np.eye(n)
    vals = (is_corr.double() * sign.double() * strength).numpy()
    r, c = row.numpy(), col.numpy()
    out[r, c] = vals
    out[c, r] = vals
    return out


def random_correlation_factor(n: int, seed: int, **kw: Any) -> np.ndarray:
    """(n, n) float64 F with F Fᵀ = SAELens' random correlation matrix (``kw``: its options), factored once.

    A positive-definite draw gets its Cholesky factor. Otherwise SAELens' repair — eigenvalues
    clamped at 1e-6, then rescaled to unit diagonal — is applied *through the factor*,
    F = D^{-1/2} V Λ₊^{1/2} from the one ``eigh`` (no second decomposition, no Cholesky), and a
    warning says how far the realised correlations are from the requested ones: the repair can
    move many of them (at G = 3072 it clamped 1324 eigenvalues). Any F with F Fᵀ = C
    gives z = F ε ~ N(0, C), so sampling is unchanged in distribution.
    """
    from scipy.linalg import LinAlgError, cholesky, eigh

    raw = _saelens_raw_correlations(n, seed, **kw)
    try:
        return cholesky(raw, lower=True, check_finite=False)
    except LinAlgError:
        pass
    w, v = eigh(raw, check_finite=False)
    clamped = int((w < 1e-6).sum())
    f = v * np.sqrt(np.maximum(w, 1e-6))
    f /= np.sqrt(np.maximum((f * f).sum(axis=1, keepdims=True), 1e-8))
    rows = np.random.default_rng(seed).choice(n, min(n, 64), replace=False)  # a sample of rows: O(64·n²)
    off = np.ones((len(rows), n), bool)
    off[np.arange(len(rows)), rows] = False
    realised, requested = (f[rows] @ f.T)[off], raw[rows][off]
    lost = (np.abs(requested) > 0) & (np.abs(realised) < 0.5 * np.abs(requested))
    warnings.warn(f"random correlation matrix of {n} features is not positive definite; repaired as SAELens does: "
                  f"{clamped} of {n} eigenvalues clamped to 1e-6, mean |realised - requested| off-diagonal "
                  f"correlation {np.abs(realised - requested).mean():.3f}, {lost.mean():.1%} of entries keep under "
                  f"half their requested strength (lower the correlation strengths or raise uncorrelated_ratio)",
                  stacklevel=2)
    return f


def random_correlation_cholesky(n: int, seed: int, **kw: Any) -> torch.Tensor:
    """A factor L (n×n, float32) with L Lᵀ = SAELens' random correlation matrix (lower triangular
    when that matrix is positive definite); see :func:`random_correlation_factor`."""
    import torch

    return torch.from_numpy(random_correlation_factor(n, seed, **kw)).to(torch.float32)


#: correlation options of the low-rank form (SAELens ``generate_random_low_rank_correlation_matrix``)
LOW_RANK_KEYS = ("rank", "correlation_scale")


def random_low_rank_correlation(n: int, rank: int, seed: int,
                                correlation_scale: float = 0.075) -> tuple[torch.Tensor, torch.Tensor]:
    """SAELens' random low-rank correlation C = F Fᵀ + diag(D): (F (n, rank), D (n,)), float32, unit
    diagonal (SAELens caps rows whose norm would leave D < 0.01, with a logged warning)."""
    from sae_lens.synthetic import generate_random_low_rank_correlation_matrix

    lr = generate_random_low_rank_correlation_matrix(n, rank, correlation_scale, seed=seed)
    return lr.correlation_factor, lr.correlation_diag


class CorrelatedFiring:
    """Sharkey-style correlated sparse coefficients over ``n_features`` features.

    Args:
        n_features: G.
        mean_active: expected number of active features per sample.
        decay: per-rank decay of firing probability (1.0 = all equal).
        rank: (G,) frequency rank of each feature (0 = most frequent); default identity.
        correlation: None for independent features, else SAELens correlation options: those of
            ``generate_random_correlation_matrix`` (full rank, a G×G factor), or ``rank`` (and optionally
            ``correlation_scale``) for the low-rank form of ``generate_random_low_rank_correlation_matrix``.
        seed: seeds the correlation matrix and the sampling stream.
        device: where samples are drawn (``cuda`` on a GPU machine); the factor is computed on the host.
    """

    def __init__(self, n_features: int, mean_active: float, decay: float = 1.0,
                 rank: np.ndarray | None = None, correlation: dict[str, Any] | None = None,
                 seed: int = 0, device: str = "cpu"):
        if not 0 < decay <= 1:
            raise ValueError(f"decay must be in (0, 1], got {decay}")
        self.n_features = n_features
        self.mean_active = mean_active
        self.rank = np.arange(n_features) if rank is None else np.asarray(rank)
        if sorted(self.rank.tolist()) != list(range(n_features)):
            raise ValueError("rank must be a permutation of 0..n_features-1")
        self.weights = decay ** self.rank.astype(np.float64)
        self.device = device
        self.low_rank = None
        if correlation is not None and "rank" in correlation:
            other = sorted(set(correlation) - set(LOW_RANK_KEYS))
            if other:
                raise ValueError(f"correlation options {other} are those of the full-rank matrix; the low-rank form "
                                 f"(rank) takes only {list(LOW_RANK_KEYS)}")
            self.chol = None
            self.low_rank = random_low_rank_correlation(n_features, seed=seed, **correlation)
        else:
            self.chol = None if correlation is None else random_correlation_cholesky(n_features, seed, **correlation)
        import torch

        self.generator = torch.Generator(device=device).manual_seed(seed)
        self._scales = torch.from_numpy(self._calibrate()).float()
        self._scales_dev = self._scales.to(device)
        self._chol_t = None if self.chol is None else self.chol.T.contiguous().to(device)
        if self.low_rank is not None:
            factor, diag = self.low_rank
            self._factor_t = factor.T.contiguous().to(device)  # (r, G)
            self._diag_sqrt = diag.clamp(min=0).sqrt().to(device)

    def requested_correlation(self, idx: np.ndarray | None = None) -> np.ndarray:
        """The Gaussian copula's correlation matrix C restricted to features ``idx`` (default all),
        (k, k) float64; identity for independent features. Builds a k × k matrix: ask for a subset at large G."""
        idx = np.arange(self.n_features) if idx is None else np.asarray(idx)
        if self.low_rank is not None:
            f, d = (t.double().numpy() for t in self.low_rank)
            return f[idx] @ f[idx].T + np.diag(d[idx])
        if self.chol is None:
            return np.eye(len(idx))
        f = self.chol.double().numpy()[idx]
        return f @ f.T

    def _calibrate(self) -> np.ndarray:
        """Per-feature scale × decay weight, so that p_i = min(1, scaled_i · u_i)."""
        return calibrate_scale(self.weights, self.mean_active) * self.weights

    def firing_probabilities(self) -> np.ndarray:
        """Exact marginal firing probability of each feature, (G,)."""
        return _expected_active(self._scales.double().numpy())

    def _uniforms(self, n: int) -> torch.Tensor:
        import torch

        z = torch.randn(n, self.n_features, generator=self.generator, device=self.device)
        if self._chol_t is not None:  # the one G×G matmul per sample: the floor of this generator
            assert self.chol is not None  # _chol_t is built from it
            z = z @ (self.chol.T if self.device == "cpu" else self._chol_t)  # same product as before on the host
        return z.div_(math.sqrt(2)).erf_().add_(1).mul_(0.5)  # Φ(z) = (1 + erf(z/√2))/2, in place

    def _probabilities(self, n: int) -> torch.Tensor:
        return self._uniforms(n).mul_(self._scales_dev).clamp_(max=1.0)

    def sample(self, n: int) -> torch.Tensor:
        """(n, G) float32 coefficients on ``device``: Bernoulli(p) × U(0, 1).

        The arithmetic is done in place but in the same order and with the same random calls as the
        plain version, so a seed gives the same samples bit for bit on the host (shards, trained
        SAEs and the bounds measured on them stay valid). One uniform could give both the firing
        and the magnitude (r < p, then r / p ~ U(0, 1)); it saves one pass but changes every stream.
        """
        import torch

        if self.low_rank is not None:
            return self._sample_low_rank(n)
        with torch.no_grad():
            p = self._probabilities(n)
            fire = torch.rand(p.shape, generator=self.generator, device=self.device) < p
            return torch.rand(p.shape, generator=self.generator, device=self.device).mul_(fire)

    def _allowed(self, n: int) -> torch.Tensor | None:
        """(n, G) bool: features that may fire in each sample (None = all)."""
        return None

    def _sample_low_rank(self, n: int) -> torch.Tensor:
        """(n, G) float32 samples of the low-rank copula, the same distribution as :meth:`sample`'s
        steps, drawn only where a feature can fire.

        One uniform u per entry serves both the firing and the magnitude (fire when u < p, then
        u / p ~ U(0, 1), independent of p). Since p_i = min(1, s_i·Φ(z_i)) ≤ s_i, only entries with
        u < s_i can fire (≈ 2 × ``mean_active`` per sample); z is drawn at those entries alone,
        z_i = η_i·√D_i + ε·F_i with ε ~ N(0, I_r) per sample, which has the copula's joint law
        on any set of entries chosen independently of z. Cost per sample: G uniforms and
        O(mean_active · r), instead of G Gaussians, the G×r product, Φ and two more uniforms.
        """
        import torch

        with torch.no_grad():
            if getattr(self, "_buf_rows", None) != n:  # u and the candidate mask reuse their memory across calls
                self._u_buf = torch.empty(n, self.n_features, device=self.device)
                self._cand_buf = torch.empty(n, self.n_features, dtype=torch.bool, device=self.device)
                self._buf_rows = n
            u = torch.rand(n, self.n_features, generator=self.generator, device=self.device, out=self._u_buf)
            cand = torch.lt(u, self._scales_dev, out=self._cand_buf)
            allowed = self._allowed(n)
            if allowed is not None:
                cand &= allowed
            flat = cand.view(-1).nonzero().squeeze(1)  # row-major positions t·G + i
            i = flat % self.n_features
            eps = torch.randn(n, self._factor_t.shape[0], generator=self.generator, device=self.device)
            eta = torch.randn(len(flat), generator=self.generator, device=self.device)
            out = torch.zeros(n * self.n_features, device=self.device)
            if not len(flat):
                return out.view(n, self.n_features)
            # ε_t · F_i at the candidates only: a sampled matmul on their CSR pattern (a gather of ε and F
            # rows per candidate was 70× slower on 2 CPU cores)
            crow = torch.searchsorted(flat, torch.arange(n + 1, device=self.device) * self.n_features)
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
                pattern = torch.sparse_csr_tensor(crow, i, torch.zeros(len(flat), device=self.device),
                                                  size=(n, self.n_features), check_invariants=False)
                low = torch.sparse.sampled_addmm(pattern, eps, self._factor_t).values()
            z = eta.mul_(self._diag_sqrt.index_select(0, i)).add_(low)
            p = torch.special.ndtr(z).mul_(self._scales_dev.index_select(0, i)).clamp_(max=1.0)
            ut = u.view(-1).index_select(0, flat)
            fire = ut < p
            out[flat[fire]] = ut[fire] / p[fire]
            return out.view(n, self.n_features)


class FeatureGroupFiring(CorrelatedFiring):
    """Feature-group variant: features are split into ``n_groups`` groups; each
    sample picks one group uniformly and only features of that group fire, with
    the same Φ(z)·decay procedure calibrated so the expected number active
    *within the chosen group* is ``mean_active``.

    ``group``: (G,) group id of each feature (default: round-robin over rank order).
    """

    def __init__(self, n_features: int, mean_active: float, n_groups: int, decay: float = 1.0,
                 rank: np.ndarray | None = None, correlation: dict[str, Any] | None = None,
                 seed: int = 0, group: np.ndarray | None = None, device: str = "cpu"):
        if not 1 <= n_groups <= n_features:
            raise ValueError(f"n_groups must be in [1, {n_features}], got {n_groups}")
        r = np.arange(n_features) if rank is None else np.asarray(rank)
        self.n_groups = n_groups
        self.group = (r % n_groups) if group is None else np.asarray(group)
        super().__init__(n_features, mean_active, decay, r, correlation, seed, device)

    def _calibrate(self) -> np.ndarray:
        scaled = np.empty(self.n_features)
        for g in range(self.n_groups):
            m = self.group == g
            scaled[m] = calibrate_scale(self.weights[m], self.mean_active) * self.weights[m]
        return scaled

    def firing_probabilities(self) -> np.ndarray:
        return super().firing_probabilities() / self.n_groups

    def _probabilities(self, n: int) -> torch.Tensor:

        p = super()._probabilities(n)
        return p * self._allowed(n)

    def _allowed(self, n: int) -> torch.Tensor:
        import torch

        chosen = torch.randint(self.n_groups, (n, 1), generator=self.generator, device=self.device)
        return torch.from_numpy(self.group).to(self.device)[None, :] == chosen


def make_firing(cfg: dict[str, Any], n_features: int, rank: np.ndarray, seed: int,
                device: str = "cpu", hierarchy: Any = None) -> Any:
    """Build a firing process from a world's ``firing`` config block, sampling on ``device``.

    ``hierarchy``: the world's planted hierarchy (``saegeom.synthetic.hierarchy.PlantedHierarchy``) when the
    block has ``hierarchy``; the process is then a ``HierarchicalFiring`` around the block's base process."""
    if cfg.get("hierarchy"):
        from saegeom.synthetic.hierarchy import make_hierarchical_firing

        if hierarchy is None:
            raise ValueError("firing.hierarchy is set but no planted hierarchy was given (build the world first)")
        base_cfg = {k: v for k, v in cfg.items() if k != "hierarchy"}
        return make_hierarchical_firing(lambda n, r, s: make_firing(base_cfg, n, r, s, device), cfg["hierarchy"],
                                        hierarchy, n_features, rank, seed, device)
    corr = cfg.get("correlation")
    corr = None if not corr or not corr.get("enabled", True) else {k: v for k, v in corr.items() if k != "enabled"}
    common = dict(n_features=n_features, mean_active=cfg["mean_active"], decay=cfg.get("decay", 1.0),
                  rank=rank, correlation=corr, seed=seed, device=device)
    kind = cfg.get("kind", "correlated")
    if kind == "correlated":
        return CorrelatedFiring(**common)
    if kind == "groups":
        return FeatureGroupFiring(n_groups=cfg["n_groups"], **common)
    raise ValueError(f"unknown firing kind {kind!r}; expected correlated or groups")
