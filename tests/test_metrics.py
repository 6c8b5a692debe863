import numpy as np
import pytest

from tensorboard_picasso.quality.measures import shortcut_share


def test_share_matches_definition():
    rng = np.random.default_rng(0)
    maps = rng.normal(size=(5, 6, 7))
    masks = rng.random((5, 6, 7)) > 0.5
    got = shortcut_share(maps, masks)
    pos = np.maximum(maps, 0)
    want = (pos * masks).sum(axis=(1, 2)) / pos.sum(axis=(1, 2))
    assert got.shape == (5,)
    np.testing.assert_allclose(got, want)


def test_negative_values_are_ignored():
    maps = np.array([[[0.0, 3.0], [1.0, -5.0]]])
    masks = np.array([[[0, 1], [0, 1]]])
    np.testing.assert_allclose(shortcut_share(maps, masks), [0.75])


def test_full_and_empty_masks():
    maps = np.abs(np.random.default_rng(1).normal(size=(3, 4, 4))) + 0.1
    np.testing.assert_allclose(shortcut_share(maps, np.ones((3, 4, 4), bool)), 1.0)
    np.testing.assert_allclose(shortcut_share(maps, np.zeros((3, 4, 4), bool)), 0.0)


def test_four_dimensional_maps_share_one_mask_per_image():
    rng = np.random.default_rng(2)
    maps = rng.random((4, 3, 5, 5))
    masks = rng.random((4, 5, 5)) > 0.3
    got = shortcut_share(maps, masks)
    assert got.shape == (4, 3)
    for t in range(3):
        np.testing.assert_allclose(got[:, t], shortcut_share(maps[:, t], masks))


def test_non_positive_map_gives_nan():
    maps = np.stack([-np.ones((3, 3)), np.zeros((3, 3)), np.eye(3)])
    got = shortcut_share(maps, np.ones((3, 3, 3)))
    assert np.isnan(got[0]) and np.isnan(got[1])
    assert got[2] == 1.0


def test_float32_input_and_soft_mask():
    maps = np.ones((1, 2, 2), np.float32)
    masks = np.array([[[0.5, 0.5], [0.0, 1.0]]])
    np.testing.assert_allclose(shortcut_share(maps, masks), [0.5])


@pytest.mark.parametrize("maps_shape, masks_shape, name", [
    ((2, 4, 4), (3, 4, 4), "masks"),
    ((2, 4, 4), (2, 4, 5), "masks"),
    ((2, 3, 4, 4), (2, 3, 4, 4), "masks"),
    ((2, 3, 4, 4), (2, 4), "masks"),
    ((4, 4), (4, 4), "maps"),
    ((1, 2, 3, 4, 4), (1, 4, 4), "maps"),
])
def test_shape_mismatch_names_the_parameter(maps_shape, masks_shape, name):
    with pytest.raises(ValueError, match=name):
        shortcut_share(np.ones(maps_shape), np.ones(masks_shape))


def test_bad_values_are_rejected():
    with pytest.raises(ValueError, match="maps"):
        shortcut_share(np.full((1, 2, 2), np.nan), np.ones((1, 2, 2)))
    with pytest.raises(ValueError, match="masks"):
        shortcut_share(np.ones((1, 2, 2)), np.full((1, 2, 2), 2.0))
