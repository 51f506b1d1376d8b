"""The Network's public API and its contracts.

Shapes and dtypes, what ``forward(record=True)`` shows, the input forms it accepts, the layout of
W and of the flat parameter array, copies and configs, one tiny network worked by hand, the
validation errors (each must say what was expected, what came and where), and properties checked
by hypothesis: softmax, costs, batch-size independence and numerical stability.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import nnet
from nnet import Network, Trace, activations, losses

ACTIVATION_NAMES = ["sigmoid", "tanh", "relu", "leaky_relu", "identity", "softmax"]
OUTPUT_COSTS = [
    ("sigmoid", "quadratic"),
    ("tanh", "quadratic"),
    ("identity", "quadratic"),
    ("relu", "quadratic"),
    ("leaky_relu", "quadratic"),
    ("softmax", "quadratic"),
    ("softmax", "cross_entropy"),
    ("sigmoid", "cross_entropy"),
]
OUTPUT_COST_IDS = [f"{output}-{cost}" for output, cost in OUTPUT_COSTS]


@pytest.fixture
def net() -> Network:
    return Network([5, 4, 3], activation="relu", output="softmax", cost="cross_entropy", seed=0)


def batch(n=7, width=5, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).normal(size=(n, width)).astype(dtype)


# -- shapes and dtypes ----------------------------------------------------------------------------
def test_forward_and_predict_shapes_and_dtypes(net):
    x = batch()
    proba = net.forward(x)  # a softmax output: a probability per class
    assert proba.shape == (7, 3) and proba.dtype == np.float32
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    labels = net.predict(x)
    assert labels.shape == (7,) and labels.dtype == np.int64
    np.testing.assert_array_equal(labels, proba.argmax(axis=1))


def test_float64_on_request():
    net = Network([5, 4, 3], seed=0, dtype="float64")
    assert net.dtype == np.float64 and net.parameters.dtype == np.float64
    assert all(layer.W.dtype == np.float64 and layer.b.dtype == np.float64 for layer in net.layers)
    assert net.forward(batch(dtype=np.float32)).dtype == np.float64
    grads, dx = net.backprop(batch(), np.zeros(7, int), input_gradient=True)
    assert grads[0][0].dtype == np.float64 and dx.dtype == np.float64


def test_float32_and_float64_networks_from_one_seed_start_from_the_same_numbers():
    single = Network([5, 4, 3], seed=3)
    double = Network([5, 4, 3], seed=3, dtype="float64")
    np.testing.assert_allclose(single.parameters, double.parameters, rtol=1e-7)
    np.testing.assert_allclose(single.forward(batch()), double.forward(batch()), rtol=1e-5, atol=1e-6)


def test_one_output_network_predicts_0_or_1_around_one_half():
    net = Network([5, 3, 1], activation="tanh", output="sigmoid", seed=0, dtype="float64")
    x = batch(20, seed=1)
    proba = net.forward(x)
    assert proba.shape == (20, 1)
    np.testing.assert_array_equal(net.predict(x), (proba[:, 0] > 0.5).astype(np.int64))


def test_record_returns_a_trace_of_every_layer(net):
    x = batch()
    trace = net.forward(x, record=True)
    assert isinstance(trace, Trace)
    assert len(trace.activations) == 3 and len(trace.zs) == 2
    assert [a.shape for a in trace.activations] == [(7, 5), (7, 4), (7, 3)]
    assert [z.shape for z in trace.zs] == [(7, 4), (7, 3)]
    np.testing.assert_allclose(trace.activations[0], x, rtol=0, atol=0)
    np.testing.assert_allclose(trace.output, net.forward(x), rtol=1e-6)
    assert trace.output is trace.activations[-1]
    # a = σ(z), layer by layer
    np.testing.assert_allclose(trace.activations[1], np.maximum(trace.zs[0], 0), rtol=1e-6)
    np.testing.assert_allclose(trace.activations[2], activations.get("softmax").value(trace.zs[1]), rtol=1e-6)
    # The trace is the caller's to keep: a later pass does not overwrite it.
    kept = [a.copy() for a in trace.activations]
    net.forward(batch(seed=9), record=True)
    net.backprop(batch(seed=8), np.zeros(7, int))
    for before, after in zip(kept, trace.activations):
        np.testing.assert_allclose(before, after, rtol=0, atol=0)


# -- input forms ---------------------------------------------------------------------------------
def test_uint8_pixels_are_scaled_to_the_unit_interval():
    net = Network([5, 4, 3], seed=0, dtype="float64")
    pixels = np.random.default_rng(0).integers(0, 256, (6, 5), dtype=np.uint8)
    pixels[0, 0], pixels[0, 1] = 0, 255
    np.testing.assert_allclose(net.forward(pixels), net.forward(pixels / 255.0), rtol=1e-13)
    np.testing.assert_allclose(net.forward(pixels, record=True).activations[0], pixels / 255.0, rtol=1e-15)
    assert net.forward(pixels, record=True).activations[0].max() <= 1.0


def test_uint8_pixels_in_float32():
    net = Network([5, 4, 3], seed=0)
    pixels = np.random.default_rng(1).integers(0, 256, (6, 5), dtype=np.uint8)
    np.testing.assert_allclose(net.forward(pixels), net.forward(pixels / 255.0), rtol=1e-5)


def test_images_of_28_by_28_are_flattened():
    net = Network([784, 10, 10], seed=0)
    images = np.random.default_rng(0).integers(0, 256, (3, 28, 28), dtype=np.uint8)
    flat = images.reshape(3, 784)
    np.testing.assert_allclose(net.forward(images), net.forward(flat), rtol=1e-6)
    np.testing.assert_array_equal(net.predict(images), net.predict(flat))


def test_a_one_dimensional_input_is_one_sample(net):
    x = batch()
    one = net.forward(x[2])
    assert one.shape == (1, 3)
    np.testing.assert_allclose(one[0], net.forward(x)[2], rtol=1e-5, atol=1e-7)
    assert net.predict(x[2]).shape == (1,)


def test_python_lists_and_integer_arrays_are_accepted():
    net = Network([3, 2], seed=0, dtype="float64")
    expected = net.forward(np.array([[1.0, 2.0, 3.0]]))
    np.testing.assert_allclose(net.forward([[1, 2, 3]]), expected, rtol=1e-15)
    np.testing.assert_allclose(net.forward(np.array([1, 2, 3], dtype=np.int64)), expected, rtol=1e-15)


# -- W layout and the flat parameters ----------------------------------------------------------------
def test_row_j_of_W_holds_the_weights_into_neuron_j():
    net = Network([5, 4, 3], activation="tanh", seed=0, dtype="float64")
    x = batch(dtype=np.float64)
    layer = net.layers[0]
    assert layer.W.shape == (4, 5) and layer.b.shape == (4,)
    z = net.forward(x, record=True).zs[0]
    for j in range(4):
        np.testing.assert_allclose(z[:, j], x @ layer.W[j] + layer.b[j], rtol=1e-13, atol=1e-15)
        # by hand: z_j = Σ_k w_jk x_k + b_j for the first sample
        by_hand = sum(layer.W[j, k] * x[0, k] for k in range(5)) + layer.b[j]
        assert z[0, j] == pytest.approx(by_hand, rel=1e-13, abs=1e-15)


def test_parameters_are_one_flat_array_of_weights_then_biases(net):
    dense = net.layers
    assert net.parameters.ndim == 1 and net.parameters.size == net.n_parameters == 5 * 4 + 4 + 4 * 3 + 3
    assert net.n_decayed == 5 * 4 + 4 * 3
    weights = np.concatenate([layer.W.ravel() for layer in dense])
    biases = np.concatenate([layer.b for layer in dense])
    np.testing.assert_allclose(net.parameters, np.concatenate([weights, biases]), rtol=0, atol=0)
    for layer in dense:
        assert np.shares_memory(layer.W, net.parameters) and np.shares_memory(layer.b, net.parameters)
        assert np.shares_memory(layer.dW, net.gradients) and np.shares_memory(layer.db, net.gradients)
    # The flat array drives the layers.
    net.parameters[0] = 42.0
    assert dense[0].W[0, 0] == pytest.approx(42.0)
    net.parameters[net.n_decayed] = -7.0
    assert dense[0].b[0] == pytest.approx(-7.0)


def test_backprop_fills_the_flat_gradients(net):
    grads = net.backprop(batch(), np.array([0, 1, 2, 0, 1, 2, 0]))
    flat = np.concatenate([dW.ravel() for dW, _ in grads] + [db for _, db in grads])
    np.testing.assert_allclose(net.gradients, flat, rtol=0, atol=0)
    assert np.abs(flat).max() > 0


def test_assigning_W_copies_into_the_flat_array(net):
    layer = net.layers[1]
    view = layer.W
    new = np.arange(12, dtype=np.float64).reshape(3, 4) / 10
    layer.W = new
    assert layer.W is view and np.shares_memory(layer.W, net.parameters)
    np.testing.assert_allclose(layer.W, new, rtol=1e-7)
    new[0, 0] = 99.0  # the network holds a copy, not the caller's array
    assert layer.W[0, 0] == pytest.approx(0.0)
    layer.b = [1.0, 2.0, 3.0]
    np.testing.assert_allclose(net.parameters[-3:], [1.0, 2.0, 3.0], rtol=1e-7)


def test_assigning_W_of_the_wrong_shape_raises(net):
    layer = net.layers[0]
    before = net.parameters.copy()
    with pytest.raises(ValueError, match=r"Dense\.W must have shape \(4, 5\); got \(5, 4\)"):
        layer.W = np.zeros((5, 4))
    with pytest.raises(ValueError, match=r"Dense\.b must have shape \(4,\); got \(3,\)"):
        layer.b = np.zeros(3)
    np.testing.assert_allclose(net.parameters, before, rtol=0, atol=0)


def test_copy_is_independent(net):
    x = batch()
    twin = net.copy()
    np.testing.assert_allclose(twin.forward(x), net.forward(x), rtol=0, atol=0)
    for layer, other in zip(net.layers, twin.layers):
        assert not np.shares_memory(layer.W, other.W)
        assert np.shares_memory(other.W, twin.parameters) and np.shares_memory(other.dW, twin.gradients)
    before = net.parameters.copy()
    twin.parameters += 1.0
    twin.layers[0].W = np.zeros((4, 5))
    twin.fit(x, np.zeros(7, int), epochs=1, batch_size=7, seed=0)
    np.testing.assert_allclose(net.parameters, before, rtol=0, atol=0)
    assert np.abs(twin.parameters - before).max() > 0.5


def test_one_network_takes_anothers_weights_layer_by_layer(net):
    other = Network([5, 4, 3], activation="relu", output="softmax", cost="cross_entropy", seed=1)
    for layer, theirs in zip(other.layers, net.layers):
        layer.W, layer.b = theirs.W, theirs.b
    x = batch()
    np.testing.assert_allclose(other.forward(x), net.forward(x), rtol=0, atol=0)
    np.testing.assert_allclose(other.parameters, net.parameters, rtol=0, atol=0)
    other.layers[0].W[...] = 0.0  # copies: the first network is untouched
    assert np.abs(net.layers[0].W).max() > 0
    # ... and the whole flat array in one assignment
    other.parameters[:] = net.parameters
    np.testing.assert_allclose(other.forward(x), net.forward(x), rtol=0, atol=0)


@pytest.mark.parametrize(
    "arguments",
    [
        {"sizes": [5, 4, 3]},
        {"sizes": [5, 4, 3], "activation": "relu", "output": "softmax", "cost": "cross_entropy"},
        {"sizes": [6, 5, 4, 2], "activation": ["tanh", "leaky_relu"], "init": "xavier", "dropout": 0.2},
        {"sizes": [3, 2], "output": "identity", "dtype": "float64"},
    ],
)
def test_the_description_says_what_the_network_was_built_with(arguments):
    arguments = dict(arguments)
    sizes = arguments.pop("sizes")
    net = Network(sizes, **arguments, seed=11)
    description = net.describe()
    assert description["sizes"] == sizes and description["input_shape"] == [sizes[0]]
    assert description["dtype"] == arguments.get("dtype", "float32")
    assert description["cost"] == arguments.get("cost", "quadratic")
    layers = description["layers"]
    assert [layer["index"] for layer in layers] == list(range(len(sizes) - 1))
    assert [layer["name"] for layer in layers] == [f"hidden {i + 1}" for i in range(len(sizes) - 2)] + ["output"]
    assert [(layer["n_in"], layer["n_out"]) for layer in layers] == list(zip(sizes[:-1], sizes[1:]))
    hidden = arguments.get("activation", "sigmoid")
    hidden = hidden if isinstance(hidden, list) else [hidden] * (len(sizes) - 2)
    output = arguments.get("output") or ("softmax" if arguments.get("cost") == "cross_entropy" else "sigmoid")
    assert [layer["activation"] for layer in layers] == [*hidden, output]
    assert [layer["dropout"] for layer in layers] == [arguments.get("dropout", 0.0)] * (len(sizes) - 2) + [0.0]
    assert sum(layer["parameters"] for layer in layers) == description["parameters"] == net.n_parameters
    # bit-identical: the same arguments and seed build the same network
    rebuilt = Network(sizes, **arguments, seed=11)
    assert rebuilt.describe() == description and repr(rebuilt) == repr(net)
    np.testing.assert_array_equal(rebuilt.parameters, net.parameters)


def test_the_same_seed_gives_the_same_network_and_another_seed_another():
    np.testing.assert_array_equal(Network([5, 4, 3], seed=1).parameters, Network([5, 4, 3], seed=1).parameters)
    assert np.abs(Network([5, 4, 3], seed=1).parameters - Network([5, 4, 3], seed=2).parameters).max() > 0.1


# -- a 2-2-1 sigmoid network, worked by hand -------------------------------------------------------
#
#   x = [1, 0.5], y = 1, one sample, quadratic cost, η = 0.5
#   W¹ = [[0.1, 0.2], [0.3, -0.4]], b¹ = [0.1, -0.1];  W² = [[0.5, -0.6]], b² = [0.2]
#
# Forward, z = W a + b and a = σ(z):
#   z¹ = [0.1·1 + 0.2·0.5 + 0.1,  0.3·1 - 0.4·0.5 - 0.1] = [0.3, 0]
#   a¹ = [1 / (1 + e^-0.3), σ(0)] = [1 / 1.7408182206817178, 0.5] = [0.574442516811659, 0.5]
#   z² = 0.5·0.574442516811659 - 0.6·0.5 + 0.2 = 0.2872212584058295 - 0.3 + 0.2 = 0.18722125840582954
#   a² = 1 / (1 + e^-0.18722125840582954) = 1 / 1.8292602352878947 = 0.5466690745850149
#   C  = ½ (a² - y)² = ½ (-0.4533309254149851)² = 0.10275446396880339
# Backward:
#   σ'(z²) = a²(1 - a²) = 0.5466690745850149 · 0.4533309254149851 = 0.24782199747737832
#   δ²  = (a² - y) σ'(z²) = -0.4533309254149851 · 0.24782199747737832 = -0.11234537545461001
#   σ'(z¹) = [0.574442516811659 · 0.425557483188341, 0.5 · 0.5] = [0.24445831169074586, 0.25]
#   δ¹  = (W²ᵀ δ²) ⊙ σ'(z¹) = [0.5 · δ² · 0.24445831169074586, -0.6 · δ² · 0.25]
#       = [-0.013731880404948462, 0.0168518063181915]
#   ∂C/∂W² = δ² a¹ᵀ = [-0.11234537545461001 · 0.574442516811659, -0.11234537545461001 · 0.5]
#          = [-0.06453596022829695, -0.05617268772730501];   ∂C/∂b² = δ²
#   ∂C/∂W¹ = δ¹ xᵀ = [[δ¹₀ · 1, δ¹₀ · 0.5], [δ¹₁ · 1, δ¹₁ · 0.5]]
#          = [[-0.013731880404948462, -0.006865940202474231], [0.0168518063181915, 0.00842590315909575]]
#   ∂C/∂b¹ = δ¹
#   ∂C/∂x  = W¹ᵀ δ¹ = [0.1 δ¹₀ + 0.3 δ¹₁, 0.2 δ¹₀ - 0.4 δ¹₁] = [0.0036823538549626044, -0.009487098608266294]
# One SGD step, w ← w - η ∂C/∂w:
#   W² = [0.5 + 0.5·0.06453596022829695, -0.6 + 0.5·0.05617268772730501] = [0.5322679801141484, -0.5719136561363475]
#   b² = 0.2 + 0.5·0.11234537545461001 = 0.256172687727305
#   W¹ = [[0.1 + 0.5·0.013731880404948462, 0.2 + 0.5·0.006865940202474231],
#         [0.3 - 0.5·0.0168518063181915,   -0.4 - 0.5·0.00842590315909575]]
#      = [[0.10686594020247424, 0.20343297010123712], [0.29157409684090424, -0.4042129515795479]]
#   b¹ = [0.1 + 0.5·0.013731880404948462, -0.1 - 0.5·0.0168518063181915] = [0.10686594020247424, -0.10842590315909575]

HAND_X = np.array([[1.0, 0.5]])
HAND_WEIGHTS = [
    (np.array([[0.1, 0.2], [0.3, -0.4]]), np.array([0.1, -0.1])),
    (np.array([[0.5, -0.6]]), np.array([0.2])),
]
HAND = {"rtol": 1e-12, "atol": 1e-15}


def hand_network() -> Network:
    net = Network([2, 2, 1], activation="sigmoid", output="sigmoid", cost="quadratic", dtype="float64")
    for layer, (W, b) in zip(net.layers, HAND_WEIGHTS):
        layer.W, layer.b = W, b
    return net


def test_hand_worked_forward_pass():
    trace = hand_network().forward(HAND_X, record=True)
    np.testing.assert_allclose(trace.zs[0], [[0.3, 0.0]], **HAND)
    np.testing.assert_allclose(trace.activations[1], [[0.574442516811659, 0.5]], **HAND)
    np.testing.assert_allclose(trace.zs[1], [[0.18722125840582954]], **HAND)
    np.testing.assert_allclose(trace.output, [[0.5466690745850149]], **HAND)
    assert hand_network().evaluate(HAND_X, [1]).cost == pytest.approx(0.10275446396880339, rel=1e-12)
    assert hand_network().backprop(HAND_X, [1], record=True).cost == pytest.approx(0.10275446396880339, rel=1e-12)
    assert hand_network().predict(HAND_X)[0] == 1  # 0.547 > 0.5


@pytest.mark.parametrize("y", [np.array([1]), np.array([[1.0]]), np.array([1.0])], ids=["label", "row", "float"])
def test_hand_worked_backprop(y):
    (grads, dx) = hand_network().backprop(HAND_X, y, input_gradient=True)
    (dW1, db1), (dW2, db2) = grads
    np.testing.assert_allclose(db2, [-0.11234537545461001], **HAND)  # δ²
    np.testing.assert_allclose(db1, [-0.013731880404948462, 0.0168518063181915], **HAND)  # δ¹
    np.testing.assert_allclose(dW2, [[-0.06453596022829695, -0.05617268772730501]], **HAND)
    np.testing.assert_allclose(
        dW1, [[-0.013731880404948462, -0.006865940202474231], [0.0168518063181915, 0.00842590315909575]], **HAND
    )
    np.testing.assert_allclose(dx, [[0.0036823538549626044, -0.009487098608266294]], **HAND)


def test_hand_worked_sgd_step():
    net = hand_network()
    net.fit(HAND_X, np.array([1]), epochs=1, batch_size=1, optimizer="sgd", learning_rate=0.5, seed=0)
    (W1, b1), (W2, b2) = [(layer.W, layer.b) for layer in net.layers]
    np.testing.assert_allclose(W2, [[0.5322679801141484, -0.5719136561363475]], **HAND)
    np.testing.assert_allclose(b2, [0.256172687727305], **HAND)
    np.testing.assert_allclose(W1, [[0.10686594020247424, 0.20343297010123712],
                                    [0.29157409684090424, -0.4042129515795479]], **HAND)
    np.testing.assert_allclose(b1, [0.10686594020247424, -0.10842590315909575], **HAND)


def test_hand_worked_sgd_step_through_the_optimizer():
    net = hand_network()
    sgd = nnet.optimizers.SGD(learning_rate=0.5)
    sgd.bind(net.parameters, net.gradients, net.n_decayed)
    net.backprop(HAND_X, np.array([1]))
    sgd.step()
    np.testing.assert_allclose(net.layers[1].W, [[0.5322679801141484, -0.5719136561363475]], **HAND)
    np.testing.assert_allclose(net.layers[0].b, [0.10686594020247424, -0.10842590315909575], **HAND)


# -- validation errors -------------------------------------------------------------------------------
def test_wrong_input_width_names_the_layer_and_the_sizes(net):
    with pytest.raises(ValueError, match=r"layer 0 \(Dense 5 -> 4\) expects inputs of width 5; got x of shape \(3, 6\)"):
        net.forward(np.zeros((3, 6)))
    with pytest.raises(ValueError, match=r"expects inputs of width 5; got x of shape \(1, 4\)"):
        net.predict(np.zeros(4))
    with pytest.raises(ValueError, match=r"layer 0 \(Dense 5 -> 4\) expects inputs of width 5"):
        net.backprop(np.zeros((2, 7)), [0, 1])
    with pytest.raises(ValueError, match=r"layer 0 \(Dense 5 -> 4\) expects inputs of width 5"):
        net.fit(np.zeros((2, 7), np.uint8), [0, 1], epochs=1)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_inf_in_x_names_the_row(net, bad):
    x = batch()
    x[3, 2] = bad
    with pytest.raises(ValueError, match=rf"x must be finite; found {bad} at row 3, column 2"):
        net.predict(x)
    with pytest.raises(ValueError, match=r"x must be finite.*row 3"):
        net.fit(x, np.zeros(7, int), epochs=1)


def test_x_must_hold_numbers(net):
    with pytest.raises(ValueError, match=r"x must hold numbers.*got dtype <U1"):
        net.predict(np.array([list("abcde")]))
    with pytest.raises(ValueError, match=r"x must hold numbers.*got dtype bool"):
        net.predict(np.ones((2, 5), bool))
    with pytest.raises(ValueError, match=r"x has no samples: got an array of shape \(0, 5\)"):
        net.predict(np.zeros((0, 5)))
    with pytest.raises(ValueError, match=r"x has no samples: got an array of shape \(0, 28, 28\)"):
        net.predict(np.zeros((0, 28, 28), np.uint8))


@pytest.mark.parametrize(("labels", "value", "row"), [([0, 1, 3, 0], 3, 2), ([0, -1, 2, 9], -1, 1)])
def test_labels_outside_the_classes_name_the_value_and_the_row(net, labels, value, row):
    with pytest.raises(ValueError, match=rf"labels must be integers in 0\.\.2 for a network with 3 output neurons; got {value} at row {row}"):
        net.backprop(batch(4), np.array(labels))
    with pytest.raises(ValueError, match=rf"got {value} at row {row}"):
        net.fit(batch(4), np.array(labels), epochs=1)
    with pytest.raises(ValueError, match=rf"got {value} at row {row}"):
        net.evaluate(batch(4), np.array(labels))


def test_a_one_output_network_takes_labels_0_and_1():
    net = Network([5, 1], seed=0)
    with pytest.raises(ValueError, match=r"labels must be integers in 0\.\.1 for a network with 1 output neuron; got 2 at row 1"):
        net.backprop(batch(3), np.array([0, 2, 1]))


def test_y_length_must_match_x(net):
    with pytest.raises(ValueError, match=r"y has 6 labels but x has 7 samples"):
        net.backprop(batch(), np.zeros(6, int))
    with pytest.raises(ValueError, match=r"y has 8 rows but x has 7 samples"):
        net.evaluate(batch(), np.zeros((8, 3)))
    with pytest.raises(ValueError, match=r"y has 6 labels but x has 7 samples"):
        net.fit(batch(), np.zeros(6, int), epochs=1)


def test_y_shape_and_values(net):
    with pytest.raises(ValueError, match=r"y must be int labels of shape \(7,\) or targets of shape \(7, 3\); got shape \(7, 2\)"):
        net.backprop(batch(), np.zeros((7, 2)))
    y = np.full((7, 3), 1 / 3)
    y[4, 1] = np.nan
    with pytest.raises(ValueError, match=r"y must be finite; found a non-finite target at row 4"):
        net.backprop(batch(), y)


def test_cross_entropy_targets_must_be_probabilities():
    binary = Network([5, 3], output="sigmoid", cost="cross_entropy", seed=0)
    y = np.full((4, 3), 0.5)
    y[2, 1] = 1.5
    with pytest.raises(ValueError, match=r"cross-entropy targets must be probabilities in \[0, 1\]; row 2 is \[0\.5, 1\.5, 0\.5\]"):
        binary.backprop(batch(4), y)
    categorical = Network([5, 3], output="softmax", cost="cross_entropy", seed=0)
    rows = np.full((4, 3), 0.25)  # each row sums to 0.75
    rows[:, 0] = 1 / 3
    rows[1] = [0.2, 0.3, 0.5]
    with pytest.raises(ValueError, match=r"probability rows summing to 1; row 0 sums to 0\.833333"):
        categorical.backprop(batch(4), rows)
    categorical.backprop(batch(4), np.array([[0.2, 0.3, 0.5]] * 4))  # rows of probabilities are fine


@pytest.mark.parametrize("sizes", [[], [784], (10,)])
def test_a_network_needs_two_sizes(sizes):
    with pytest.raises(ValueError, match=r"a network needs at least two sizes \(inputs and outputs\)"):
        Network(sizes)


@pytest.mark.parametrize(("sizes", "bad", "position"), [([784, 0, 10], 0, 1), ([784, 30, -2], -2, 2), ([3.5, 2], 3.5, 0)])
def test_sizes_must_be_positive_integers(sizes, bad, position):
    with pytest.raises(ValueError, match=rf"layer sizes must be positive integers; got {bad} at position {position}"):
        Network(sizes)


def test_sizes_must_be_a_list():
    with pytest.raises(ValueError, match=r"sizes must be a list of layer sizes such as \[784, 30, 10\]; got 784"):
        Network(784)


def test_unknown_activation_lists_the_choices():
    choices = "sigmoid, tanh, relu, leaky_relu, identity, softmax"
    with pytest.raises(ValueError, match=rf"unknown activation 'swish'; choose one of: {choices}"):
        Network([5, 4, 3], activation="swish")
    with pytest.raises(ValueError, match=rf"unknown activation 'gelu'; choose one of: {choices}"):
        Network([5, 4, 3], output="gelu")
    with pytest.raises(ValueError, match=r"activation lists one name per hidden layer: 2 for sizes \[5, 4, 3, 2\]; got 1"):
        Network([5, 4, 3, 2], activation=["tanh"])


def test_unknown_cost_lists_the_choices():
    with pytest.raises(ValueError, match=r"unknown cost 'mse'; choose one of: quadratic, cross_entropy"):
        Network([5, 4, 3], cost="mse")


def test_unknown_init_lists_the_choices():
    with pytest.raises(ValueError, match=r"unknown init 'glorot'; choose one of: auto, normal, lecun, xavier, he"):
        Network([5, 4, 3], init="glorot")


def test_unknown_optimizer_lists_the_choices(net):
    with pytest.raises(ValueError, match=r"unknown optimizer 'rmsprop'; choose one of: sgd, momentum, nesterov, adam, adamw"):
        net.fit(batch(), np.zeros(7, int), optimizer="rmsprop")
    with pytest.raises(ValueError, match=r"optimizer 'adam' does not take momentum"):
        net.fit(batch(), np.zeros(7, int), optimizer="adam", momentum=0.9)


@pytest.mark.parametrize("output", ["relu", "tanh", "identity", "leaky_relu"])
def test_cross_entropy_needs_a_softmax_or_sigmoid_output(output):
    with pytest.raises(ValueError, match=rf"cost 'cross_entropy' needs a 'softmax' output.*got output='{output}'.*cost='quadratic'"):
        Network([5, 4, 3], output=output, cost="cross_entropy")


# -- properties ----------------------------------------------------------------------------------------
finite = {"allow_nan": False, "allow_infinity": False}
z_matrices = hnp.arrays(
    np.float64,
    st.tuples(st.integers(1, 6), st.integers(1, 8)),
    elements=st.floats(-1e4, 1e4, **finite),
)


@settings(max_examples=150, deadline=None)
@given(z=z_matrices, data=st.data())
def test_softmax_rows_are_probabilities_and_shift_invariant(z, data):
    softmax = activations.get("softmax")
    s = softmax.value(z)
    assert (s >= 0).all()
    np.testing.assert_allclose(s.sum(axis=1), 1.0, rtol=1e-12)
    shift = data.draw(hnp.arrays(np.float64, (len(z), 1), elements=st.floats(-1e3, 1e3, **finite)))
    np.testing.assert_allclose(softmax.value(z + shift), s, rtol=0, atol=1e-8)
    # out may be z itself
    in_place = z.copy()
    softmax.value(in_place, out=in_place)
    np.testing.assert_allclose(in_place, s, rtol=0, atol=0)


def probability_rows(draw, n, k):
    weights = draw(hnp.arrays(np.float64, (n, k), elements=st.floats(0, 1, **finite)))
    weights[:, 0] += 1e-3  # no all-zero row
    return weights / weights.sum(axis=1, keepdims=True)


@settings(max_examples=200, deadline=None)
@given(data=st.data(), pairing=st.sampled_from(OUTPUT_COSTS))
def test_costs_are_never_negative(data, pairing):
    output, cost_name = pairing
    activation, cost = activations.get(output), losses.get(cost_name)
    z = data.draw(z_matrices, label="z")
    n, k = z.shape
    if output == "softmax":
        y = data.draw(st.sampled_from(["one-hot", "rows"]), label="y form")
        y = np.eye(k)[data.draw(hnp.arrays(np.int64, n, elements=st.integers(0, k - 1)))] if y == "one-hot" else probability_rows(data.draw, n, k)
    elif output == "sigmoid":
        y = data.draw(hnp.arrays(np.float64, (n, k), elements=st.floats(0, 1, **finite)), label="y")
    else:
        y = data.draw(hnp.arrays(np.float64, (n, k), elements=st.floats(-1e3, 1e3, **finite)), label="y")
    value = cost.value(z, activation.value(z), y, activation)
    assert np.isfinite(value)
    assert value >= 0.0


PREDICTOR = Network([6, 5, 4], activation="tanh", output="softmax", cost="cross_entropy", seed=0, dtype="float64")


@settings(max_examples=60, deadline=None)
@given(
    x=hnp.arrays(np.float64, st.tuples(st.integers(1, 40), st.just(6)), elements=st.floats(-10, 10, **finite)),
    cuts=st.lists(st.integers(0, 40), max_size=4),
)
def test_predictions_do_not_depend_on_the_batch_size(x, cuts):
    cuts = sorted({c for c in cuts if 0 < c < len(x)})
    slices = np.split(x, cuts)
    proba = PREDICTOR.forward(x)
    np.testing.assert_allclose(np.concatenate([PREDICTOR.forward(part) for part in slices]), proba, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(np.concatenate([PREDICTOR.predict(part) for part in slices]), proba.argmax(axis=1))
    one_by_one = np.concatenate([PREDICTOR.forward(row) for row in x])
    np.testing.assert_allclose(one_by_one, proba, rtol=1e-12, atol=1e-15)
    # predict and evaluate cut big inputs into EVALUATION_BATCH rows: the answer is the same.
    labels = np.arange(len(x)) % 4
    scores = PREDICTOR.evaluate(x, labels)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(nnet.network, "EVALUATION_BATCH", 3)
        np.testing.assert_allclose(PREDICTOR.forward(x), proba, rtol=1e-12, atol=1e-15)
        chunked = PREDICTOR.evaluate(x, labels)
    assert chunked.cost == pytest.approx(scores.cost, rel=1e-12)
    assert chunked.accuracy == pytest.approx(scores.accuracy, abs=1e-15)


# -- numerical stability -------------------------------------------------------------------------------
EXTREMES = np.array([-1e4, -1e3, -710.0, -100.0, -30.0, -1e-8, 0.0, 1e-8, 30.0, 100.0, 710.0, 1e3, 1e4])


class no_floating_point_trouble:
    """Overflow, invalid operations and division by zero raise; any warning is an error.
    (Underflow is ignored: e^-10000 rounding to 0 is the right answer, not a problem.)"""

    def __enter__(self):
        self.warnings = warnings.catch_warnings()
        self.warnings.__enter__()
        warnings.simplefilter("error")
        self.errstate = np.errstate(over="raise", invalid="raise", divide="raise", under="ignore")
        self.errstate.__enter__()

    def __exit__(self, *exc):
        self.errstate.__exit__(*exc)
        return self.warnings.__exit__(*exc)


def stability_inputs(dtype):
    """(3, 13) rows of extreme z, each extreme in a different column per row."""
    return np.stack([EXTREMES, EXTREMES[::-1], np.roll(EXTREMES, 3)]).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_activations_are_stable_for_huge_z(name, dtype):
    activation = activations.get(name)
    z = stability_inputs(dtype)
    with no_floating_point_trouble():
        a = activation.value(z)
        grad = np.ones_like(z)
        back = activation.backward(z, a, grad)
        if name != "softmax":
            derivative = activation.derivative(z, a)
            assert np.isfinite(derivative).all() and derivative.dtype == dtype
    assert a.dtype == dtype and np.isfinite(a).all() and np.isfinite(back).all()
    if name in ("sigmoid", "softmax"):
        assert (a >= 0).all() and (a <= 1).all()
    if name == "sigmoid":
        assert a[0, 0] == pytest.approx(0.0, abs=1e-30) and a[0, -1] == pytest.approx(1.0, rel=1e-7)
    if name == "tanh":
        assert a[0, 0] == pytest.approx(-1.0) and a[0, -1] == pytest.approx(1.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("output", "cost"), OUTPUT_COSTS, ids=OUTPUT_COST_IDS)
def test_costs_are_stable_for_huge_z(output, cost, dtype):
    activation, cost_object = activations.get(output), losses.get(cost)
    z = stability_inputs(dtype)
    rng = np.random.default_rng(0)
    y = np.eye(z.shape[1], dtype=dtype)[rng.integers(0, z.shape[1], len(z))]
    with no_floating_point_trouble():
        a = activation.value(z)
        value = cost_object.value(z, a, y, activation)
        delta = cost_object.delta(z, a, y, activation)
    assert np.isfinite(value) and value >= 0
    assert np.isfinite(delta).all() and delta.dtype == dtype


def test_cross_entropy_of_a_confident_wrong_answer_is_large_but_finite():
    # z = [1e4, -1e4] for the class 1: ln a₁ would be ln 0; from the logits it is 2e4.
    softmax, sigmoid, ce = activations.get("softmax"), activations.get("sigmoid"), losses.get("cross_entropy")
    z = np.array([[1e4, -1e4]])
    y = np.array([[0.0, 1.0]])
    with no_floating_point_trouble():
        assert ce.value(z, softmax.value(z), y, softmax) == pytest.approx(2e4, rel=1e-12)
        assert ce.value(z, sigmoid.value(z), y, sigmoid) == pytest.approx(2e4, rel=1e-12)


@settings(max_examples=100, deadline=None)
@given(z=z_matrices, pairing=st.sampled_from(OUTPUT_COSTS), single=st.booleans())
def test_every_activation_and_cost_is_finite_without_warnings(z, pairing, single):
    output, cost_name = pairing
    z = z.astype(np.float32) if single else z
    activation, cost = activations.get(output), losses.get(cost_name)
    y = np.zeros_like(z)
    y[:, 0] = 1.0
    with no_floating_point_trouble():
        a = activation.value(z)
        value = cost.value(z, a, y, activation)
        delta = cost.delta(z, a, y, activation)
    assert np.isfinite(a).all() and np.isfinite(value) and np.isfinite(delta).all()


@pytest.mark.parametrize("hidden", ["sigmoid", "tanh", "relu", "leaky_relu", "identity"])
def test_a_network_fed_huge_inputs_stays_finite(hidden):
    net = Network([4, 3, 2], activation=hidden, output="softmax", cost="cross_entropy", init="lecun", seed=0)
    x = np.array([[1e4, -1e4, 5e3, -3e3], [-1e4, 1e4, 0.0, 1.0]], np.float32)
    with no_floating_point_trouble():
        proba = net.forward(x)
        cost = net.evaluate(x, [0, 1]).cost
        grads = net.backprop(x, [0, 1])
    assert np.isfinite(proba).all() and np.isfinite(cost)
    assert all(np.isfinite(dW).all() and np.isfinite(db).all() for dW, db in grads)


def test_an_activation_object_is_taken_like_its_name():
    from nnet.activations import LeakyReLU

    net = Network([4, 3, 3, 2], activation=LeakyReLU(0.3), cost="cross_entropy", seed=0)
    assert [layer.activation.slope for layer in net.layers[:-1]] == [0.3, 0.3]
    z = np.array([[-1.0, 2.0]])
    np.testing.assert_allclose(net.layers[0].activation.value(z), [[-0.3, 2.0]])


def test_dropout_without_hidden_layers_is_refused():
    with pytest.raises(ValueError, match=r"dropout acts after hidden layers, and sizes \[4, 2\] have none"):
        Network([4, 2], dropout=0.2)


def test_numpy_seed_and_callable_init_are_kept_as_plain_values():
    def small(rng, n_out, n_in):
        return rng.normal(0, 0.01, (n_out, n_in)), np.zeros(n_out)

    net = Network([4, 3, 2], init=small, seed=np.int64(3))
    assert net.init == "small" and type(net.seed) is int and net.seed == 3
