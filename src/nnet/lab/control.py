"""Steering a training run while it goes: pause, resume, one minibatch at a time, a new learning
rate, and each layer's gradient size as it learns.

:class:`Controls` is a :class:`~nnet.training.Callback`: the training loop calls it after every
minibatch's step, in the run's own thread, and the lab's request handlers call its methods from
theirs. Paused, the training thread waits inside :meth:`Controls.on_batch_end` (checking every
``WAIT_SECONDS`` whether the run was stopped); :meth:`Controls.step` lets exactly one more
minibatch through. A new learning rate becomes the run's base rate at the next minibatch, the
schedule's factor for the current epoch applied to it, as at the start of every epoch.

The gradient size of a layer is the root mean square of its ∂C/∂W for the latest minibatch:
in a deep sigmoid network the sizes fall layer by layer towards the input (the vanishing
gradient), and a layer whose size drops to 0 has stopped learning.
"""

from __future__ import annotations

import threading

import numpy as np

from nnet import optimizers
from nnet.training import Callback, TrainingState

#: How often a paused run looks whether it was stopped, in seconds.
WAIT_SECONDS = 0.1


def gradient_sizes(network) -> list[float]:
    """The root mean square of each layer's ∂C/∂W, as the network's gradients hold it now."""
    sizes = []
    for layer in network.layers:
        gradient = layer.gradients["W"]
        size = float(np.sqrt(np.vdot(gradient, gradient) / gradient.size))
        sizes.append(size if np.isfinite(size) else None)
    return sizes


class Controls(Callback):
    """Pause, resume, step and the learning rate of one run, from any thread.

    Parameters
    ----------
    stopped : callable, optional
        Returns True once the run was asked to stop: a paused run then lets go at once.
    """

    def __init__(self, stopped=lambda: False):
        self._condition = threading.Condition()
        self._stopped = stopped
        self.paused = False
        self.waiting = False  # True while the training thread is held at a paused minibatch
        self._allowed = 0  # minibatches that may still go while paused
        self._new_rate: float | None = None
        self.learning_rate: float | None = None  # the rate of the latest step
        self.base_learning_rate: float | None = None
        self.sizes: list[float] | None = None
        self.position = 0.0  # epochs done, fractional, at the latest minibatch

    # -- from the request handlers --------------------------------------------------------------
    def pause(self) -> None:
        with self._condition:
            self.paused = True

    def resume(self) -> None:
        with self._condition:
            self.paused = False
            self._allowed = 0
            self._condition.notify_all()

    def step(self, batches: int = 1) -> None:
        """Pause (if running) and let ``batches`` more minibatches go."""
        with self._condition:
            self.paused = True
            self._allowed += int(batches)
            self._condition.notify_all()

    def set_learning_rate(self, value: float) -> float:
        """Take ``value`` as the run's base learning rate from the next minibatch on (ValueError
        if it is not a positive finite number)."""
        value = optimizers.check("learning_rate", value)
        with self._condition:
            self._new_rate = value
        return value

    def wake(self) -> None:
        """Let a paused run notice it was stopped without waiting for its next look."""
        with self._condition:
            self._condition.notify_all()

    def status(self) -> dict:
        return {"paused": self.paused, "waiting": self.waiting, "learning_rate": self.learning_rate,
                "base_learning_rate": self.base_learning_rate, "gradient_sizes": self.sizes,
                "position": round(self.position, 4)}

    # -- from the training thread ---------------------------------------------------------------
    def on_train_begin(self, state: TrainingState) -> None:
        self.base_learning_rate = state.trainer.base_learning_rate
        self.learning_rate = state.trainer.optimizer.learning_rate

    def on_batch_end(self, state: TrainingState) -> None:
        self.measure(state)
        self.hold(state)

    def measure(self, state: TrainingState) -> None:
        """After a minibatch's step: each layer's gradient size, and a new learning rate if one
        was given."""
        self.sizes = gradient_sizes(state.network)
        self.position = state.epoch + (state.batch + 1) / state.batches
        with self._condition:
            self._take_rate(state)

    def hold(self, state: TrainingState) -> None:
        """Wait here while paused (until resumed, stepped or stopped). The lab's reporter calls
        :meth:`measure`, sends its events, then this, so a stepped minibatch is seen at once."""
        with self._condition:
            while self.paused and not self._allowed and not self._stopped():
                self.waiting = True
                self._condition.wait(WAIT_SECONDS)
            self.waiting = False
            if self.paused and self._allowed:
                self._allowed -= 1
            self._take_rate(state)  # one given while paused applies to the very next minibatch

    def _take_rate(self, state: TrainingState) -> None:
        trainer = state.trainer
        rate, self._new_rate = self._new_rate, None
        if rate is not None:
            trainer.base_learning_rate = rate
            trainer.optimizer.learning_rate = rate * trainer.schedule.factor(state.epoch, state.epochs)
        self.base_learning_rate = trainer.base_learning_rate
        self.learning_rate = trainer.optimizer.learning_rate
