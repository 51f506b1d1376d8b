"""PyTorch as the oracle for the convolutional layers, in float64 to 1e-9.

Each layer alone against ``torch.nn.functional`` (conv2d, max_pool2d, avg_pool2d) with autograd:
the forward values, ∂L/∂W, ∂L/∂b and ∂L/∂x for L = Σ R ⊙ a, over kernels, strides, paddings,
channels and odd sizes. Then a whole network with convolutional layers (Nielsen's chapter 6
net, shrunk): the cost and every gradient; and two steps of gradient descent with momentum
through the Trainer against ``torch.optim.SGD``.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from nnet import Dense, Network, Trainer  # noqa: E402
from nnet.convolution import Conv2D  # noqa: E402
from nnet.pooling import AvgPool2D, Flatten, MaxPool2D  # noqa: E402
from _layer_checks import backward  # noqa: E402

RTOL, ATOL = 1e-9, 1e-12

CONVOLUTIONS = [  # (in, out, kernel, stride, padding, (H, W), batch)
    (1, 4, 5, 1, 0, (12, 12), 3),
    (3, 2, 3, 1, 1, (7, 9), 2),
    (2, 5, (3, 2), (2, 1), (1, 0), (9, 6), 4),
    (4, 3, 1, 1, 0, (5, 5), 2),
    (2, 2, 4, 3, 2, (11, 10), 3),
    (5, 6, (1, 3), (3, 2), (0, 1), (8, 7), 1),
]

POOLS = [  # (size, stride, padding, (C, H, W), batch)
    (2, None, 0, (3, 8, 8), 2),
    (2, None, 0, (2, 7, 9), 3),
    (3, 2, 1, (2, 9, 8), 2),
    (3, 1, 0, (1, 6, 6), 2),
    ((2, 3), (2, 1), (1, 1), (2, 6, 7), 2),
    (2, 3, 0, (3, 8, 8), 1),
]


def tensor(array, grad=False):
    return torch.tensor(np.asarray(array, np.float64), requires_grad=grad)


def assert_close(actual, expected, what):
    expected = expected.detach().numpy() if isinstance(expected, torch.Tensor) else expected
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=ATOL, err_msg=what)


@pytest.mark.parametrize("activation", ["identity", "relu", "sigmoid"])
@pytest.mark.parametrize("geometry", CONVOLUTIONS)
def test_conv2d_matches_torch(geometry, activation):
    c_in, c_out, kernel, stride, padding, (height, width), batch = geometry
    layer = Conv2D(c_in, c_out, kernel, stride, padding, activation, input_shape=(c_in, height, width), seed=1,
                   dtype=np.float64)
    rng = np.random.default_rng(2)
    layer.b = rng.normal(size=c_out)
    x = rng.normal(size=(batch, c_in, height, width))
    upstream = rng.normal(size=(batch, *layer.output_shape))
    a, gradients, dx = backward(layer, x, upstream)

    tx, tW, tb = tensor(x, True), tensor(layer.W, True), tensor(layer.b, True)
    tz = F.conv2d(tx, tW, tb, stride=layer.stride, padding=layer.padding)
    ta = {"identity": tz, "relu": torch.relu(tz), "sigmoid": torch.sigmoid(tz)}[activation]
    (ta * tensor(upstream)).sum().backward()
    assert_close(a, ta, "a")
    assert_close(gradients["W"], tW.grad, "dW")
    assert_close(gradients["b"], tb.grad, "db")
    assert_close(dx, tx.grad, "dx")


@pytest.mark.parametrize("geometry", POOLS)
@pytest.mark.parametrize("kind", [MaxPool2D, AvgPool2D])
def test_pooling_matches_torch(kind, geometry):
    size, stride, padding, shape, batch = geometry
    layer = kind(size, stride, padding, input_shape=shape, dtype=np.float64)
    rng = np.random.default_rng(3)
    x = rng.normal(size=(batch, *shape))
    upstream = rng.normal(size=(batch, *layer.output_shape))
    a, _, dx = backward(layer, x, upstream)

    tx = tensor(x, True)
    pool = F.max_pool2d if kind is MaxPool2D else F.avg_pool2d
    ta = pool(tx, layer.kernel_size, layer.stride, layer.padding)
    (ta * tensor(upstream)).sum().backward()
    assert_close(a, ta, "a")
    assert_close(dx, tx.grad, "dx")


def test_max_pool_ties_route_like_torch():
    """ReLU outputs are full of equal zeros: the error goes where torch sends it."""
    x = np.zeros((2, 3, 6, 6))
    x[:, :, ::3, 1::2] = 1.0
    layer = MaxPool2D(2, input_shape=(3, 6, 6), dtype=np.float64)
    upstream = np.random.default_rng(0).normal(size=(2, 3, 3, 3))
    _, _, dx = backward(layer, x, upstream)
    tx = tensor(x, True)
    (F.max_pool2d(tx, 2) * tensor(upstream)).sum().backward()
    assert_close(dx, tx.grad, "dx")


# -- a whole network ------------------------------------------------------------------------------


def small_nielsen(dropout=0.0):
    """Chapter 6's network, shrunk: conv 4 5x5 -> pool 2 -> conv 6 3x3 (padded) -> avg pool 2
    -> FC 12 -> 10 softmax, on 1 x 14 x 14 images (``dropout``: the first conv layer's rate)."""
    layers = [Conv2D(1, 4, 5, input_shape=(1, 14, 14), dropout=dropout, seed=1, dtype=np.float64), MaxPool2D(2),
              Conv2D(4, 6, 3, padding=1, activation="tanh", seed=2, dtype=np.float64), AvgPool2D(2), Flatten(),
              Dense(6 * 2 * 2, 12, "relu", init="he", seed=3, dtype=np.float64),
              Dense(12, 10, "softmax", init="xavier", seed=4, dtype=np.float64)]
    net = Network(layers, cost="cross_entropy")
    rng = np.random.default_rng(5)
    net.parameters[:] += rng.normal(0.0, 0.05, net.parameters.size)  # nonzero biases too
    return net


def torch_forward(net, x, parameters, mask=None):
    """The same network written with torch.nn.functional; ``parameters`` is a list of (W, b);
    ``mask``: the first layer's dropout mask (nnet's own)."""
    (W1, b1), (W2, b2), (W3, b3), (W4, b4) = parameters
    a = torch.relu(F.conv2d(x, W1, b1))
    if mask is not None:
        a = a * mask
    a = F.max_pool2d(a, 2)
    a = torch.tanh(F.conv2d(a, W2, b2, padding=1))
    a = F.avg_pool2d(a, 2).flatten(1)
    a = torch.relu(a @ W3.T + b3)
    return a @ W4.T + b4  # logits


def torch_parameters(net):
    return [(tensor(layer.W, True), tensor(layer.b, True)) for layer in net.layers if layer.parameters]


def problem(n=6):
    rng = np.random.default_rng(6)
    return rng.uniform(0, 1, (n, 1, 14, 14)), rng.integers(0, 10, n)


def test_network_cost_and_every_gradient_match_torch():
    net = small_nielsen()
    x, y = problem()
    trace, dx = net.backprop(x, y, record=True, input_gradient=True)
    parameters = torch_parameters(net)
    tx = tensor(x, True)
    loss = F.cross_entropy(torch_forward(net, tx, parameters), torch.from_numpy(y))
    loss.backward()
    assert trace.cost == pytest.approx(loss.item(), rel=RTOL)
    learned = [gradients for layer, gradients in zip(net.layers, trace.gradients) if layer.parameters]
    for index, ((dW, db), (W, b)) in enumerate(zip(learned, parameters)):
        assert_close(dW, W.grad, f"dW of learned layer {index}")
        assert_close(db, b.grad, f"db of learned layer {index}")
    assert_close(dx, tx.grad, "dx")
    np.testing.assert_allclose(net.forward(x), torch.softmax(torch_forward(net, tx, parameters), 1).detach().numpy(),
                               rtol=RTOL, atol=ATOL)


def test_dropout_on_feature_maps_matches_torch_with_the_same_mask():
    net = small_nielsen(dropout=0.5)
    x, y = problem()
    trace = net.backprop(x, y, record=True, rng=np.random.default_rng(3))
    mask = trace.masks[0]
    assert mask.shape == (len(x), 4, 10, 10) and (mask == 0).any() and (mask == 2.0).any()
    parameters = torch_parameters(net)
    loss = F.cross_entropy(torch_forward(net, tensor(x), parameters, torch.from_numpy(mask.copy())), torch.from_numpy(y))
    loss.backward()
    assert trace.cost == pytest.approx(loss.item(), rel=RTOL)
    learned = [gradients for layer, gradients in zip(net.layers, trace.gradients) if layer.parameters]
    for index, ((dW, db), (W, b)) in enumerate(zip(learned, parameters)):
        assert_close(dW, W.grad, f"dW of learned layer {index}")
        assert_close(db, b.grad, f"db of learned layer {index}")


def test_two_momentum_steps_match_torch_optim():
    net = small_nielsen()
    x, y = problem(8)
    parameters = torch_parameters(net)
    optimizer = torch.optim.SGD([p for pair in parameters for p in pair], lr=0.1, momentum=0.9)
    for _ in range(2):
        optimizer.zero_grad()
        F.cross_entropy(torch_forward(net, tensor(x), parameters), torch.from_numpy(y)).backward()
        optimizer.step()
    Trainer(net, "momentum", epochs=2, batch_size=len(x), shuffle=False, seed=0).run(x, y)
    learned = [layer for layer in net.layers if layer.parameters]
    for index, (layer, (W, b)) in enumerate(zip(learned, parameters)):
        assert_close(layer.W, W, f"W of learned layer {index}")
        assert_close(layer.b, b, f"b of learned layer {index}")
