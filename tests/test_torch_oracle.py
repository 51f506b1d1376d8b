"""PyTorch as an independent oracle, in float64.

The same network is built in torch (``nn.Linear`` layers holding copies of each ``layer.W`` and
``layer.b``: both store W as (n_out, n_in)), fed the same batch, and autograd's cost, dW, db and
∂C/∂x are compared with nnet's, across every hidden activation × every output/cost pairing. Then
the optimizers, one step and three, against ``torch.optim`` (biases in a parameter group without
weight decay, as nnet decays only the weights), and the learning-rate schedules against
``torch.optim.lr_scheduler``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from nnet import Network, Trainer, optimizers, schedules  # noqa: E402
from _grid import HIDDEN, OUTPUT_COST_IDS, OUTPUT_COSTS  # noqa: E402

RTOL, ATOL = 1e-9, 1e-12
SIZES = [6, 5, 4, 3]
N_SAMPLES = 8


TORCH_ACTIVATIONS = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "leaky_relu": lambda z: F.leaky_relu(z, negative_slope=0.01),  # nnet's default slope
    "identity": lambda z: z,
    "softmax": lambda z: torch.softmax(z, dim=1),
}


# -- the same network in torch --------------------------------------------------------------------
class TorchTwin(torch.nn.Module):
    """nnet's network rebuilt in torch: one nn.Linear per Dense layer, weights copied."""

    def __init__(self, net: Network):
        super().__init__()
        self.linears = torch.nn.ModuleList()
        self.activations = [layer.activation.name for layer in net.layers]
        for layer in net.layers:
            linear = torch.nn.Linear(layer.n_in, layer.n_out, dtype=torch.float64)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(layer.W))  # (n_out, n_in) in both
                linear.bias.copy_(torch.from_numpy(layer.b))
            self.linears.append(linear)
        self.cost = net.cost.name
        self.output = self.activations[-1]

    def forward(self, x, masks=None):
        """Returns (z of the output layer, its activation). ``masks``: dropout masks to apply
        after each hidden layer (nnet's own, so both see the same dropped neurons)."""
        a = x
        for index, (linear, name) in enumerate(zip(self.linears, self.activations)):
            z = linear(a)
            a = TORCH_ACTIVATIONS[name](z)
            if masks is not None and index < len(masks):
                a = a * masks[index]
        return z, a

    def loss(self, x, y, masks=None):
        z, a = self.forward(x, masks)
        n = len(x)
        if self.cost == "quadratic":
            return 0.5 * ((a - y) ** 2).sum(1).mean()
        if self.output == "softmax":
            return F.cross_entropy(z, y)  # class indices or probability rows
        return F.binary_cross_entropy_with_logits(z, y, reduction="sum") / n

    @property
    def weights(self):
        return [linear.weight for linear in self.linears]

    @property
    def biases(self):
        return [linear.bias for linear in self.linears]


def torch_targets(net: Network, y):
    """What torch's loss takes for nnet's y: class indices for softmax cross-entropy with int
    labels, else float rows (one-hot for int labels)."""
    y = np.asarray(y)
    if y.ndim == 1 and y.dtype.kind == "i":
        if net.cost.name == "cross_entropy" and net.layers[-1].activation.name == "softmax":
            return torch.from_numpy(y.astype(np.int64))
        return torch.from_numpy(np.eye(net.n_outputs)[y])
    return torch.from_numpy(y)


def make_network(hidden, output, cost, *, seed=0, dropout=0.0) -> Network:
    net = Network(SIZES, activation=hidden, output=output, cost=cost, seed=seed,
                  dropout=dropout, dtype="float64",
                  task="classification")  # identity outputs too: the grid feeds them labels as well
    rng = np.random.default_rng(seed + 100)
    net.parameters[:] = rng.normal(0.0, 0.5, net.parameters.size)  # nonzero biases too
    return net


def make_targets(output, form, rng, n=N_SAMPLES, k=SIZES[-1]):
    if form == "labels":
        return rng.permutation(np.arange(n) % k)
    if output == "softmax":
        return rng.dirichlet(np.ones(k), size=n)
    if output == "sigmoid":
        return rng.uniform(0.05, 0.95, (n, k))
    if output == "tanh":
        return rng.uniform(-0.9, 0.9, (n, k))
    return rng.normal(size=(n, k))


def assert_close(actual, expected, what=""):
    expected = expected.detach().numpy() if isinstance(expected, torch.Tensor) else expected
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=ATOL, err_msg=what)


