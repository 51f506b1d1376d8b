"""Finite-difference gradient checks, in float64.

Backpropagation is checked against the definition of the derivative: nudge one number by ±h,
measure the cost on both sides, and take the centred difference

    ∂C/∂θ ≈ (C(θ + h) - C(θ - h)) / 2h          (error O(h²); h = 1e-5)

compared as a relative error ‖analytic - numeric‖ / (‖analytic‖ + ‖numeric‖) < 1e-6, the way the
CS231n gradient checker does. Every weight, every bias and every input is checked, over every
hidden activation × every output/cost pairing, with both forms of labels (int class labels and
target rows), with dropout (a fixed mask), and one level down: each activation's ``derivative``
and ``backward``, and each cost's ``delta``.
"""

from __future__ import annotations

import numpy as np
import pytest

from nnet import Network, activations, losses
from _grid import HIDDEN, OUTPUT_COST_IDS, OUTPUT_COSTS

H = 1e-5
TOLERANCE = 1e-6
#: Sizes of the checked network: three Dense layers (6 -> 5 -> 4 -> 3).
SIZES = [6, 5, 4, 3]
N_SAMPLES = 4
#: No weighted input of a hidden relu/leaky_relu neuron may sit closer than this to the kink at 0,
#: or a ±h nudge could cross it and the centred difference would not be a derivative.
KINK_MARGIN = 1e-3



def training_cost(net: Network, x, y, rng) -> float:
    """The batch's mean cost C in a training-mode pass (dropout on, its masks from ``rng``)."""
    return net.backprop(x, y, record=True, rng=rng).cost


# -- the checker --------------------------------------------------------------------------------
def numerical_gradient(cost, array: np.ndarray, h: float = H) -> np.ndarray:
    """Centred differences of ``cost()`` with respect to every entry of ``array``, which is
    nudged in place (and put back)."""
    gradient = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        saved = array[index]
        array[index] = saved + h
        plus = cost()
        array[index] = saved - h
        minus = cost()
        array[index] = saved
        gradient[index] = (plus - minus) / (2 * h)
    return gradient


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """‖a - n‖ / (‖a‖ + ‖n‖). Both zero is a failure here: a check of nothing."""
    scale = np.linalg.norm(analytic) + np.linalg.norm(numeric)
    assert scale > 0, "both gradients are zero: the check would compare nothing"
    return float(np.linalg.norm(analytic - numeric) / scale)


def assert_gradient(analytic, numeric, what: str) -> float:
    assert analytic.shape == numeric.shape, f"{what}: shape {analytic.shape} != {numeric.shape}"
    error = relative_error(analytic, numeric)
    assert error < TOLERANCE, f"{what}: relative error {error:.3e} >= {TOLERANCE:g}"
    return error


# -- the data -----------------------------------------------------------------------------------
def make_network(hidden, output, cost, *, dropout=0.0, seed=0) -> Network:
    net = Network(SIZES, activation=hidden, output=output, cost=cost, dropout=dropout,
                  seed=seed, dtype="float64",
                  task="classification")  # identity outputs too: the grid feeds them labels as well
    # N(0, 0.5²) everywhere, biases included, so that every db is checked away from zero.
    rng = np.random.default_rng(seed + 100)
    net.parameters[:] = rng.normal(0.0, 0.5, net.parameters.size)
    return net


def make_targets(output, cost, form, rng, n=N_SAMPLES, k=SIZES[-1]):
    """int labels, or (n, k) target rows of a kind the output/cost pairing can produce."""
    if form == "labels":
        return rng.permutation(np.arange(n) % k)  # every class present, in a shuffled order
    if output == "softmax":
        return rng.dirichlet(np.ones(k), size=n)  # probability rows, each summing to 1
    if output == "sigmoid":
        return rng.uniform(0.05, 0.95, (n, k))  # independent probabilities
    if output == "tanh":
        return rng.uniform(-0.9, 0.9, (n, k))
    return rng.normal(0.0, 1.0, (n, k))  # identity: regression targets


def kink_distance(net: Network, x, y, rng_seed=None) -> float:
    """How close the nearest hidden relu/leaky_relu z comes to the kink at 0, in the
    training-mode pass the check differentiates (dropout masks included); inf if none."""
    rng = None if rng_seed is None else np.random.default_rng(rng_seed)
    trace = net.backprop(x, y, record=True, rng=rng)  # the pass's every z
    distances = [np.abs(z).min() for layer, z in zip(net.layers[:-1], trace.zs)
                 if layer.activation.name in ("relu", "leaky_relu")]
    return min(distances, default=np.inf)


