"""The lab's Teach numbers (nnet.lab.teach), against the library and against PyTorch autograd.

The cost, target, δ and gradients of one example must be the library's own
(``net.backprop(..., record=True)``); the desired nudges of the hidden layers are -∂C/∂a, checked
against torch; ten examples' desired changes must average to the negative batch gradient; a
sandbox step must be the lessons' ``w ← w - η ∂C/∂w`` and leave the served network alone.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("starlette")

from nnet import Network  # noqa: E402
from nnet.lab.explain import NonFiniteError  # noqa: E402
from nnet.lab.teach import MAX_UNDO, Sandbox, backprop_one, desired_changes, significant  # noqa: E402

SIZES = [784, 16, 12, 10]


def lesson_network(seed=0, **options) -> Network:
    settings = {"activation": "sigmoid", "output": "sigmoid", "cost": "quadratic", **options}
    return Network(SIZES, seed=seed, **settings)


def pixels(n, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image = np.zeros((n, 28, 28), np.uint8)
    for i in range(n):  # a blob of ink somewhere, like a digit's stroke
        row, column = rng.integers(6, 20, 2)
        image[i, row - 5 : row + 5, column - 2 : column + 2] = rng.integers(100, 256)
    return image.reshape(n, 784)


def close(actual, expected, what=""):
    """Equal to the rounding the lab sends: 5 significant digits of the largest value."""
    expected = np.asarray(expected, dtype=np.float64).ravel()
    top = np.abs(expected).max() if expected.size else 0.0
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64), expected, rtol=0, atol=max(top, 1e-300) * 1e-4,
                               err_msg=what)


@pytest.mark.parametrize(("activation", "output", "cost"),
                         [("sigmoid", "sigmoid", "quadratic"), ("relu", "softmax", "cross_entropy"),
                          ("tanh", "sigmoid", "cross_entropy")])
def test_one_example_is_the_librarys_backprop(activation, output, cost):
    net = lesson_network(activation=activation, output=output, cost=cost)
    x = pixels(1, seed=3)[0]
    result = backprop_one(net, x, 7, neurons=[(0, 5), (2, 7)])

    trace = net.backprop(x[None], [7], record=True)
    assert result["cost"] == pytest.approx(trace.cost, rel=1e-12)
    assert result["target"] == [1.0 if k == 7 else 0.0 for k in range(10)]
    close(result["output"], trace.output[0])
    assert result["answer"] == int(trace.output[0].argmax())
    assert [layer["name"] for layer in result["layers"]] == ["hidden 1", "hidden 2", "output"]
    for index, layer in enumerate(result["layers"]):
        close(layer["delta"], trace.deltas[index][0], f"delta of layer {index}")
        np.testing.assert_allclose(layer["a"], trace.activations[index + 1][0], atol=1e-4)  # 4 decimals
    # the output's desired nudge: what we want minus what we got
    close(result["layers"][-1]["nudge"], np.eye(10)[7] - trace.output[0])
    # the first layer's gradient image: the example's pixels times the neuron's δ
    first, last = result["gradients"]
    assert first["shape"] == [28, 28] and last["shape"] == [12]
    close(first["weights"], trace.deltas[0][0, 5] * (x / 255.0))
    close(first["weights"], trace.gradients[0][0][5])
    assert first["bias"] == pytest.approx(trace.gradients[0][1][5], rel=1e-4)
    close(last["weights"], trace.gradients[2][0][7])


def test_hidden_nudges_are_minus_dC_da_by_torch_autograd():
    torch = pytest.importorskip("torch")
    net = lesson_network(dtype="float64")
    x = pixels(1, seed=4)[0]
    result = backprop_one(net, x, 2)

    a = torch.from_numpy(x[None] / 255.0).requires_grad_(True)
    kept = []
    for layer in net.layers:
        a = torch.sigmoid(a @ torch.from_numpy(layer.W).T + torch.from_numpy(layer.b))
        a.retain_grad()
        kept.append(a)
    cost = 0.5 * ((a - torch.from_numpy(np.eye(10)[[2]])) ** 2).sum()
    cost.backward()
    for index, activation in enumerate(kept):  # the quadratic cost: the output's y - a is -∂C/∂a too
        close(result["layers"][index]["nudge"], -activation.grad.numpy()[0], f"nudge of layer {index}")


def test_a_neuron_that_does_not_exist_is_an_index_error():
    net = lesson_network()
    with pytest.raises(IndexError, match=r"layer 0 \(hidden 1\) has neurons 0..15"):
        backprop_one(net, pixels(1)[0], 1, neurons=[(0, 16)])
    with pytest.raises(IndexError, match="layers 0..2"):
        desired_changes(net, pixels(2), [1, 2], 3, 0)


def test_the_average_of_the_desired_changes_is_the_negative_gradient():
    net = lesson_network()
    x, labels = pixels(10, seed=5), np.arange(10)
    result = desired_changes(net, x, labels, 0, 3)

    gradients = net.backprop(x, labels)  # the batch: C is the mean of the ten examples' costs
    close(result["average"]["weights"], -gradients[0][0][3])
    assert result["average"]["bias"] == pytest.approx(-gradients[0][1][3], rel=1e-5)
    assert len(result["examples"]) == 10 and result["shape"] == [28, 28]
    for row, example in enumerate(result["examples"]):  # each one backpropagated on its own
        alone = net.backprop(x[row : row + 1], labels[row : row + 1], record=True)
        close(example["weights"], -alone.gradients[0][0][3])
        assert example["cost"] == pytest.approx(alone.cost, rel=1e-6)
        close(example["outputs"], np.eye(10)[row] - alone.output[0])
    assert result["average"]["cost"] == pytest.approx(net.evaluate(x, labels).cost, rel=1e-5)
    assert result["abs_max"] == pytest.approx(max(np.abs(e["weights"]).max() for e in result["examples"]), rel=1e-4)


def test_a_sandbox_step_is_gradient_descent_and_leaves_the_served_network_alone():
    served = lesson_network(seed=1)
    kept = served.parameters.copy()
    sandbox = Sandbox(served, based_on=4)
    x = pixels(1, seed=6)
    gradient = served.copy().backprop(x, [3])

    result = sandbox.step(x[0], 3, learning_rate=3.0)

    for (dW, db), before, after in zip(gradient, served.layers, sandbox.network.layers):
        np.testing.assert_allclose(after.W, before.W - 3.0 * dW, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(after.b, before.b - 3.0 * db, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(served.parameters, kept)
    assert result["after"][0][3] > result["before"][0][3]  # the right output grew
    assert result["cost_after"] < result["cost_before"]
    np.testing.assert_allclose(result["after"][0], sandbox.network.forward(x)[0], atol=1e-6)
    assert (result["steps"], result["based_on"], result["undo"]) == (1, 4, ["a step"])


def test_undo_edit_and_reset():
    served = lesson_network(seed=2)
    sandbox = Sandbox(served, based_on=1)
    x = pixels(1, seed=7)
    start = sandbox.network.parameters.copy()
    sandbox.step(x, [5], 1.0)
    after_step = sandbox.network.parameters.copy()

    expected = served.copy()
    expected.parameters[:] = after_step
    old = float(expected.layers[2].W[5, 3])
    edited = sandbox.edit(2, 5, 3, 4.5)  # the weight from hidden 2's neuron 3 into output 5
    assert sandbox.network.layers[2].W[5, 3] == 4.5 and edited["old"] == old and edited["new"] == 4.5
    expected.layers[2].W[5, 3] = 4.5
    np.testing.assert_allclose(sandbox.network.forward(x), expected.forward(x), rtol=1e-6)
    sandbox.edit(1, 0, None, -2.0)
    assert sandbox.network.layers[1].b[0] == -2.0 and sandbox.status()["edits"] == 2

    sandbox.undo()
    sandbox.undo()
    np.testing.assert_array_equal(sandbox.network.parameters, after_step)
    assert sandbox.undo()["undone"] == "a step"
    np.testing.assert_array_equal(sandbox.network.parameters, start)
    with pytest.raises(ValueError, match="nothing to undo"):
        sandbox.undo()
    with pytest.raises(ValueError, match=r"\[-100, 100\]"):
        sandbox.edit(0, 0, 0, 1e6)
    with pytest.raises(IndexError, match="inputs 0..15"):
        sandbox.edit(1, 0, 16, 1.0)

    for _ in range(MAX_UNDO + 3):
        sandbox.step(x, [5], 0.1)
    assert len(sandbox.status()["undo"]) == MAX_UNDO
    version = sandbox.version
    status = sandbox.reset(served, based_on=2)
    np.testing.assert_array_equal(sandbox.network.parameters, served.parameters)
    assert status["steps"] == 0 and status["based_on"] == 2 and status["version"] > version


def test_a_step_that_overflows_is_refused_and_undone():
    net = Network([784, 10], activation="relu", output="identity", cost="quadratic", task="classification", seed=0)
    sandbox = Sandbox(net, based_on=1)
    before = sandbox.network.parameters.copy()
    with pytest.raises(NonFiniteError, match="undone"):
        sandbox.step(pixels(1), [1], 1e38)
    np.testing.assert_array_equal(sandbox.network.parameters, before)
    assert sandbox.status()["steps"] == 0


def test_the_sandbox_has_no_dropout():
    net = Network([784, 16, 10], activation="relu", output="softmax", cost="cross_entropy", dropout=0.5, seed=0)
    sandbox = Sandbox(net, based_on=1)
    x = pixels(1)
    first = backprop_one(sandbox.network, x[0], 1)
    again = backprop_one(sandbox.network, x[0], 1)
    assert first["layers"][0]["delta"] == again["layers"][0]["delta"]  # no random masks
    assert net.layers[0].dropout == 0.5  # the served network keeps its own


def test_significant_keeps_small_numbers_in_proportion():
    assert significant([3.14159e-6, 1.0e-9, 0.0]) == pytest.approx([3.1416e-6, 1.0e-9, 0.0], rel=1e-12, abs=1e-14)
    assert significant([123456.7, 1.04]) == [123457.0, 1.0]
    assert significant(np.zeros(3)) == [0.0, 0.0, 0.0]