# -- cost, gradients and the input gradient ----------------------------------------------------
@pytest.mark.parametrize("form", ["labels", "targets"])
@pytest.mark.parametrize(("output", "cost"), OUTPUT_COSTS, ids=OUTPUT_COST_IDS)
@pytest.mark.parametrize("hidden", HIDDEN)
def test_cost_and_gradients_match_torch_autograd(hidden, output, cost, form):
    net = make_network(hidden, output, cost)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(N_SAMPLES, SIZES[0]))
    y = make_targets(output, form, rng)

    grads, dx = net.backprop(x, y, input_gradient=True)
    nnet_cost = net.evaluate(x, y).cost

    twin = TorchTwin(net)
    x_torch = torch.from_numpy(x.copy()).requires_grad_(True)
    loss = twin.loss(x_torch, torch_targets(net, y))
    loss.backward()

    assert math.isclose(nnet_cost, loss.item(), rel_tol=RTOL, abs_tol=ATOL)
    for index, ((dW, db), linear) in enumerate(zip(grads, twin.linears)):
        assert_close(dW, linear.weight.grad, f"layer {index} dW")
        assert_close(db, linear.bias.grad, f"layer {index} db")
    assert_close(dx, x_torch.grad, "dx")


@pytest.mark.parametrize("hidden", HIDDEN)
def test_forward_and_every_layer_match_torch(hidden):
    net = make_network(hidden, "softmax", "cross_entropy")
    x = np.random.default_rng(2).normal(size=(N_SAMPLES, SIZES[0]))
    twin = TorchTwin(net)
    trace = net.forward(x, record=True)
    a = torch.from_numpy(x)
    with torch.no_grad():
        for index, (linear, name) in enumerate(zip(twin.linears, twin.activations)):
            z = linear(a)
            a = TORCH_ACTIVATIONS[name](z)
            assert_close(trace.zs[index], z, f"z of layer {index}")
            assert_close(trace.activations[index + 1], a, f"a of layer {index}")
    assert_close(net.forward(x), a)
    np.testing.assert_array_equal(net.predict(x), a.argmax(1).numpy())


@pytest.mark.parametrize("hidden", ["tanh", "relu"])
def test_dropout_gradients_match_torch_with_the_same_masks(hidden):
    net = make_network(hidden, "softmax", "cross_entropy", dropout=0.4)
    rng = np.random.default_rng(3)
    x = rng.normal(size=(N_SAMPLES, SIZES[0]))
    y = make_targets("softmax", "labels", rng)
    trace, dx = net.backprop(x, y, record=True, input_gradient=True, rng=np.random.default_rng(0))
    grads = trace.gradients
    masks = [torch.from_numpy(mask.copy()) for mask in trace.masks if mask is not None]
    assert len(masks) == 2 and all((mask == 0).any() for mask in masks)

    twin = TorchTwin(net)
    x_torch = torch.from_numpy(x.copy()).requires_grad_(True)
    twin.loss(x_torch, torch_targets(net, y), masks).backward()
    for index, ((dW, db), linear) in enumerate(zip(grads, twin.linears)):
        assert_close(dW, linear.weight.grad, f"layer {index} dW")
        assert_close(db, linear.bias.grad, f"layer {index} db")
    assert_close(dx, x_torch.grad, "dx")


# -- optimizers ----------------------------------------------------------------------------------
OPTIMIZERS = {
    # name: (nnet settings, torch class, torch settings)
    "sgd": ({"learning_rate": 0.1}, torch.optim.SGD, {"lr": 0.1}),
    "momentum": ({"learning_rate": 0.1, "momentum": 0.9}, torch.optim.SGD, {"lr": 0.1, "momentum": 0.9}),
    "nesterov": (
        {"learning_rate": 0.1, "momentum": 0.9},
        torch.optim.SGD,
        {"lr": 0.1, "momentum": 0.9, "nesterov": True},
    ),
    "adam": ({"learning_rate": 0.01}, torch.optim.Adam, {"lr": 0.01}),
    "adamw": ({"learning_rate": 0.01}, torch.optim.AdamW, {"lr": 0.01}),
}
WEIGHT_DECAYS = [0.0, 0.05]


def torch_optimizer(name, twin: TorchTwin, weight_decay):
    """torch.optim's optimizer over the twin, weight decay on the weights only (nnet's rule)."""
    _, cls, settings = OPTIMIZERS[name]
    groups = [
        {"params": twin.weights, "weight_decay": weight_decay},
        {"params": twin.biases, "weight_decay": 0.0},
    ]
    return cls(groups, **settings)


def torch_steps(twin, optimizer, x, targets, steps, scheduler=None):
    """``steps`` full-batch steps of a torch optimizer (and its scheduler) on the twin."""
    x = torch.from_numpy(x)
    for _ in range(steps):
        optimizer.zero_grad()
        twin.loss(x, targets).backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()


def assert_same_parameters(net: Network, twin: TorchTwin, what=""):
    for index, (layer, linear) in enumerate(zip(net.layers, twin.linears)):
        assert_close(layer.W, linear.weight, f"{what} layer {index} W")
        assert_close(layer.b, linear.bias, f"{what} layer {index} b")


def optimizer_problem():
    """A tanh network (smooth: no gradient is rounding noise that Adam would blow up) with a
    softmax cross-entropy output, and its batch."""
    net = make_network("tanh", "softmax", "cross_entropy", seed=4)
    rng = np.random.default_rng(5)
    x = rng.normal(size=(N_SAMPLES, SIZES[0]))
    y = make_targets("softmax", "labels", rng)
    return net, x, y


