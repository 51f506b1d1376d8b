"""MaxPool2D, AvgPool2D and Flatten: worked examples by hand, ties, overlapping and padded
windows, the backward pass against centred differences (float64), shapes taken from below.
PyTorch's max_pool2d and avg_pool2d are the other oracle (test_conv_torch.py)."""

from __future__ import annotations

import numpy as np
import pytest

from nnet.pooling import AvgPool2D, Flatten, MaxPool2D
from _layer_checks import backward, check_layer_gradients

# (size, stride, padding, input (C, H, W)): tiling, overlapping, gapped, padded, odd, non-square
GEOMETRIES = [
    (2, None, 0, (2, 6, 6)),
    (2, None, 0, (3, 7, 5)),  # odd sides: the last row and column are never read
    (3, 1, 0, (2, 5, 6)),  # overlapping windows
    (3, 2, 1, (2, 7, 7)),  # overlapping and padded
    ((2, 3), (1, 2), (1, 1), (1, 5, 7)),
    (2, 3, 0, (2, 8, 8)),  # gaps between the windows
]

SQUARE = np.array([[1.0, 2.0, 5.0, 0.0],
                   [3.0, 4.0, 1.0, 1.0],
                   [0.0, -1.0, 7.0, 8.0],
                   [-2.0, -3.0, 6.0, 9.0]]).reshape(1, 1, 4, 4)


def make(kind, geometry, seed=0, batch=3):
    size, stride, padding, shape = geometry
    layer = kind(size, stride, padding, input_shape=shape, dtype=np.float64)
    x = np.random.default_rng(seed).normal(size=(batch, *shape))
    return layer, x


def test_max_pool_by_hand():
    pool = MaxPool2D(2, input_shape=(1, 4, 4), dtype=np.float64)
    np.testing.assert_array_equal(pool.forward(SQUARE), [[[[4.0, 5.0], [0.0, 9.0]]]])
    _, _, dx = backward(pool, SQUARE, np.array([[[[10.0, 20.0], [30.0, 40.0]]]]))
    expected = np.zeros((1, 1, 4, 4))
    expected[0, 0, 1, 1], expected[0, 0, 0, 2], expected[0, 0, 2, 0], expected[0, 0, 3, 3] = 10, 20, 30, 40
    np.testing.assert_array_equal(dx, expected)


def test_avg_pool_by_hand():
    pool = AvgPool2D(2, input_shape=(1, 4, 4), dtype=np.float64)
    np.testing.assert_allclose(pool.forward(SQUARE), [[[[2.5, 1.75], [-1.5, 7.5]]]])
    _, _, dx = backward(pool, SQUARE, np.array([[[[4.0, 8.0], [12.0, 16.0]]]]))
    np.testing.assert_allclose(dx[0, 0], [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]])


def test_a_tie_sends_the_error_to_the_first_winner_as_pytorch_does():
    x = np.zeros((1, 1, 2, 2))  # ReLU's zeros make ties common
    x[0, 0, 1, 0] = x[0, 0, 1, 1] = 1.0
    pool = MaxPool2D(2, input_shape=(1, 2, 2), dtype=np.float64)
    _, _, dx = backward(pool, x, np.ones((1, 1, 1, 1)))
    np.testing.assert_array_equal(dx[0, 0], [[0.0, 0.0], [1.0, 0.0]])


def test_padding_never_wins_a_max_window():
    x = -np.ones((1, 1, 3, 3))
    pool = MaxPool2D(2, stride=2, padding=1, input_shape=(1, 3, 3), dtype=np.float64)
    np.testing.assert_array_equal(pool.forward(x), -np.ones((1, 1, 2, 2)))


def test_average_counts_the_padding_zeros():
    pool = AvgPool2D(2, stride=2, padding=1, input_shape=(1, 2, 2), dtype=np.float64)
    np.testing.assert_allclose(pool.forward(np.ones((1, 1, 2, 2))), np.full((1, 1, 2, 2), 0.25))


