"""The demo's data: the generated tank scenes and the digits loader."""
import numpy as np
import pytest

from demo import datasets


def test_tank_dataset_shapes_and_ranges():
    data = datasets.make_tank_dataset(20, "clean", seed=3, size=40)
    assert data.images.shape == (20, 40, 40, 3)
    assert data.images.dtype == np.float32
    assert data.images.min() >= 0.0 and data.images.max() <= 1.0
    assert data.masks.shape == (20, 40, 40) and data.masks.dtype == bool
    assert sorted(set(data.labels.tolist())) == [0, 1]
    assert (data.labels == 1).sum() == 10
    # Every image has an object, and it is small next to the background.
    area = data.masks.mean(axis=(1, 2))
    assert np.all(area > 0.01) and np.all(area < 0.25)


def test_tank_dataset_is_seeded():
    a = datasets.make_tank_dataset(6, seed=7)
    b = datasets.make_tank_dataset(6, seed=7)
    c = datasets.make_tank_dataset(6, seed=8)
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.masks, b.masks)
    assert not np.array_equal(a.images, c.images)


def _sky_brightness(data):
    # The top rows are always sky (the horizon is below mid-height).
    return data.images[:, :8].mean(axis=(1, 2, 3))


def test_sky_modes():
    confounded = datasets.make_tank_dataset(40, "confounded", seed=1)
    np.testing.assert_array_equal(confounded.dark_sky, confounded.labels == 1)
    swapped = datasets.make_tank_dataset(40, "swapped", seed=1)
    np.testing.assert_array_equal(swapped.dark_sky, swapped.labels == 0)
    clean = datasets.make_tank_dataset(400, "clean", seed=1)
    # Independent of the class: both skies occur in both classes.
    for label in (0, 1):
        share_dark = clean.dark_sky[clean.labels == label].mean()
        assert 0.35 < share_dark < 0.65
    # The flag is what the pixels show: dark skies are darker.
    for data in (confounded, swapped, clean):
        sky = _sky_brightness(data)
        assert sky[data.dark_sky].max() < sky[~data.dark_sky].min()


def test_masks_cover_the_object():
    # The object is drawn in darker colours than the sky; the mask is where
    # it is: pixels under the mask differ from the scene without it.
    data = datasets.make_tank_dataset(10, "clean", seed=2)
    for image, mask in zip(data.images, data.masks):
        ys, xs = np.nonzero(mask)
        assert ys.max() < image.shape[0] and ys.min() > image.shape[0] * 0.3
        inside = image[mask].mean()
        sky = image[:8].mean()
        assert inside < sky


def test_probes_break_the_confound_and_alternate():
    probes = datasets.make_tank_probes(16)
    assert probes.images.shape[0] == 16
    np.testing.assert_array_equal(probes.labels, np.arange(16) % 2)
    np.testing.assert_array_equal(probes.dark_sky, probes.labels == 0)


@pytest.mark.parametrize("kwargs, name", [
    ({"n": 4, "sky": "cloudy"}, "sky"),
    ({"n": 0}, "n"),
    ({"n": 4, "size": 8}, "size"),
    ({"n": 4, "confound_strength": 2.0}, "confound_strength"),
])
def test_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        datasets.make_tank_dataset(**kwargs)


def test_digits_are_real_and_upscaled():
    digits = datasets.load_digits(size=32)
    assert digits.x_train.shape[1:] == (32, 32, 1)
    assert len(digits.x_train) + len(digits.x_test) == 1797
    assert digits.x_train.min() >= 0.0 and digits.x_train.max() <= 1.0
    assert set(digits.y_test.tolist()) == set(range(10))


def test_pick_probes_mixes_classes():
    labels = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
    idx = datasets.pick_probes(labels, n=6, num_classes=3)
    assert labels[idx].tolist() == [0, 1, 2, 0, 1, 2]
    assert len(set(idx.tolist())) == 6
