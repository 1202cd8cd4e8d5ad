import numpy as np
import pytest

from saegeom.synthetic.geometry import make_features


@pytest.mark.parametrize("kind", ["sphere", "blobs", "circles"])
def test_unit_norm_rows(kind):
    f, _ = make_features(kind, 70, 12, np.random.default_rng(0))
    assert f.shape == (70, 12)
    np.testing.assert_allclose(np.linalg.norm(f, axis=1), 1.0)


def test_circles_are_regular_polygons_in_2_planes():
    f, lab = make_features("circles", 24, 10, np.random.default_rng(1), circle_size=6)
    for c in range(4):
        idx = np.where(lab["circle"] == c)[0]
        pts = f[idx][np.argsort(lab["circle_position"][idx])]
        assert np.linalg.matrix_rank(pts, tol=1e-8) == 2
        neighbour_cos = np.sum(pts * np.roll(pts, -1, axis=0), axis=1)
        np.testing.assert_allclose(neighbour_cos, np.cos(2 * np.pi / 6), atol=1e-10)


def test_blobs_members_closer_to_own_cluster():
    f, lab = make_features("blobs", 80, 16, np.random.default_rng(2), n_clusters=4, spread=0.3)
    cos = f @ f.T
    same = lab["cluster"][:, None] == lab["cluster"][None, :]
    np.fill_diagonal(same, False)
    other = lab["cluster"][:, None] != lab["cluster"][None, :]
    assert cos[same].mean() > 0.8 and cos[other].mean() < 0.5


def test_unknown_geometry():
    with pytest.raises(ValueError, match="unknown geometry"):
        make_features("torus", 5, 3, np.random.default_rng(0))