@pytest.mark.parametrize("geometry", GEOMETRIES)
@pytest.mark.parametrize("kind", [MaxPool2D, AvgPool2D])
def test_gradients_match_centred_differences(kind, geometry):
    layer, x = make(kind, geometry)
    check_layer_gradients(layer, x)


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_max_pool_is_the_maximum_of_each_window(geometry):
    layer, x = make(MaxPool2D, geometry)
    (kh, kw), (sh, sw), (ph, pw) = layer.kernel_size, layer.stride, layer.padding
    framed = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    _, rows, cols = layer.output_shape
    expected = np.array([[[[framed[s, c, i * sh : i * sh + kh, j * sw : j * sw + kw].max() for j in range(cols)]
                           for i in range(rows)] for c in range(x.shape[1])] for s in range(len(x))])
    np.testing.assert_array_equal(layer.forward(x), expected)
    z, a = np.empty_like(expected), np.empty_like(expected)
    layer.forward(x, z, a, {})
    np.testing.assert_array_equal(a, expected)


def test_pooling_keeps_the_channels_and_shrinks_the_maps():
    pool = MaxPool2D(2, input_shape=(20, 24, 24))
    assert pool.output_shape == (20, 12, 12)
    assert pool.parameters == {} and pool.n_parameters == 0
    assert pool.dtype == np.float32


def test_a_smaller_batch_reuses_the_winners():
    layer, x = make(MaxPool2D, GEOMETRIES[3], batch=5)
    upstream = np.random.default_rng(4).normal(size=(5, *layer.output_shape))
    z = np.empty((5, *layer.output_shape))
    a, cache = np.empty_like(z), {}
    for n in (5, 2):
        layer.forward(x[:n], z[:n], a[:n], cache)
        dx = layer.backpropagate(upstream[:n].copy(), cache=cache)
    _, _, fresh = backward(layer, x[:2], upstream[:2])
    np.testing.assert_array_equal(dx, fresh)


@pytest.mark.parametrize(("arguments", "message"), [
    ((0,), "MaxPool2D size must be a positive integer"),
    ((2, 0), "MaxPool2D stride must be a positive integer"),
    ((2, 2, 2), "padding must be at most half the window size"),
])
def test_bad_settings_say_what_was_expected(arguments, message):
    with pytest.raises(ValueError, match=message):
        MaxPool2D(*arguments)


def test_a_window_larger_than_the_maps_is_refused():
    with pytest.raises(ValueError, match="MaxPool2D: a 3x3 window does not fit"):
        MaxPool2D(3, input_shape=(4, 2, 2))


def test_maps_must_have_three_sides():
    with pytest.raises(ValueError, match=r"takes feature maps of shape \(channels, height, width\)"):
        AvgPool2D(2, input_shape=(784,))


def test_describe():
    entry = MaxPool2D(3, stride=2, padding=1, input_shape=(4, 9, 9)).describe()
    assert entry["kind"] == "max_pool2d" and entry["size"] == [3, 3] and entry["stride"] == [2, 2]
    assert entry["padding"] == [1, 1] and entry["output_shape"] == [4, 5, 5] and entry["parameters"] == 0


# -- Flatten ------------------------------------------------------------------------------------


def test_flatten_lays_the_maps_out_in_pytorchs_order():
    flatten = Flatten(input_shape=(2, 3, 4), dtype=np.float64)
    x = np.arange(48, dtype=np.float64).reshape(2, 2, 3, 4)
    assert flatten.output_shape == (24,)
    np.testing.assert_array_equal(flatten.forward(x), x.reshape(2, 24))
    upstream = np.arange(48, dtype=np.float64).reshape(2, 24) * 2
    a, gradients, dx = backward(flatten, x, upstream)
    assert gradients == {}
    np.testing.assert_array_equal(a, x.reshape(2, 24))
    np.testing.assert_array_equal(dx, upstream.reshape(2, 2, 3, 4))


def test_flatten_gradient_matches_centred_differences():
    flatten = Flatten(input_shape=(2, 3, 3), dtype=np.float64)
    check_layer_gradients(flatten, np.random.default_rng(0).normal(size=(2, 2, 3, 3)))


def test_flatten_refuses_an_empty_shape():
    with pytest.raises(ValueError, match="Flatten takes samples of a shape of positive sizes"):
        Flatten(input_shape=(3, 0))
