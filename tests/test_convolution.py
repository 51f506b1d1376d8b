"""Conv2D: the shapes of chapter 6, the forward pass against the formula written as loops, the
backward pass against centred differences (float64), the scratch arrays kept in the cache, and
a small convolutional network that learns. PyTorch's conv2d is the other oracle
(test_conv_torch.py)."""

from __future__ import annotations

import numpy as np
import pytest

from nnet import Dense, Network, convolution
from nnet.convolution import Conv2D
from nnet.pooling import Flatten, MaxPool2D
from _layer_checks import backward, check_layer_gradients

# (in_channels, out_channels, kernel, stride, padding, input (H, W)): odd sizes, non-square
# kernels and strides, overlapping and gapped windows
GEOMETRIES = [
    (1, 2, 3, 1, 0, (6, 7)),
    (2, 3, (2, 3), 1, 1, (5, 6)),
    (3, 2, 3, 2, 1, (7, 7)),
    (2, 2, (3, 1), (2, 1), (0, 2), (6, 5)),
    (1, 1, 1, 1, 0, (3, 4)),
    (2, 4, 2, 3, 0, (8, 7)),  # stride larger than the kernel: pixels no window reads
]


def direct(x, W, b, stride, padding):
    """The convolution exactly as the module docstring writes it, one output neuron at a time."""
    (sh, sw), (ph, pw) = stride, padding
    x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    n, _, height, width = x.shape
    F, _, kh, kw = W.shape
    rows, cols = (height - kh) // sh + 1, (width - kw) // sw + 1
    z = np.empty((n, F, rows, cols))
    for s in range(n):
        for f in range(F):
            for i in range(rows):
                for j in range(cols):
                    field = x[s, :, i * sh : i * sh + kh, j * sw : j * sw + kw]
                    z[s, f, i, j] = b[f] + np.sum(W[f] * field)
    return z


def make(geometry, activation="identity", seed=0, batch=3):
    c_in, c_out, kernel, stride, padding, (height, width) = geometry
    layer = Conv2D(c_in, c_out, kernel, stride, padding, activation, input_shape=(c_in, height, width),
                   seed=seed, dtype=np.float64)
    rng = np.random.default_rng(seed + 1)
    layer.b = rng.normal(size=c_out)
    x = rng.normal(size=(batch, c_in, height, width))
    return layer, x


# -- shapes -------------------------------------------------------------------------------------


def test_nielsens_first_layer_shapes():
    layer = Conv2D(1, 20, 5, input_shape=(1, 28, 28), seed=0)
    assert layer.W.shape == (20, 1, 5, 5) and layer.b.shape == (20,)
    assert layer.output_shape == (20, 24, 24)
    assert layer.n_in == 784 and layer.n_out == 20 * 24 * 24
    assert layer.n_parameters == 20 * 25 + 20
    assert layer.W.dtype == np.float32
    z = layer.forward(np.zeros((2, 1, 28, 28), np.float32))
    assert z.shape == (2, 20, 24, 24) and z.dtype == np.float32


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_output_side_is_the_books_formula(geometry):
    layer, x = make(geometry)
    _, _, kernel, stride, padding, (height, width) = geometry
    kh, kw = layer.kernel_size
    (sh, sw), (ph, pw) = layer.stride, layer.padding
    assert layer.output_shape[1:] == ((height + 2 * ph - kh) // sh + 1, (width + 2 * pw - kw) // sw + 1)


def test_he_initialisation_counts_the_receptive_field_as_fan_in():
    layer = Conv2D(20, 40, 5, input_shape=(20, 12, 12), seed=0, dtype=np.float64)
    assert layer.W.std() == pytest.approx(np.sqrt(2.0 / 500), rel=0.05)
    np.testing.assert_array_equal(layer.b, 0.0)


def test_same_seed_same_filters():
    first, second = Conv2D(2, 3, 3, seed=7), Conv2D(2, 3, 3, seed=7)
    np.testing.assert_array_equal(first.W, second.W)
    assert not np.array_equal(first.W, Conv2D(2, 3, 3, seed=8).W)


# -- forward ------------------------------------------------------------------------------------


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_forward_is_the_formula(geometry):
    layer, x = make(geometry)
    expected = direct(x, layer.W, layer.b, layer.stride, layer.padding)
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-12, atol=1e-12)
    z, a, cache = np.empty_like(expected), np.empty_like(expected), {}
    layer.forward(x, z, a, cache)  # the training path, through the cache's scratch arrays
    np.testing.assert_allclose(z, expected, rtol=1e-12, atol=1e-12)


def test_forward_applies_the_activation():
    layer, x = make(GEOMETRIES[1], activation="relu")
    expected = np.maximum(direct(x, layer.W, layer.b, layer.stride, layer.padding), 0)
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-12, atol=1e-12)


