"""Width-family labels on hand-made decoders, the family table and the link validation (hand-computed)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from saegeom.synthetic.hierarchy import PlantedHierarchy
from saegeom.widths import family_table, feature_map, label_latents, validate_links


def unit(x):
    x = np.asarray(x, float)
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def test_split_same_novel_merged_on_hand_made_decoders():
    e = np.eye(8)
    # wide: 0, 1 = two directions whose normalised sum is narrow 0 (a split); 2 = narrow 1 (same);
    # 3 = an unrelated direction (novel); 4 = the normalised sum of narrow 2 and narrow 3 (merged)
    narrow = unit(np.stack([e[0] + e[1], e[2], e[4], e[5]]))
    wide = unit(np.stack([e[0], e[1], e[2], e[7], e[4] + e[5]]))
    lab = label_latents(wide @ narrow.T)  # cosines 1/√2 ≈ 0.707 ≥ 0.5 link the split and the merge
    assert lab["label"].tolist() == ["split", "split", "same", "novel", "merged"]
    assert lab["parent_latent"].tolist()[:4] == [0, 0, 1, -1]
    assert lab["n_siblings"].tolist()[:4] == [2, 2, 1, 0]
    assert lab["cosine"].iloc[0] == pytest.approx(1 / np.sqrt(2))
    assert np.isnan(lab["cosine"].iloc[3])


def test_identical_decoders_are_all_same_and_random_ones_novel():
    rng = np.random.default_rng(0)
    d = unit(rng.standard_normal((16, 256)))
    assert (label_latents(d @ d.T)["label"] == "same").all()
    other = unit(rng.standard_normal((32, 256)))  # |cos| ~ 1/√256: far below 0.5
    assert (label_latents(other @ d.T)["label"] == "novel").all()


def test_coactivation_links_a_child_whose_direction_differs():
    e = np.eye(4)
    narrow = np.stack([e[0]])                       # the parent's latent
    wide = np.stack([e[0], e[1], e[2], e[3]])        # parent, two children, one unrelated
    cont = np.array([[1.0], [0.95], [0.9], [0.02]])  # P(narrow fires | wide fires)
    lab = label_latents(wide @ narrow.T, cont, alive=np.array([True, True, True, True]))
    assert lab["label"].tolist() == ["split", "split", "split", "novel"]
    lab = label_latents(wide @ narrow.T, cont, alive=np.array([True, True, False, True]))
    assert lab["label"].tolist()[2] == "dead"
    only_cos = label_latents(wide @ narrow.T)  # without co-activation the children are unlinked
    assert only_cos["label"].tolist() == ["same", "novel", "novel", "novel"]


def test_thresholds_are_checked():
    with pytest.raises(ValueError, match="min_cosine"):
        label_latents(np.eye(2), min_cosine=0)
    with pytest.raises(ValueError, match="shape"):
        label_latents(np.eye(2), np.eye(3))


def test_validation_counts_links_by_hand():
    # true features: 0 = parent of 1 and 2; 3 = parent of 4
    h = PlantedHierarchy(child=np.array([1, 2, 4]), parent=np.array([0, 0, 3]), child_rate=0.5,
                         mutually_exclusive=True)
    gt = np.eye(6)
    narrow = gt[[0, 3]]                  # latents of parents 0 and 3
    wide = gt[[0, 1, 2, 3, 5]]           # parent 0 continues, children 1 and 2, parent 3, unrelated 5
    cont = np.array([[1.0, 0], [0.9, 0], [0.9, 0], [0, 1.0], [0.8, 0.0]])  # latent of 5 wrongly fires with 0
    lab = label_latents(wide @ narrow.T, cont)
    feats = {w: feature_map(d, gt, 0.7) for w, d in ((2, narrow), (5, wide))}
    fam = family_table({2: narrow, 5: wide}, {5: lab}, feats)
    assert fam.loc[fam["width"] == 2, "label"].eq("root").all()
    val = validate_links(fam, h)
    row = val.iloc[0]
    # recovered: (0,1), (0,2) correct; (0,5) wrong; 3's latent is "same" (no child): precision 2/3, recall 2/3
    assert (row["n_recovered"], row["n_correct"]) == (3, 2)
    assert row["precision"] == pytest.approx(2 / 3) and row["recall"] == pytest.approx(2 / 3)
    assert row["recall_cumulative"] == row["recall"]  # one width: nothing found before
    # children 1 and 2 appear here (4 does not): both links recovered
    assert row["n_new_children"] == 2 and row["recall_new"] == 1.0
    assert (row["n_split"], row["n_same"], row["n_latents"]) == (4, 1, 5)
    assert row["children_present"] == pytest.approx(2 / 3) and row["parents_present"] == 1.0
    none = validate_links(fam, None).iloc[0]
    assert np.isnan(none["recall"]) and none["n_split"] == 4


def test_family_table_schema_and_order():
    d = np.eye(3)
    fam = family_table({3: d, 2: d[:2]}, {3: label_latents(d @ d[:2].T)})
    assert fam["width"].tolist() == [2, 2, 3, 3, 3]
    assert fam.loc[fam["width"] == 3, "parent_width"].tolist() == [2, 2, -1]
    assert isinstance(fam, pd.DataFrame) and (fam["feature"] == -1).all()
