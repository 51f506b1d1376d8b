"""Steering a training run (nnet.lab.control) and keeping the session's runs (nnet.lab.shelf),
with a real Trainer in a thread."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

pytest.importorskip("starlette")

from nnet import Network, Trainer, optimizers  # noqa: E402
from nnet.lab.control import Controls, gradient_sizes  # noqa: E402
from nnet.lab.shelf import Kept, Shelf  # noqa: E402

TIMEOUT = 20.0


def wait_for(condition, what):
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.005)


class Batches:
    """The minibatches the loop has finished, and the learning rate of each one's step."""

    def __init__(self):
        self.count = 0
        self.rates = []


def run_in_thread(controls, learning_rate=0.5, epochs=3):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 8))
    y = (x[:, 0] > 0).astype(int)
    net = Network([8, 6, 2], activation="tanh", output="softmax", cost="cross_entropy", seed=0)
    counter = Batches()

    from nnet.training import Callback

    class Count(Callback):
        def on_batch_end(self, state):
            counter.count += 1
            counter.rates.append(state.trainer.optimizer.learning_rate)

    trainer = Trainer(net, optimizers.get("sgd", learning_rate=learning_rate), epochs=epochs, batch_size=10,
                      callbacks=[Count(), controls], seed=0)
    thread = threading.Thread(target=trainer.run, args=(x, y), daemon=True)
    return net, trainer, counter, thread


def test_pause_step_resume_and_a_live_learning_rate():
    controls = Controls()
    controls.pause()  # paused before it starts: it stops after its first minibatch
    _, trainer, counter, thread = run_in_thread(controls)
    thread.start()
    wait_for(lambda: controls.waiting, "the run to wait")
    assert counter.count == 1
    time.sleep(0.2)
    assert counter.count == 1  # still held

    controls.step()
    wait_for(lambda: counter.count == 2 and controls.waiting, "one more minibatch")
    time.sleep(0.1)
    assert counter.count == 2
    controls.step(3)
    wait_for(lambda: counter.count == 5 and controls.waiting, "three more minibatches")

    controls.set_learning_rate(0.125)  # given while paused: the very next minibatch uses it
    controls.step()
    wait_for(lambda: counter.count == 6 and controls.waiting, "a minibatch at the new rate")
    assert controls.status()["learning_rate"] == 0.125 and trainer.base_learning_rate == 0.125
    assert counter.rates[4] == 0.5 and counter.rates[5] == 0.125

    controls.resume()
    thread.join(TIMEOUT)
    assert not thread.is_alive() and counter.count == 3 * 20
    assert trainer.history.epochs[-1].learning_rate == 0.125
    with pytest.raises(ValueError, match="learning_rate"):
        controls.set_learning_rate(-1.0)


def test_a_paused_run_lets_go_when_stopped():
    stop = threading.Event()
    controls = Controls(stopped=stop.is_set)
    controls.pause()
    _, _, counter, thread = run_in_thread(controls, epochs=1)
    thread.start()
    wait_for(lambda: controls.waiting, "the run to wait")
    stop.set()
    controls.wake()
    wait_for(lambda: counter.count > 1, "the run to go on")  # (the run's own callback would stop it)
    controls.resume()
    thread.join(TIMEOUT)
    assert not thread.is_alive()


def test_gradient_sizes_are_each_layers_rms():
    net = Network([8, 6, 5, 2], activation="sigmoid", output="sigmoid", seed=0)
    x = np.random.default_rng(1).normal(size=(20, 8))
    gradients = net.backprop(x, np.arange(20) % 2)
    sizes = gradient_sizes(net)
    for size, (dW, _) in zip(sizes, gradients):
        assert size == pytest.approx(np.sqrt(np.mean(dW.astype(np.float64) ** 2)), rel=1e-6)


def test_the_shelf_keeps_every_run_and_the_latest_networks():
    shelf = Shelf(max_networks=2)
    net = Network([4, 2], seed=0)
    for run in (1, 2, 3):
        shelf.keep(Kept(run, "done", {"epochs": run}, net.copy(), {"healthy": True, "flags": [], "layers": [1]}))
    assert [entry["run"] for entry in shelf.summaries()] == [1, 2, 3]
    assert [entry["available"] for entry in shelf.summaries()] == [False, True, True]
    assert "layers" not in shelf.summaries()[0]["verdict"]
    assert shelf.get(3).network is not None
    with pytest.raises(KeyError, match="no longer kept"):
        shelf.get(1)
    with pytest.raises(KeyError, match="finished runs: 1, 2, 3"):
        shelf.get(7)
