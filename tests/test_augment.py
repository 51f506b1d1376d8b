"""nnet.augment: shapes and dtypes, the same seed giving the same images, the identity moving
nothing, known maps moving pixels exactly where they should (a shift, a quarter turn),
bilinear reading between pixels, values staying within the input's range, the elastic field's
smoothness and strength, and the book's expansion by one-pixel shifts keeping every label."""

from __future__ import annotations

import numpy as np
import pytest

from nnet.augment import Augmentation, affine_grid, elastic_displacement, expand_by_shifts, resample

EVERYTHING = Augmentation(shift=2.0, rotation=15.0, scale=0.15, shear=10.0, alpha=34.0, sigma=4.0)


def digits(n=6, shape=(28, 28), seed=0):
    """uint8 images with a bright blob somewhere in the middle, like a digit's strokes."""
    rng = np.random.default_rng(seed)
    images = np.zeros((n, *shape), np.uint8)
    images[:, 8:20, 10:18] = rng.integers(0, 256, (n, 12, 8))
    return images


def identity(n):
    return np.broadcast_to(np.eye(2), (n, 2, 2)), np.zeros((n, 2))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(5, 28, 28), (4, 3, 9, 11)])
def test_shapes_and_dtypes(shape, dtype):
    images = np.random.default_rng(0).integers(0, 256, shape).astype(np.uint8)
    out = EVERYTHING(images, np.random.default_rng(1), dtype=dtype)
    assert out.shape == shape and out.dtype == dtype


def test_writes_into_out():
    images = digits()
    out = np.empty(images.shape, np.float32)
    result = EVERYTHING(images, np.random.default_rng(1), out=out)
    assert result is out
    np.testing.assert_array_equal(out, EVERYTHING(images, np.random.default_rng(1)))


def test_scale_multiplies_every_value_on_the_way():
    images = digits()
    scaled = EVERYTHING(images, np.random.default_rng(3), scale=1 / 255)
    np.testing.assert_allclose(scaled * 255, EVERYTHING(images, np.random.default_rng(3)), rtol=1e-5, atol=1e-4)
    assert scaled.max() <= 1.0


def test_a_kept_cache_gives_the_same_images():
    images, cache = digits(), {}
    first = EVERYTHING(images, np.random.default_rng(8), cache=cache)
    again = EVERYTHING(images, np.random.default_rng(8), cache=cache)
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(first, EVERYTHING(images, np.random.default_rng(8)))
    smaller = EVERYTHING(images[:2], np.random.default_rng(8), cache=cache)  # reuses the arrays
    assert smaller.shape == (2, 28, 28)


def test_same_seed_same_images_other_seed_other_images():
    images = digits()
    first = EVERYTHING(images, np.random.default_rng(42))
    np.testing.assert_array_equal(first, EVERYTHING(images, np.random.default_rng(42)))
    assert not np.allclose(first, EVERYTHING(images, np.random.default_rng(43)))


def test_each_image_gets_its_own_draw():
    images = np.repeat(digits(1), 4, axis=0)
    out = Augmentation(rotation=20.0)(images, np.random.default_rng(0))
    assert len({out[i].tobytes() for i in range(4)}) == 4


def test_identity_moves_nothing_exactly():
    images = digits()
    assert Augmentation().is_identity
    np.testing.assert_array_equal(Augmentation()(images, np.random.default_rng(0)), images)
    rows, cols = affine_grid(len(images), images.shape[1:], *identity(len(images)))
    np.testing.assert_array_equal(resample(images, rows, cols, dtype=np.float64), images)


def test_a_known_shift_moves_pixels_exactly():
    images = digits()
    matrices, _ = identity(len(images))
    translations = np.tile([2.0, -3.0], (len(images), 1))  # two rows down, three columns left
    out = resample(images, *affine_grid(len(images), images.shape[1:], matrices, translations))
    expected = np.zeros(images.shape)
    expected[:, 2:, :-3] = images[:, :-2, 3:]
    np.testing.assert_array_equal(out, expected)


def test_a_quarter_turn_is_rot90():
    images = np.random.default_rng(0).uniform(0, 1, (3, 9, 9))
    turn = np.array([[0.0, 1.0], [-1.0, 0.0]])  # (row, col) -> (col, -row) about the centre
    rows, cols = affine_grid(3, (9, 9), np.broadcast_to(turn, (3, 2, 2)), np.zeros((3, 2)))
    out = resample(images, rows, cols, dtype=np.float64)
    np.testing.assert_allclose(out, np.rot90(images, k=-1, axes=(1, 2)), atol=1e-9)


def test_reading_between_pixels_is_bilinear():
    image = np.array([[[0.0, 10.0], [20.0, 30.0]]])
    rows, cols = np.array([[[0.5, 0.25]]]), np.array([[[0.5, 1.0]]])
    out = resample(image, rows, cols, dtype=np.float64)
    np.testing.assert_allclose(out[0, 0], [15.0, 0.75 * 10.0 + 0.25 * 30.0])


