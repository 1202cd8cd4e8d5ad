"""SAE codes are computed in one place (saegeom.sae.encode); batch by batch they equal one call."""

import re
from pathlib import Path

import numpy as np
import pytest
import torch

from saegeom.sae import build_training_sae
from saegeom.sae.encode import encode_batches, encode_rows

SRC = Path(__file__).resolve().parents[2] / "src" / "saegeom"


def test_batches_equal_one_call_and_negative_codes_are_refused():
    sae = build_training_sae(dict(architecture="topk", d_sae=24, k=3), d_in=8, seed=0)
    x = np.random.default_rng(0).standard_normal((50, 8)).astype(np.float32)
    whole = encode_rows(sae, x)
    assert whole.shape == (50, 24) and whole.dtype == torch.float32 and not whole.requires_grad
    # the same codes up to the last bits of float32 (BLAS blocks a 7-row product differently)
    batched = torch.cat(list(encode_batches(sae, x, batch_size=7)))
    assert torch.equal(batched > 0, whole > 0) and torch.allclose(batched, whole, rtol=1e-5, atol=1e-7)

    class Signed:
        def encode(self, x):
            return x - 1.0

    with pytest.raises(ValueError, match="negative"):
        encode_rows(Signed(), x, nonnegative=True)


def test_no_other_module_calls_an_sae_encoder():
    # evaluate.py encodes *and decodes* the same batch for the training metrics; every other code path goes
    # through saegeom.sae.encode
    calls = {str(p.relative_to(SRC)) for p in SRC.rglob("*.py") if re.search(r"\bsae\w*\.encode\(", p.read_text())}
    assert calls == {"sae/encode.py", "sae/evaluate.py"}
