"""docs/snapshot_results.py's sections of the families page, on hand-made tables."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]


def _module():
    spec = importlib.util.spec_from_file_location("snapshot_results", REPO / "docs" / "snapshot_results.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_ceiling_fractions_are_median_and_range_over_pairings_and_metrics_counted_once():
    snap = _module()
    rows = []
    # one comparison, two nulls per row (duplicates that must count once), two pairings × two metrics
    for pairing, metric, ratio in [("hungarian", "linear_cka", 0.9), ("hungarian", "rsa", 0.5),
                                   ("one_to_one", "linear_cka", 1.1), ("one_to_one", "rsa", 0.7)]:
        for baseline in ("random_partners", "random_directions"):
            rows.append({"world": "blobs", "sae_a": "topk", "comparison": "blobs:a/topk~b/topk", "subspace": "all",
                         "representation": "decoder", "pairing": pairing, "metric": metric, "baseline": baseline,
                         "value_vs_ceiling": ratio})
    rows.append({**rows[0], "representation": "activations", "value_vs_ceiling": np.nan})  # no ceiling: left out
    got = snap.ceiling_fractions(pd.DataFrame(rows))
    assert got == [{"study": "blobs", "sae": "topk", "subspace": "all", "representation": "decoder",
                    "median": pytest.approx(0.8), "min": 0.5, "max": 1.1, "n": 4}]
    assert snap.ceiling_fractions(pd.DataFrame(rows).drop(columns="value_vs_ceiling")) == []


def test_families_summary_reads_counts_levels_and_ari(tmp_path):
    snap = _module()
    d = tmp_path / "families" / "w"
    d.mkdir(parents=True)
    fam = pd.DataFrame({"family": [0, 0, 0, 1, 1, 2], "model": list("abcabc"), "latent": [0, 0, 0, 1, 1, 1],
                        "n_models": [3, 3, 3, 2, 2, 1]})
    fam.to_parquet(d / "s.parquet")
    val = pd.DataFrame({"level": ["all", "all", "pairs", "any"], "statistic": ["recall", "n_true", "recall", "ari"],
                        "value": [1.0, 3.0, 0.5, 0.25], "n": [3, 3, 2, 6], "seed": 0})
    val.to_parquet(d / "s_validation.parquet")
    (got,) = snap.families_summary(tmp_path)
    assert got["families_by_n_models"] == {"3": 1, "2": 1, "1": 1} and got["n_families"] == 3
    assert got["levels"] == [{"level": "all", "n_true": 3.0, "recall": 1.0}, {"level": "pairs", "recall": 0.5}]
    assert got["ari"] == 0.25 and got["models"] == ["a", "b", "c"]