def inputs_away_from_kinks(net: Network, y, n, *, seed, rng_seed=None) -> np.ndarray:
    """Standard normal inputs (n, n_inputs), from the first seed at or after ``seed`` that keeps
    every hidden relu/leaky_relu z at least KINK_MARGIN from 0, so no ±h nudge crosses a kink."""
    for attempt in range(seed, seed + 200):
        x = np.random.default_rng(attempt).normal(0.0, 1.0, (n, net.n_inputs))
        if kink_distance(net, x, y, rng_seed) > KINK_MARGIN:
            return x
    raise AssertionError("no inputs keep clear of the relu kink: widen the search")


def check_network(net: Network, x, y, *, rng_seed=None) -> dict[str, float]:
    """Check dW, db of every layer and ∂C/∂x against centred differences; return the errors."""

    def rng():
        return None if rng_seed is None else np.random.default_rng(rng_seed)

    grads, dx = net.backprop(x, y, input_gradient=True, rng=rng())

    def cost():
        return training_cost(net, x, y, rng()) if rng_seed is not None else net.evaluate(x, y).cost

    errors = {}
    for index, (layer, (dW, db)) in enumerate(zip(net.layers, grads)):
        errors[f"dW{index}"] = assert_gradient(dW, numerical_gradient(cost, layer.W), f"layer {index} dW")
        errors[f"db{index}"] = assert_gradient(db, numerical_gradient(cost, layer.b), f"layer {index} db")
    errors["dx"] = assert_gradient(dx, numerical_gradient(cost, x), "dx")
    return errors


# -- the network, every activation × every output/cost × both label forms -----------------------
@pytest.mark.parametrize("form", ["labels", "targets"])
@pytest.mark.parametrize(("output", "cost"), OUTPUT_COSTS, ids=OUTPUT_COST_IDS)
@pytest.mark.parametrize("hidden", HIDDEN)
def test_backprop_matches_finite_differences(hidden, output, cost, form):
    net = make_network(hidden, output, cost)
    y = make_targets(output, cost, form, np.random.default_rng(1))
    x = inputs_away_from_kinks(net, y, N_SAMPLES, seed=1)

    errors = check_network(net, x, y)

    assert set(errors) == {"dW0", "db0", "dW1", "db1", "dW2", "db2", "dx"}


@pytest.mark.parametrize("hidden", HIDDEN)
def test_backprop_with_dropout_matches_finite_differences_of_the_same_mask(hidden):
    net = make_network(hidden, "softmax", "cross_entropy", dropout=0.3)
    y = np.arange(8) % SIZES[-1]
    x = inputs_away_from_kinks(net, y, 8, seed=2, rng_seed=0)

    check_network(net, x, y, rng_seed=0)

    # The mask really dropped something, and it changed the gradient.
    trace = net.backprop(x, y, record=True, rng=np.random.default_rng(0))
    masks = [mask for mask in trace.masks if mask is not None]
    assert len(masks) == 2
    assert all((mask == 0).any() and (mask > 0).any() for mask in masks)
    np.testing.assert_allclose(masks[0][masks[0] > 0], 1 / (1 - 0.3), rtol=1e-12)
    with_dropout = net.backprop(x, y, rng=np.random.default_rng(0))
    without = make_network(hidden, "softmax", "cross_entropy").backprop(x, y)
    assert relative_error(with_dropout[0][0], without[0][0]) > 1e-3


def test_dropout_cost_and_backprop_draw_the_same_mask_from_the_same_seed():
    net = make_network("tanh", "softmax", "cross_entropy", dropout=0.5)
    x = np.random.default_rng(3).normal(size=(16, SIZES[0]))
    y = np.arange(16) % SIZES[-1]
    first = training_cost(net, x, y, np.random.default_rng(7))
    again = training_cost(net, x, y, np.random.default_rng(7))
    other = training_cost(net, x, y, np.random.default_rng(8))
    assert abs(first - again) <= 1e-15 * abs(first)
    assert abs(first - other) > 1e-6  # another seed, another mask
    no_dropout = net.evaluate(x, y).cost  # prediction mode: no dropout at all
    assert abs(first - no_dropout) > 1e-6


