"""The regression costs (mae, huber) and row weights, against centred differences in float64
and against PyTorch's own losses (L1Loss, HuberLoss, MSELoss, BCE/CE with per-row weights)."""

from __future__ import annotations

import numpy as np
import pytest

from nnet import Network, activations, losses

torch = pytest.importorskip("torch")
F = torch.nn.functional

IDENTITY = activations.get("identity")
TANH = activations.get("tanh")
SIGMOID = activations.get("sigmoid")
SOFTMAX = activations.get("softmax")
H = 1e-6


def numerical_delta(cost, z, y, activation, weights=None):
    """∂C/∂z by centred differences, C the (weighted) batch mean."""
    grad = np.zeros_like(z)
    for index in np.ndindex(z.shape):
        up, down = z.copy(), z.copy()
        up[index] += H
        down[index] -= H
        grad[index] = (cost.value(up, activation.value(up), y, activation, weights)
                       - cost.value(down, activation.value(down), y, activation, weights)) / (2 * H)
    return grad


def regression_batch(rng, n=7, k=3):
    z = rng.normal(0.0, 2.0, (n, k))
    y = rng.normal(0.0, 2.0, (n, k))
    # keep clear of the kinks (|a - y| = 0 for mae, = t for huber) for the finite differences
    gap = np.abs(np.abs(z - y) - 1.0)
    z[gap < 1e-3] += 0.01
    z[np.abs(z - y) < 1e-3] += 0.01
    return z, y


CASES = [
    (losses.get("mae"), IDENTITY),
    (losses.get("mae"), TANH),
    (losses.get("huber"), IDENTITY),
    (losses.get("huber", threshold=0.4), TANH),
    (losses.get("quadratic"), IDENTITY),
]
IDS = ["mae-identity", "mae-tanh", "huber-identity", "huber0.4-tanh", "quadratic-identity"]


@pytest.mark.parametrize("weighted", [False, True], ids=["plain", "weighted"])
@pytest.mark.parametrize(("cost", "activation"), CASES, ids=IDS)
def test_delta_matches_finite_differences(cost, activation, weighted):
    rng = np.random.default_rng(0)
    z, y = regression_batch(rng)
    weights = rng.uniform(0.0, 3.0, len(z)) if weighted else None
    delta = cost.delta(z, activation.value(z), y, activation, weights=weights)
    expected = numerical_delta(cost, z, y, activation, weights)
    np.testing.assert_allclose(delta, expected, rtol=1e-6, atol=1e-9)


def torch_loss(name, a, y, threshold=1.0):
    """nnet's convention: summed over the outputs, averaged over the rows."""
    n = len(a)
    if name == "mae":
        return F.l1_loss(a, y, reduction="sum") / n
    if name == "huber":
        return F.huber_loss(a, y, reduction="sum", delta=threshold) / n
    return 0.5 * F.mse_loss(a, y, reduction="sum") / n


