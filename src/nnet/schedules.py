"""Learning-rate schedules: how the step size η changes from epoch to epoch.

A schedule maps an epoch number (0, 1, ...) to a factor on the base learning rate:

constant   1, every epoch
step       ``γ^⌊epoch / step_size⌋``, as ``torch.optim.lr_scheduler.StepLR``
cosine     from 1 down to ``min_factor`` over the run, ``min + (1 - min) (1 + cos(π epoch / epochs)) / 2``,
           as ``CosineAnnealingLR``
"""

from __future__ import annotations

import math

from .checks import number, positive_int


class Schedule:
    """A learning-rate schedule: ``factor(epoch)`` multiplies the base learning rate."""

    name = ""

    def factor(self, epoch: int, epochs: int) -> float:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Constant(Schedule):
    """The same learning rate every epoch."""

    name = "constant"

    def factor(self, epoch, epochs):
        return 1.0


class StepDecay(Schedule):
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs."""

    name = "step"

    def __init__(self, step_size: int = 10, gamma: float = 0.1):
        self.step_size = positive_int("step_size", step_size)
        self.gamma = number("gamma", gamma, minimum=0.0, open_min=True)

    def factor(self, epoch, epochs):
        return self.gamma ** (epoch // self.step_size)

    def __repr__(self):
        return f"StepDecay(step_size={self.step_size}, gamma={self.gamma})"


class Cosine(Schedule):
    """Half a cosine from 1 at the first epoch down towards ``min_factor`` at the last:
    ``min + (1 - min) (1 + cos(π epoch / epochs)) / 2``."""

    name = "cosine"

    def __init__(self, min_factor: float = 0.0):
        self.min_factor = number("min_factor", min_factor, minimum=0.0, maximum=1.0)

    def factor(self, epoch, epochs):
        progress = epoch / max(epochs, 1)
        return self.min_factor + (1.0 - self.min_factor) * 0.5 * (1.0 + math.cos(math.pi * progress))

    def __repr__(self):
        return f"Cosine(min_factor={self.min_factor})"


SCHEDULES: dict[str, type[Schedule]] = {cls.name: cls for cls in (Constant, StepDecay, Cosine)}


def get(name: str | Schedule | None) -> Schedule:
    """Return the schedule called ``name`` with its defaults (None means constant)."""
    if name is None:
        return Constant()
    if isinstance(name, Schedule):
        return name
    try:
        return SCHEDULES[name]()
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown learning-rate schedule {name!r}; choose one of: {', '.join(SCHEDULES)}"
        ) from None
