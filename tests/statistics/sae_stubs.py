"""Stand-in SAEs for statistics tests (no training)."""

from types import SimpleNamespace

import numpy as np
import torch


class ReluSAE(torch.nn.Module):
    """Codes are relu(x); decoder rows are seeded Gaussian (d, 6)."""

    def __init__(self, d, seed):
        super().__init__()
        self.cfg = SimpleNamespace(d_sae=d)
        self.W_dec = torch.from_numpy(np.random.default_rng(seed).standard_normal((d, 6)))

    def encode(self, x):
        return torch.relu(x)