def test_one_sample_gradient_is_the_mean_of_the_batch():
    # C is the batch mean, so the batch gradient is the mean of the one-sample gradients.
    net = make_network("tanh", "softmax", "cross_entropy")
    x = np.random.default_rng(4).normal(size=(5, SIZES[0]))
    y = np.array([0, 2, 1, 1, 0])
    batch = net.backprop(x, y)
    singles = [net.backprop(x[i : i + 1], y[i : i + 1]) for i in range(5)]
    for index, (dW, db) in enumerate(batch):
        np.testing.assert_allclose(dW, np.mean([s[index][0] for s in singles], axis=0), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(db, np.mean([s[index][1] for s in singles], axis=0), rtol=1e-12, atol=1e-15)


def test_labels_and_their_one_hot_rows_give_the_same_gradient():
    net = make_network("relu", "softmax", "cross_entropy")
    x = np.random.default_rng(5).normal(size=(6, SIZES[0]))
    labels = np.array([2, 0, 1, 1, 2, 0])
    one_hot = np.eye(SIZES[-1])[labels]
    (from_labels, dx_labels) = net.backprop(x, labels, input_gradient=True)
    (from_rows, dx_rows) = net.backprop(x, one_hot, input_gradient=True)
    for (dW_a, db_a), (dW_b, db_b) in zip(from_labels, from_rows):
        np.testing.assert_allclose(dW_a, dW_b, rtol=1e-14, atol=1e-16)
        np.testing.assert_allclose(db_a, db_b, rtol=1e-14, atol=1e-16)
    np.testing.assert_allclose(dx_labels, dx_rows, rtol=1e-14, atol=1e-16)


def test_single_output_network_with_0_1_labels():
    # One sigmoid output neuron and labels 0/1: binary classification.
    net = Network([6, 5, 4, 1], activation="tanh", output="sigmoid", cost="cross_entropy",
                  seed=0, dtype="float64")
    rng = np.random.default_rng(6)
    x = rng.normal(size=(5, 6))
    y = np.array([0, 1, 1, 0, 1])
    check_network(net, x, y)


def test_softmax_cross_entropy_rejects_target_rows_not_summing_to_one():
    # δ = a - y is ∂C/∂z only when each target row sums to 1, so other rows are refused.
    net = make_network("tanh", "softmax", "cross_entropy")
    rng = np.random.default_rng(9)
    x = rng.normal(size=(N_SAMPLES, SIZES[0]))
    y = rng.uniform(0.0, 1.0, (N_SAMPLES, SIZES[-1]))  # rows sum to about 1.5, not 1
    with pytest.raises(ValueError, match="summing to 1; row 0 sums to"):
        net.backprop(x, y)


# -- one level down: activations and costs --------------------------------------------------------
def away_from_zero(shape, seed=0):
    """Standard normal z with |z| >= 0.1 (no elementwise kink within reach of h)."""
    z = np.random.default_rng(seed).normal(size=shape)
    return np.where(np.abs(z) < 0.1, np.sign(z) * 0.1 + z, z)


def elementwise_numerical_derivative(activation, z, h=H):
    return (activation.value(z + h) - activation.value(z - h)) / (2 * h)


@pytest.mark.parametrize("name", HIDDEN)
def test_activation_derivative_matches_finite_differences(name):
    activation = activations.get(name)
    z = away_from_zero((4, 5))
    a = activation.value(z)
    assert_gradient(activation.derivative(z, a), elementwise_numerical_derivative(activation, z), name)


@pytest.mark.parametrize("name", [*HIDDEN, "softmax"])
def test_activation_backward_matches_finite_differences(name):
    # backward(z, a, g) = ∂(Σ g ⊙ σ(z))/∂z: for softmax, the Jacobian-vector product.
    activation = activations.get(name)
    z = away_from_zero((4, 5), seed=1)
    grad = np.random.default_rng(2).normal(size=z.shape)
    a = activation.value(z)
    analytic = activation.backward(z, a, grad.copy())
    numeric = numerical_gradient(lambda: np.vdot(grad, activation.value(z)), z)
    assert_gradient(analytic, numeric, f"{name}.backward")
    # The in-place form the training loop uses (out = the incoming gradient) agrees.
    in_place = grad.copy()
    returned = activation.backward(z, a, in_place, out=in_place)
    assert np.shares_memory(returned, in_place)
    np.testing.assert_allclose(in_place, analytic, rtol=1e-14, atol=1e-16)


def test_softmax_backward_is_not_the_elementwise_s_times_one_minus_s():
    softmax = activations.get("softmax")
    z = away_from_zero((3, 4), seed=3)
    s = softmax.value(z)
    grad = np.random.default_rng(4).normal(size=z.shape)
    wrong = grad * s * (1 - s)
    assert relative_error(softmax.backward(z, s, grad.copy()), wrong) > 1e-2


def test_softmax_has_no_elementwise_derivative():
    softmax = activations.get("softmax")
    z = np.zeros((2, 3))
    with pytest.raises(TypeError, match="softmax has no elementwise derivative.*backward"):
        softmax.derivative(z, softmax.value(z))


@pytest.mark.parametrize(("output", "cost"), OUTPUT_COSTS, ids=OUTPUT_COST_IDS)
def test_cost_delta_matches_finite_differences_of_the_cost(output, cost):
    # δᴸ = ∂C/∂zᴸ, with C the batch mean: the one place the 1/n lives.
    activation, cost_object = activations.get(output), losses.get(cost)
    rng = np.random.default_rng(5)
    z = rng.normal(size=(4, 3))
    y = make_targets(output, cost, "targets", rng)

    def value():
        return cost_object.value(z, activation.value(z), y, activation)

    analytic = cost_object.delta(z, activation.value(z), y, activation)
    assert_gradient(analytic, numerical_gradient(value, z), f"{output}/{cost} delta")