def test_a_filter_that_picks_one_pixel_shifts_the_image():
    layer = Conv2D(1, 1, 3, padding=1, activation="identity", input_shape=(1, 5, 5), dtype=np.float64)
    layer.W = np.zeros((1, 1, 3, 3))
    layer.W[0, 0, 1, 2] = 1.0  # the pixel to the right of the window's centre
    layer.b = [0.0]
    x = np.arange(25, dtype=np.float64).reshape(1, 1, 5, 5)
    expected = np.zeros_like(x)
    expected[..., :, :-1] = x[..., :, 1:]
    np.testing.assert_array_equal(layer.forward(x), expected)


def test_prediction_in_groups_equals_one_pass(monkeypatch):
    layer, x = make(GEOMETRIES[2], batch=7)
    whole = layer.forward(x)
    monkeypatch.setattr(convolution, "PREDICTION_COLUMNS", 1)  # one sample at a time
    np.testing.assert_array_equal(layer.forward(x), whole)


# -- backward -----------------------------------------------------------------------------------


@pytest.mark.parametrize("activation", ["identity", "tanh"])
@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_gradients_match_centred_differences(geometry, activation):
    layer, x = make(geometry, activation)
    check_layer_gradients(layer, x)


def test_gradients_with_relu_match_centred_differences():
    layer, x = make(GEOMETRIES[0], activation="relu", seed=3)
    check_layer_gradients(layer, x)


def test_bias_gradient_sums_every_position_of_its_map():
    layer, x = make(GEOMETRIES[0])
    upstream = np.ones((len(x), *layer.output_shape))
    _, gradients, _ = backward(layer, x, upstream)
    rows, cols = layer.output_shape[1:]
    np.testing.assert_allclose(gradients["b"], np.full(layer.out_channels, len(x) * rows * cols))


