"""``net.backprop(x, y, record=True)``: every layer's δ = ∂C/∂z, checked against PyTorch autograd.

The lab's Teach view and ``nnet show MODEL backprop`` draw these numbers on the neurons, so they
are checked like the gradients are: the same network rebuilt in torch in float64, each layer's
weighted input z kept with ``retain_grad``, and autograd's ∂C/∂z compared with nnet's δ to 1e-9
(relative), for every hidden activation and every output/cost pairing, for one example (what
the Teach view sends) and for a batch (where C is the batch's mean cost). The trace's z, a, cost
and gradients are checked on the way, and BP3/BP4 against the trace's own δ.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from _grid import HIDDEN, OUTPUT_COST_IDS, OUTPUT_COSTS  # noqa: E402

from nnet import Network  # noqa: E402

RTOL, ATOL = 1e-9, 1e-12
SIZES = [7, 6, 5, 4]  # two hidden layers: δ moves back through both
TORCH_ACTIVATIONS = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "leaky_relu": lambda z: F.leaky_relu(z, negative_slope=0.01),
    "identity": lambda z: z,
    "softmax": lambda z: torch.softmax(z, dim=1),
}


def network(hidden: str, output: str, cost: str) -> Network:
    net = Network(SIZES, activation=hidden, output=output, cost=cost, seed=0, dtype="float64")
    net.parameters[:] = np.random.default_rng(5).normal(0.0, 0.6, net.parameters.size)  # biases too
    return net


def torch_trace(net: Network, x: np.ndarray, targets: np.ndarray):
    """The forward pass in torch: (cost, [z tensors with retained gradients], [a tensors])."""
    a = torch.from_numpy(x)
    zs, activations = [], []
    for layer in net.layers:
        W = torch.from_numpy(layer.W.copy()).requires_grad_(True)
        b = torch.from_numpy(layer.b.copy()).requires_grad_(True)
        z = a @ W.T + b
        z.retain_grad()
        a = TORCH_ACTIVATIONS[layer.activation.name](z)
        zs.append(z)
        activations.append(a)
    y = torch.from_numpy(targets)
    n = len(x)
    output = net.layers[-1].activation.name
    if net.cost.name == "quadratic":
        cost = 0.5 * ((a - y) ** 2).sum() / n
    elif output == "softmax":
        cost = -(y * torch.log_softmax(zs[-1], dim=1)).sum() / n
    else:
        cost = F.binary_cross_entropy_with_logits(zs[-1], y, reduction="sum") / n
    return cost, zs, activations


def one_hot(labels: np.ndarray, k: int) -> np.ndarray:
    return np.eye(k)[labels]


@pytest.mark.parametrize("n", [1, 6], ids=["one-example", "batch"])
@pytest.mark.parametrize(("output", "cost"), OUTPUT_COSTS, ids=OUTPUT_COST_IDS)
@pytest.mark.parametrize("hidden", HIDDEN)
def test_every_layers_delta_matches_torch_autograd(hidden, output, cost, n):
    net = network(hidden, output, cost)
    rng = np.random.default_rng(7)
    x = rng.normal(size=(n, SIZES[0]))
    labels = rng.integers(0, SIZES[-1], n)

    targets = one_hot(labels, SIZES[-1])  # one-hot rows: targets for classifiers and regressions alike
    trace = net.backprop(x, targets, record=True)

    torch_cost, zs, activations = torch_trace(net, x, targets)
    torch_cost.backward()
    assert math.isclose(trace.cost, torch_cost.item(), rel_tol=RTOL, abs_tol=ATOL)
    assert len(trace.deltas) == len(net.layers) == len(zs)
    for index in range(len(net.layers)):
        where = f"layer {index} ({hidden} hidden, {output} output, {cost})"
        np.testing.assert_allclose(trace.zs[index], zs[index].detach().numpy(), rtol=RTOL, atol=ATOL, err_msg=where)
        np.testing.assert_allclose(trace.activations[index + 1], activations[index].detach().numpy(),
                                   rtol=RTOL, atol=ATOL, err_msg=where)
        np.testing.assert_allclose(trace.deltas[index], zs[index].grad.numpy(), rtol=RTOL, atol=ATOL,
                                   err_msg=f"delta of {where}")
        # BP3 and BP4 from the recorded deltas: ∂C/∂b = Σ_rows δ, ∂C/∂W = δᵀ a_prev
        dW, db = trace.gradients[index]
        np.testing.assert_allclose(db, trace.deltas[index].sum(axis=0), rtol=RTOL, atol=ATOL, err_msg=where)
        np.testing.assert_allclose(dW, trace.deltas[index].T @ trace.activations[index], rtol=RTOL, atol=ATOL,
                                   err_msg=where)


def test_the_trace_is_a_copy_a_second_backprop_does_not_overwrite():
    net = network("sigmoid", "sigmoid", "quadratic")
    rng = np.random.default_rng(2)
    first = net.backprop(rng.normal(size=(1, SIZES[0])), [1], record=True)
    kept = [delta.copy() for delta in first.deltas]
    net.backprop(rng.normal(size=(1, SIZES[0])), [3], record=True)
    for before, after in zip(kept, first.deltas):
        np.testing.assert_array_equal(before, after)


def test_the_mean_of_each_examples_gradient_is_the_batch_gradient():
    """The lessons: "when we average these desired changes, we get the negative gradient"."""
    net = network("sigmoid", "sigmoid", "quadratic")
    rng = np.random.default_rng(3)
    x = rng.normal(size=(10, SIZES[0]))
    labels = rng.integers(0, SIZES[-1], 10)
    batch = net.backprop(x, labels)
    each = [net.backprop(x[i : i + 1], labels[i : i + 1]) for i in range(10)]
    for index in range(len(net.layers)):
        for part in range(2):
            mean = np.mean([gradients[index][part] for gradients in each], axis=0)
            np.testing.assert_allclose(mean, batch[index][part], rtol=RTOL, atol=ATOL)
