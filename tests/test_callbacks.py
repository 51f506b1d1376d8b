"""The practitioners' callbacks: each step checked against its formula (torch's
clip_grad_norm_ for clipping) on one known minibatch, and the plateau rule on known costs."""

from __future__ import annotations

import csv
import math
from types import SimpleNamespace

import numpy as np
import pytest

from nnet import Network, callbacks

ETA = 0.1


def one_step(callback, seed=0):
    """One SGD step on one full batch with ``callback``: (parameters before, gradient, after)."""
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(16, 5)), rng.integers(0, 3, 16)
    net = Network([5, 7, 3], activation="tanh", output="softmax", cost="cross_entropy", dtype="float64", seed=seed)
    net.parameters *= 20.0  # large weights: a large gradient, and rows longer than 1
    before = net.parameters.copy()
    net.backprop(x, y)
    gradient = net.gradients.copy()
    net.fit(x, y, epochs=1, batch_size=16, optimizer="sgd", learning_rate=ETA, shuffle=False, seed=0,
            callbacks=[callback])
    return net, before, gradient, net.parameters.copy()


def test_gradient_clipping_matches_torch():
    torch = pytest.importorskip("torch")
    clip = callbacks.GradientClipping(0.5)
    _, before, gradient, after = one_step(clip)
    tensor = torch.nn.Parameter(torch.zeros(len(gradient), dtype=torch.float64))
    tensor.grad = torch.from_numpy(gradient.copy())
    norm = torch.nn.utils.clip_grad_norm_([tensor], 0.5)
    assert float(norm) > 0.5 and clip.clipped == 1
    np.testing.assert_allclose(after, before - ETA * tensor.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_l1_adds_strength_times_sign_to_the_weights_only():
    net, before, gradient, after = one_step(callbacks.L1(0.3))
    decayed = net.n_decayed
    expected = gradient.copy()
    expected[:decayed] += 0.3 * np.sign(before[:decayed])
    np.testing.assert_allclose(after, before - ETA * expected, rtol=1e-12, atol=1e-14)


def test_max_norm_caps_every_neurons_incoming_weights():
    net, before, _, _ = one_step(callbacks.MaxNorm(1.5))
    for layer in net.layers:
        norms = np.linalg.norm(layer.W, axis=1)
        assert norms.max() <= 1.5 * (1 + 1e-12)
        assert np.isclose(norms.max(), 1.5)  # they were longer, and were cut to the cap


def state(cost, trainer):
    return SimpleNamespace(record=SimpleNamespace(validation_cost=None, train_cost=cost), trainer=trainer)


def test_reduce_on_plateau_follows_its_rule():
    trainer = SimpleNamespace(base_learning_rate=1.0)
    plateau = callbacks.ReduceLROnPlateau(factor=0.5, patience=2, min_delta=0.01, min_learning_rate=0.2)
    rates = []
    for cost in [1.0, 0.9, 0.895, 0.9, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7]:
        plateau.on_epoch_end(state(cost, trainer))
        rates.append(trainer.base_learning_rate)
    # 0.895 is not 0.01 better than 0.9: epochs 3, 4 wait, then halve; 0.7 improves; then halve
    # every second epoch, never below 0.2
    assert rates == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.2, 0.2, 0.2]
    assert plateau.reductions == 4


def test_reduce_on_plateau_in_a_real_run_lowers_the_recorded_rate():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 4)), rng.integers(0, 2, 64)  # noise: the cost soon stops falling
    net = Network([4, 3, 2], activation="relu", output="softmax", cost="cross_entropy", seed=0)
    history = net.fit(x, y, epochs=30, optimizer="sgd", learning_rate=0.5, seed=0,
                      callbacks=[callbacks.ReduceLROnPlateau(factor=0.5, patience=1, min_delta=0.0)])
    rates = history.column("learning_rate")
    assert rates[0] == pytest.approx(0.5) and rates[-1] < 0.5
    assert all(later <= earlier for earlier, later in zip(rates, rates[1:]))


def test_csv_logger_writes_every_epoch_as_it_goes(tmp_path):
    path = tmp_path / "log.csv"
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(40, 3)), rng.integers(0, 2, 40)
    net = Network([3, 2], output="softmax", cost="cross_entropy", seed=0)
    history = net.fit(x, y, epochs=3, validation_split=10, seed=0, callbacks=[callbacks.CSVLogger(path)])
    rows = list(csv.DictReader(path.open()))
    assert [int(row["epoch"]) for row in rows] == [1, 2, 3]
    for row, record in zip(rows, history.epochs):
        assert math.isclose(float(row["train_cost"]), record.train_cost, rel_tol=1e-12)
        assert math.isclose(float(row["validation_accuracy"]), record.validation_accuracy, rel_tol=1e-12)
    net.fit(x, y, epochs=2, seed=1, callbacks=[callbacks.CSVLogger(path, append=True)])
    lines = path.read_text().splitlines()
    assert len(lines) == 1 + 3 + 2 and lines[0].startswith("epoch,")


@pytest.mark.parametrize(("build", "message"), [
    (lambda: callbacks.GradientClipping(0), r"max_norm must be a finite number in the range \(0.0, inf\); got 0.0"),
    (lambda: callbacks.ReduceLROnPlateau(factor=1.5), r"factor must be a finite number in the range \(0.0, 1.0\)"),
    (lambda: callbacks.ReduceLROnPlateau(monitor="accuracy"), "unknown monitor 'accuracy'"),
    (lambda: callbacks.L1(-1), r"strength must be a finite number in the range \[0.0, inf\)"),
])
def test_bad_settings_get_one_line(build, message):
    with pytest.raises(ValueError, match=message):
        build()