def test_outside_the_image_is_black():
    images = np.full((1, 4, 4), 200, np.uint8)
    rows, cols = np.full((1, 4, 4), -7.0), np.full((1, 4, 4), 50.0)
    np.testing.assert_array_equal(resample(images, rows, cols), 0.0)


def test_values_stay_within_the_pixels_range():
    images = np.random.default_rng(0).integers(0, 256, (32, 28, 28)).astype(np.uint8)
    out = EVERYTHING(images, np.random.default_rng(5))
    assert out.min() >= 0.0 and out.max() <= 255.0
    floats = np.random.default_rng(1).uniform(-1.0, 2.0, (8, 12, 12))
    out = EVERYTHING(floats, np.random.default_rng(5), dtype=np.float64)
    assert out.min() >= min(floats.min(), 0.0) - 1e-12 and out.max() <= floats.max() + 1e-12


def test_channels_move_alike():
    grey = digits(3)
    colour = np.stack([grey, grey, grey], axis=1)
    out = EVERYTHING(colour, np.random.default_rng(2))
    np.testing.assert_array_equal(out[:, 0], EVERYTHING(grey, np.random.default_rng(2)))
    np.testing.assert_array_equal(out[:, 0], out[:, 2])


def test_elastic_field_is_smooth_and_scales_with_alpha():
    dy, dx = elastic_displacement(4, (28, 28), np.random.default_rng(0), alpha=34.0, sigma=4.0)
    assert dy.shape == dx.shape == (4, 28, 28)
    neighbour_step = np.abs(np.diff(dx, axis=2)).mean()
    assert neighbour_step < 0.25 * np.abs(dx).mean()  # smooth: neighbours move almost alike
    dy2, _ = elastic_displacement(4, (28, 28), np.random.default_rng(0), alpha=68.0, sigma=4.0)
    np.testing.assert_allclose(dy2, 2 * dy)


def test_simards_distortion_moves_pixels_by_a_pixel_or_two():
    dy, dx = elastic_displacement(64, (28, 28), np.random.default_rng(0), alpha=34.0, sigma=4.0)
    distance = np.hypot(dy, dx)
    assert 0.5 < distance.mean() < 3.0 and distance.max() < 8.0
    images = digits(4)
    assert not np.array_equal(Augmentation(alpha=34.0)(images, np.random.default_rng(0)), images)


@pytest.mark.parametrize(("settings", "message"), [
    ({"shift": -1.0}, "shift must be a finite number in the range"),
    ({"scale": 1.0}, "scale must be a finite number in the range"),
    ({"sigma": 0.0}, "sigma must be a finite number in the range"),
])
def test_bad_settings_say_what_was_expected(settings, message):
    with pytest.raises(ValueError, match=message):
        Augmentation(**settings)


def test_images_must_be_images():
    with pytest.raises(ValueError, match=r"images must be numbers of shape \(n, height, width\)"):
        EVERYTHING(np.zeros((4, 784), np.uint8), np.random.default_rng(0))


# -- the book's expansion -------------------------------------------------------------------------


def test_expand_by_shifts_gives_five_times_the_data_and_keeps_the_labels():
    images, labels = digits(4), np.array([3, 1, 4, 1])
    x5, y5 = expand_by_shifts(images, labels)
    assert x5.shape == (20, 28, 28) and x5.dtype == np.uint8
    np.testing.assert_array_equal(y5, np.tile(labels, 5))
    np.testing.assert_array_equal(x5[:4], images)
    up, down, left, right = x5[4:8], x5[8:12], x5[12:16], x5[16:20]
    np.testing.assert_array_equal(up[:, :-1], images[:, 1:])
    np.testing.assert_array_equal(down[:, 1:], images[:, :-1])
    np.testing.assert_array_equal(left[:, :, :-1], images[:, :, 1:])
    np.testing.assert_array_equal(right[:, :, 1:], images[:, :, :-1])
    for moved in (up[:, -1], down[:, 0], left[:, :, -1], right[:, :, 0]):
        np.testing.assert_array_equal(moved, 0)


def test_expand_by_shifts_takes_rows_with_their_image_shape():
    images = digits(3)
    x5, _ = expand_by_shifts(images.reshape(3, -1), np.arange(3), image_shape=(28, 28))
    assert x5.shape == (15, 784)
    np.testing.assert_array_equal(x5.reshape(15, 28, 28), expand_by_shifts(images, np.arange(3))[0])
    with pytest.raises(ValueError, match="give image_shape"):
        expand_by_shifts(images.reshape(3, -1), np.arange(3))


def test_expand_by_shifts_refuses_mismatched_labels():
    with pytest.raises(ValueError, match="x has 3 samples but y has 2"):
        expand_by_shifts(digits(3), [1, 2])
