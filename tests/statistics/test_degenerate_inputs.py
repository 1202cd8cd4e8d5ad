"""Inputs a metric cannot measure give NaN rows with a note, never numbers made of rounding noise."""


import numpy as np
import pandas as pd
import pytest
from sae_stubs import ReluSAE

from saegeom.compare import CompareSettings, Context, compare_saes, row_with_null
from saegeom.compare.core import AllPairs, pairing_rows
from saegeom.io.shards import ShardWriter
from saegeom.settings import PairingSettings

CTX = Context(source="synthetic", world="w", model_a="a", model_b="b")


class _Clusters(AllPairs):
    """Labels: ``cluster:0`` = the first four pairs, ``cluster:1`` = the rest."""

    def masks(self, a_idx, b_idx):
        first = np.arange(len(a_idx)) < 4
        return {"all": np.ones(len(a_idx), bool), "cluster:0": first, "cluster:1": ~first}


def test_a_repeated_pair_subspace_gives_nan_rows():
    """cluster:0 is one (A, B) pair repeated four times (the ground-truth pairing can map several true
    features to one latent pair): linear CKA and PWCCA would be 1 and Procrustes ~1e-16 on it."""
    rng = np.random.default_rng(0)
    dec_a, dec_b = rng.standard_normal((30, 4)), rng.standard_normal((30, 4))
    a_idx = np.r_[[3] * 4, np.arange(10, 22)]
    b_idx = np.r_[[5] * 4, rng.choice(np.arange(10, 30), 12, replace=False)]
    pairs = pd.DataFrame({"a_idx": a_idx, "b_idx": b_idx})
    settings = CompareSettings(metrics={"decoder": ["linear_cka", "pwcca", "orthogonal_procrustes"]},
                               baselines={"decoder": ["random_partners"]}, n_baseline=19)
    rows = pd.DataFrame(pairing_rows(CTX, "ground_truth", pairs, dec_a, dec_b, None, _Clusters(), settings))
    rep = rows[rows.subspace == "cluster:0"]
    assert len(rep) == 3 and rep.value.isna().all() and rep.p_value.isna().all()
    assert rep.note.str.contains("distinct pairs").all() and (rep.n_distinct_pairs == 1).all()
    other = rows[rows.subspace == "cluster:1"]
    assert other.value.notna().all() and (other.n_distinct_pairs == 12).all()


@pytest.mark.parametrize("k_distinct", [1, 2])
def test_items_identical_up_to_rounding_are_undefined(k_distinct):
    """Rows that differ only by float noise (centring leaves ~1e-17, not 0) are one item."""
    rng = np.random.default_rng(1)
    base_x, base_y = rng.standard_normal((k_distinct, 8)), rng.standard_normal((k_distinct, 8))
    x = np.repeat(base_x, 6, axis=0) + 1e-17 * rng.standard_normal((6 * k_distinct, 8))
    y = np.repeat(base_y, 6, axis=0) + 1e-17 * rng.standard_normal((6 * k_distinct, 8))
    for metric in ("linear_cka", "pwcca", "orthogonal_procrustes"):
        row = row_with_null(CTX, x, y, metric=metric, subspace="all", representation="decoder", pairing="hungarian",
                            n_baseline=19, baseline="repairing", seed=0, n_pairs=len(x))
        assert np.isnan(row["value"]) and np.isnan(row["p_value"]), (metric, row["value"])
        assert "distinct items" in row["note"]
    # three distinct items are enough to be measured
    x3, y3 = rng.standard_normal((3, 8)), rng.standard_normal((3, 8))
    row = row_with_null(CTX, np.repeat(x3, 2, 0), np.repeat(y3, 2, 0), metric="linear_cka", subspace="all",
                        representation="decoder", pairing="hungarian", n_baseline=19, baseline="repairing", seed=0,
                        n_pairs=6)
    assert np.isfinite(row["value"])


@pytest.mark.parametrize("shard_rows", [2000, 600])
def test_one_shard_world_gives_activation_rows_without_p_values(tmp_path, shard_rows):
    """One shard: the held-out tokens are the tokens that paired the latents, so the pairing picked
    partners that agree on exactly these tokens; the rows keep their values but no p-value, and say why."""
    rng = np.random.default_rng(2)
    n = 1200
    za = (rng.random((n, 10)) < 0.2) * rng.random((n, 10))
    zb = (rng.random((n, 10)) < 0.2) * rng.random((n, 10))  # independent of A: a true null
    for name, z in (("a", za), ("b", zb)):
        ShardWriter(tmp_path / name, 10, shard_rows).add(z).close()
    settings = CompareSettings(metrics={"activations": ["linear_cka", "svcca"]}, baselines={"activations":
                               ["random_partners"]}, n_baseline=19, n_tokens=300)
    df = compare_saes(tmp_path / "a", tmp_path / "b", ReluSAE(10, 0), ReluSAE(10, 1), settings=settings,
                      pairing=PairingSettings(pairings=["hungarian"], min_corr=0), context=CTX)
    act = df[df.representation == "activations"]
    assert len(act) and act.value.notna().all()
    if shard_rows >= n:
        assert act.p_value.isna().all() and act.note.str.contains("held-out tokens are the pairing tokens").all()
    else:
        assert act.p_value.notna().all() and not act.note.str.contains("pairing tokens").any()