@pytest.mark.parametrize(("cost", "activation"), CASES, ids=IDS)
def test_value_and_delta_match_torch(cost, activation):
    rng = np.random.default_rng(1)
    z, y = regression_batch(rng, n=9, k=2)
    z_torch = torch.from_numpy(z.copy()).requires_grad_(True)
    a_torch = z_torch if activation is IDENTITY else torch.tanh(z_torch)
    loss = torch_loss(cost.name, a_torch, torch.from_numpy(y), getattr(cost, "threshold", 1.0))
    loss.backward()
    a = activation.value(z)
    assert cost.value(z, a, y, activation) == pytest.approx(loss.item(), rel=1e-12)
    np.testing.assert_allclose(cost.delta(z, a, y, activation), z_torch.grad.numpy(), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("name", ["quadratic", "mae", "huber", "cross_entropy-softmax", "cross_entropy-sigmoid"])
def test_weighted_mean_matches_torch_per_row_losses(name):
    """C = Σ w_x C_x / Σ w_x: torch's per-row losses (reduction='none') weighted by hand."""
    rng = np.random.default_rng(2)
    n, k = 10, 4
    z = rng.normal(size=(n, k))
    w = rng.uniform(0.0, 2.0, n)
    cost_name, _, output = name.partition("-")
    cost = losses.get(cost_name)
    z_torch = torch.from_numpy(z.copy()).requires_grad_(True)
    if output == "softmax":
        activation, y = SOFTMAX, np.eye(k)[rng.integers(0, k, n)]
        rows = F.cross_entropy(z_torch, torch.from_numpy(y), reduction="none")
    elif output == "sigmoid":
        activation, y = SIGMOID, rng.uniform(0.0, 1.0, (n, k))
        rows = F.binary_cross_entropy_with_logits(z_torch, torch.from_numpy(y), reduction="none").sum(1)
    else:
        activation, y = IDENTITY, rng.normal(size=(n, k))
        rows = {"quadratic": lambda: 0.5 * F.mse_loss(z_torch, torch.from_numpy(y), reduction="none").sum(1),
                "mae": lambda: F.l1_loss(z_torch, torch.from_numpy(y), reduction="none").sum(1),
                "huber": lambda: F.huber_loss(z_torch, torch.from_numpy(y), reduction="none").sum(1)}[cost_name]()
    weights = torch.from_numpy(w)
    loss = (rows * weights).sum() / weights.sum()
    loss.backward()
    a = activation.value(z)
    assert cost.value(z, a, y, activation, weights=w) == pytest.approx(loss.item(), rel=1e-12)
    np.testing.assert_allclose(cost.delta(z, a, y, activation, weights=w), z_torch.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_equal_weights_are_the_plain_mean_and_zero_weights_drop_rows():
    rng = np.random.default_rng(3)
    z, y = regression_batch(rng)
    cost = losses.get("huber")
    a = IDENTITY.value(z)
    plain = cost.delta(z, a, y, IDENTITY)
    np.testing.assert_allclose(cost.delta(z, a, y, IDENTITY, weights=np.full(len(z), 2.5)), plain, rtol=1e-12)
    weights = np.ones(len(z))
    weights[3:] = 0.0
    dropped = cost.delta(z, a, y, IDENTITY, weights=weights)
    np.testing.assert_allclose(dropped[:3], cost.delta(z[:3], a[:3], y[:3], IDENTITY), rtol=1e-12)
    assert not dropped[3:].any()
    assert cost.value(z, a, y, IDENTITY, weights=np.zeros(len(z))) == 0.0


@pytest.mark.parametrize("cost", ["mae", "huber"])
def test_network_gradients_match_torch_autograd(cost):
    """A whole regression network: nnet's backprop against torch's autograd, float64."""
    net = Network([5, 4, 2], activation="tanh", output="identity", cost=cost, dtype="float64", seed=0)
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(6, 5)), rng.normal(0.0, 3.0, (6, 2))
    gradients = net.backprop(x, y)
    layers = [torch.nn.Linear(4 if i else 5, 2 if i else 4, dtype=torch.float64) for i in range(2)]
    with torch.no_grad():
        for linear, layer in zip(layers, net.layers):
            linear.weight.copy_(torch.from_numpy(layer.W))
            linear.bias.copy_(torch.from_numpy(layer.b))
    out = layers[1](torch.tanh(layers[0](torch.from_numpy(x))))
    torch_loss(cost, out, torch.from_numpy(y)).backward()
    for (dW, db), linear in zip(gradients, layers):
        np.testing.assert_allclose(dW, linear.weight.grad.numpy(), rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(db, linear.bias.grad.numpy(), rtol=1e-10, atol=1e-13)


def test_table_get_and_settings():
    assert {"quadratic", "cross_entropy", "mae", "huber"} <= set(losses.COSTS)
    assert losses.get("huber").threshold == 1.0
    assert losses.get("huber", threshold=0.3).settings() == {"threshold": 0.3}
    with pytest.raises(ValueError, match="huber threshold must be a finite number > 0; got -1.0"):
        losses.get("huber", threshold=-1)
    with pytest.raises(ValueError, match="cost 'mae' takes the settings none"):
        losses.get("mae", threshold=2)


def test_float32_stays_float32_with_weights():
    z = np.random.default_rng(5).normal(size=(4, 2)).astype(np.float32)
    y = np.zeros_like(z)
    delta = losses.get("mae").delta(z, z, y, IDENTITY, weights=np.ones(4, np.float32))
    assert delta.dtype == np.float32