@pytest.mark.parametrize("steps", [1, 3])
@pytest.mark.parametrize("weight_decay", WEIGHT_DECAYS)
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_optimizer_steps_match_torch_optim(name, weight_decay, steps):
    net, x, y = optimizer_problem()
    twin = TorchTwin(net)
    settings, _, _ = OPTIMIZERS[name]
    optimizer = optimizers.get(name, **settings, weight_decay=weight_decay)
    assert optimizer.weight_decay == pytest.approx(weight_decay, abs=0)
    optimizer.bind(net.parameters, net.gradients, net.n_decayed)
    before = net.parameters.copy()

    for _ in range(steps):
        net.backprop(x, y)
        optimizer.step()
    torch_steps(twin, torch_optimizer(name, twin, weight_decay), x, torch_targets(net, y), steps)

    assert np.abs(net.parameters - before).max() > 1e-4  # the step moved something
    assert_same_parameters(net, twin, f"{name} after {steps} step(s)")


@pytest.mark.parametrize(
    "weight_decay",
    [
        pytest.param(0.0, id="adamw-0.0"),
        pytest.param(0.05, id="adamw-0.05"),
    ],
)
def test_trainer_adamw_weight_decay_is_the_one_asked_for(weight_decay):
    net, x, y = optimizer_problem()
    twin = TorchTwin(net)
    trainer = Trainer(net, optimizers.get("adamw", learning_rate=0.01, weight_decay=weight_decay), epochs=3, batch_size=N_SAMPLES, shuffle=False, seed=0)
    trainer.run(x, y)
    torch_steps(twin, torch_optimizer("adamw", twin, weight_decay), x, torch_targets(net, y), 3)
    assert trainer.optimizer.weight_decay == pytest.approx(weight_decay, abs=0)
    assert_same_parameters(net, twin, "Trainer adamw")


@pytest.mark.parametrize("weight_decay", WEIGHT_DECAYS)
@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov", "adam"])
def test_trainer_full_batch_epochs_match_torch_optim(name, weight_decay):
    # One batch per epoch, no shuffling: three epochs are three optimizer steps.
    net, x, y = optimizer_problem()
    twin = TorchTwin(net)
    settings, _, _ = OPTIMIZERS[name]
    history = Trainer(net, optimizers.get(name, weight_decay=weight_decay, **settings), epochs=3, batch_size=N_SAMPLES, shuffle=False, seed=0).run(x, y)
    torch_steps(twin, torch_optimizer(name, twin, weight_decay), x, torch_targets(net, y), 3)
    assert len(history.epochs) == 3
    assert_same_parameters(net, twin, f"Trainer {name}")


# -- learning-rate schedules ---------------------------------------------------------------------
def torch_learning_rates(make_scheduler, epochs, base=0.1):
    parameter = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([parameter], lr=base)
    scheduler = make_scheduler(optimizer)
    rates = []
    for _ in range(epochs):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return np.array(rates)


@pytest.mark.parametrize(("step_size", "gamma", "epochs"), [(1, 0.5, 5), (2, 0.1, 7), (3, 0.7, 10)])
def test_step_schedule_matches_steplr(step_size, gamma, epochs):
    schedule = schedules.StepDecay(step_size=step_size, gamma=gamma)
    ours = np.array([0.1 * schedule.factor(epoch, epochs) for epoch in range(epochs)])
    theirs = torch_learning_rates(
        lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=step_size, gamma=gamma), epochs
    )
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize(("min_factor", "epochs"), [(0.0, 10), (0.1, 7), (0.5, 1)])
def test_cosine_schedule_matches_cosineannealinglr(min_factor, epochs):
    schedule = schedules.Cosine(min_factor=min_factor)
    ours = np.array([0.1 * schedule.factor(epoch, epochs) for epoch in range(epochs)])
    theirs = torch_learning_rates(
        lambda opt: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs, eta_min=0.1 * min_factor),
        epochs,
    )
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize(
    ("schedule", "make_scheduler"),
    [
        (schedules.StepDecay(step_size=2, gamma=0.5),
         lambda opt, epochs: torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)),
        (schedules.Cosine(min_factor=0.2),
         lambda opt, epochs: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs, eta_min=0.02)),
    ],
    ids=["step", "cosine"],
)
def test_training_with_a_schedule_matches_torch(schedule, make_scheduler):
    epochs = 5
    net, x, y = optimizer_problem()
    twin = TorchTwin(net)
    history = Trainer(net, optimizers.get("momentum", learning_rate=0.1, momentum=0.9), epochs=epochs, batch_size=N_SAMPLES, lr_schedule=schedule, shuffle=False, seed=0).run(x, y)
    optimizer = torch_optimizer("momentum", twin, 0.0)
    scheduler = make_scheduler(optimizer, epochs)
    rates = []
    for _ in range(epochs):
        rates.append(optimizer.param_groups[0]["lr"])
        torch_steps(twin, optimizer, x, torch_targets(net, y), 1, scheduler)
    np.testing.assert_allclose(history.column("learning_rate"), rates, rtol=RTOL, atol=ATOL)
    assert_same_parameters(net, twin, "scheduled momentum")