def test_a_smaller_batch_reuses_the_cache_and_stays_right():
    layer, x = make(GEOMETRIES[1], activation="tanh", batch=5)
    rng = np.random.default_rng(9)
    upstream = rng.normal(size=(5, *layer.output_shape))
    z = np.empty((5, *layer.output_shape))
    a, cache = np.empty_like(z), {}
    for n in (5, 2):  # the workspace's last, smaller batch: views of the same arrays
        layer.forward(x[:n], z[:n], a[:n], cache)
        delta = layer.error(upstream[:n].copy(), z[:n], a[:n], cache)
        layer.gradient(delta, x[:n], cache)
        dx = layer.backpropagate(delta, cache=cache)
    kept = cache["windows"]
    _, fresh, fresh_dx = backward(layer, x[:2], upstream[:2])
    assert cache["windows"] is kept  # not reallocated for the smaller batch
    np.testing.assert_allclose(layer.dW, fresh["W"], rtol=1e-12)
    np.testing.assert_allclose(layer.db, fresh["b"], rtol=1e-12)
    np.testing.assert_allclose(dx, fresh_dx, rtol=1e-12)


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_both_layouts_of_the_windows_agree(geometry, monkeypatch):
    """Rows (channels last) or columns: the same numbers, whichever the layer picks."""
    layer, x = make(geometry, activation="tanh")
    upstream = np.random.default_rng(2).normal(size=(len(x), *layer.output_shape))
    results = []
    for last in (False, True):
        monkeypatch.setattr(Conv2D, "channels_last", property(lambda self, last=last: last))
        results.append(backward(layer, x, upstream))
    (a0, g0, dx0), (a1, g1, dx1) = results
    np.testing.assert_allclose(a1, a0, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(g1["W"], g0["W"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(g1["b"], g0["b"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx1, dx0, rtol=1e-12, atol=1e-12)


def test_the_layout_follows_the_longest_copy():
    assert not Conv2D(1, 20, 5, input_shape=(1, 28, 28)).channels_last  # rows of 24 pixels beat 5 numbers
    assert Conv2D(20, 40, 5, input_shape=(20, 12, 12)).channels_last  # 5 x 20 channels beat rows of 8


def test_gradient_without_a_training_forward_is_refused():
    layer, x = make(GEOMETRIES[0])
    with pytest.raises(ValueError, match="cache of a training forward"):
        layer.gradient(np.zeros((len(x), *layer.output_shape)), x)


# -- settings and errors --------------------------------------------------------------------------


@pytest.mark.parametrize(("arguments", "message"), [
    ((0, 2, 3), "in_channels must be a positive integer"),
    ((1, 2, 0), "kernel_size must be a positive integer or a pair"),
    ((1, 2, (3, 3, 3)), "kernel_size must be a positive integer or a pair"),
    ((1, 2, 3, 0), "stride must be a positive integer"),
    ((1, 2, 3, 1, -1), "padding must be an integer >= 0"),
])
def test_bad_settings_say_what_was_expected(arguments, message):
    with pytest.raises(ValueError, match=message):
        Conv2D(*arguments)


def test_inputs_with_other_channels_are_refused():
    with pytest.raises(ValueError, match=r"takes 3 input maps \(in_channels\); got inputs of shape \(1, 28, 28\)"):
        Conv2D(3, 4, 5, input_shape=(1, 28, 28))


def test_a_window_larger_than_the_input_is_refused():
    with pytest.raises(ValueError, match="a 5x5 window does not fit in inputs of shape"):
        Conv2D(1, 4, 5, input_shape=(1, 4, 4))


def test_a_network_needs_the_first_layers_input_shape():
    with pytest.raises(ValueError, match="layer 0 \\(Conv2D\\) needs the shape of one input sample"):
        Network([Conv2D(1, 2, 3), Flatten(), Dense(2 * 26 * 26, 10, "softmax")], cost="cross_entropy")


def test_layers_take_their_shapes_from_below_in_a_network():
    net = Network([Conv2D(1, 20, 5, input_shape=(1, 28, 28)), MaxPool2D(2), Conv2D(20, 40, 5), MaxPool2D(2),
                   Flatten(), Dense(640, 100, "relu"), Dense(100, 10, "softmax")], cost="cross_entropy")
    assert [layer.output_shape for layer in net.layers] == [
        (20, 24, 24), (20, 12, 12), (40, 8, 8), (40, 4, 4), (640,), (100,), (10,)]
    assert net.sizes == [784, 20 * 24 * 24, 20 * 144, 40 * 64, 640, 640, 100, 10]
    assert net.n_parameters == (20 * 25 + 20) + (40 * 500 + 40) + (640 * 100 + 100) + (100 * 10 + 10)
    assert net.predict(np.zeros((3, 28, 28), np.uint8)).shape == (3,)


def test_describe_says_what_a_model_file_needs():
    layer = Conv2D(2, 3, (3, 2), stride=(1, 2), padding=1, input_shape=(2, 9, 8), seed=0)
    entry = layer.describe()
    assert entry["kind"] == "conv2d"
    assert (entry["in_channels"], entry["out_channels"]) == (2, 3)
    assert entry["kernel_size"] == [3, 2] and entry["stride"] == [1, 2] and entry["padding"] == [1, 1]
    assert entry["input_shape"] == [2, 9, 8] and entry["output_shape"] == list(layer.output_shape)
    assert entry["activation"] == "relu" and entry["parameters"] == 3 * 2 * 3 * 2 + 3


# -- a network that learns ------------------------------------------------------------------------


def test_a_small_convolutional_network_learns_where_the_bright_bar_is():
    """Images of 8 x 8 with a bright vertical or horizontal bar somewhere: a problem a conv
    layer solves with two filters, whatever the bar's position."""
    rng = np.random.default_rng(0)
    n = 400
    labels = rng.integers(0, 2, n)
    x = rng.uniform(0, 0.2, (n, 1, 8, 8))
    where = rng.integers(0, 8, n)
    x[labels == 0, 0, where[labels == 0], :] += 0.8  # a row
    x[labels == 1, 0, :, where[labels == 1]] += 0.8  # a column
    net = Network([Conv2D(1, 4, 3, input_shape=(1, 8, 8), seed=1), MaxPool2D(2), Flatten(),
                   Dense(4 * 3 * 3, 2, "softmax", init="xavier", seed=2)], cost="cross_entropy")
    before = net.evaluate(x, labels).accuracy
    net.fit(x, labels, epochs=8, batch_size=20, optimizer="momentum", learning_rate=0.05, seed=0)
    assert before < 0.8
    assert net.evaluate(x, labels).accuracy > 0.95


def test_a_convolutional_network_answers_alike_whatever_the_batch_and_copies_apart():
    net = Network([Conv2D(1, 3, 3, padding=1, input_shape=(1, 9, 9), seed=0, dtype=np.float64), MaxPool2D(2),
                   Conv2D(3, 5, 2, stride=2, seed=1, dtype=np.float64), Flatten(),
                   Dense(5 * 2 * 2, 4, "softmax", init="xavier", seed=2, dtype=np.float64)], cost="cross_entropy")
    x = np.random.default_rng(0).integers(0, 256, (7, 9, 9)).astype(np.uint8)
    whole = net.forward(x)
    np.testing.assert_allclose(np.concatenate([net.forward(x[:3]), net.forward(x[3:])]), whole, rtol=1e-12)
    np.testing.assert_allclose(net.forward(x, record=True).output, whole, rtol=1e-12)
    twin = net.copy()
    np.testing.assert_array_equal(twin.forward(x), whole)
    twin.layers[0].W = twin.layers[0].W + 1.0
    np.testing.assert_array_equal(net.forward(x), whole)  # the copy's weights are its own
