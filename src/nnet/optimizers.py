"""Gradient descent and its refinements: how the parameters move once backprop has the gradient.

Every optimizer works on two flat arrays that hold all of a network's parameters and their
gradients (the network keeps each layer's ``W`` and ``b`` as views into them), and updates the
parameters in place. Its state (velocities, moment estimates, the step count) lives in typed
attributes, allocated once in :meth:`Optimizer.bind`.

The update rules are PyTorch's (``torch.optim``), so one step agrees with it to rounding:

sgd        ``w ← w - η g``                                   the lessons' rule, g = ∂C/∂w
momentum   ``v ← μ v + g;  w ← w - η v``
nesterov   ``v ← μ v + g;  w ← w - η (g + μ v)``
adam       ``m ← β₁m + (1-β₁)g;  v ← β₂v + (1-β₂)g²;  w ← w - η m̂ / (√v̂ + ε)``
           with ``m̂ = m / (1-β₁ᵗ)`` and ``v̂ = v / (1-β₂ᵗ)`` (Kingma & Ba 2015)
adamw      as adam, with weight decay decoupled: ``w ← w (1 - η λ)`` before the step

Weight decay λ (L2 regularisation, the lessons' ``C = C₀ + λ/2 Σ w²``) adds ``λ w`` to the
gradient of the weights (adamw: decays the weights directly). Unlike ``torch.optim`` given all
of a model's parameters, nnet does not decay the biases, as the lessons do not: to compare with
torch, put the biases in a parameter group with ``weight_decay=0``.

How fast each step runs is not this module's business: :mod:`nnet.speed` may share one update
between threads, through :meth:`Optimizer.step`'s ``split``. How the learning rate changes from
epoch to epoch is :mod:`nnet.schedules`'.
"""

from __future__ import annotations

import inspect
import math

import numpy as np

from .checks import integer, number

#: The range of every optimizer setting: what the optimizers check, and every door that takes one.
RANGES = {
    "learning_rate": {"minimum": 0.0, "open_min": True},
    "weight_decay": {"minimum": 0.0},
    "momentum": {"minimum": 0.0, "maximum": 1.0, "open_max": True},
    "beta1": {"minimum": 0.0, "maximum": 1.0, "open_max": True},
    "beta2": {"minimum": 0.0, "maximum": 1.0, "open_max": True},
    "epsilon": {"minimum": 0.0, "open_min": True},
}


def check(name: str, value) -> float:
    """``value`` as a float, if it lies in the range of the optimizer setting ``name``."""
    return number(name, value, **RANGES[name])


class Optimizer:
    """Base class. Call :meth:`bind` once with the flat parameters, then :meth:`step` per batch.

    Parameters
    ----------
    learning_rate : float
        η, the step size; must be positive and finite.
    weight_decay : float
        λ, the L2 penalty on the weights (not the biases); 0 disables it.
    """

    name: str = ""

    def __init__(self, learning_rate: float = 0.1, weight_decay: float = 0.0):
        self.learning_rate = check("learning_rate", learning_rate)
        self.weight_decay = check("weight_decay", weight_decay)
        self.steps = 0
        self.params: np.ndarray | None = None
        self.grads: np.ndarray | None = None
        self.n_decayed = 0

    def bind(self, params: np.ndarray, grads: np.ndarray, n_decayed: int | None = None) -> None:
        """Attach to flat ``params`` and ``grads`` (same 1-D shape and dtype).

        The first ``n_decayed`` entries (the network puts every weight before every bias) get
        weight decay; the default is all of them. Allocates the state arrays, zero.
        """
        if params.shape != grads.shape or params.ndim != 1:
            raise ValueError(
                f"params and grads must be 1-D arrays of the same shape; got {params.shape} and {grads.shape}"
            )
        self.params, self.grads = params, grads
        self.n_decayed = params.size if n_decayed is None else int(n_decayed)
        self._scratch = np.empty_like(params)
        for name in self.state_names:
            setattr(self, name, np.zeros_like(params))

    def step(self, split=None) -> None:
        """Move the parameters one step against their gradient, in place.

        ``split(update, size)`` may share the work out (:class:`nnet.speed.Threads` calls
        ``update(start, stop)`` over parts of the parameters in several threads at once); by
        default :meth:`update` does all of them here.
        """
        if self.params is None:
            raise RuntimeError(f"{type(self).__name__}.step() before bind(params, grads)")
        self.steps += 1
        if split is None:
            self.update(0, self.params.size)
        else:
            split(self.update, self.params.size)

    def update(self, start: int, stop: int) -> None:
        """The step for parameters ``start:stop``: the rule applied to views of every array."""
        params, grads = self.params[start:stop], self.grads[start:stop]
        scratch = self._scratch[start:stop]
        decayed = min(stop, self.n_decayed) - start  # weights come first, biases after
        if self.weight_decay and decayed > 0:
            if self.decoupled_decay:  # w ← w (1 - η λ)
                params[:decayed] *= 1.0 - self.learning_rate * self.weight_decay
            else:  # g ← g + λ w (the gradient buffer is refilled by the next backprop anyway)
                grads[:decayed] += np.multiply(params[:decayed], self.weight_decay, out=scratch[:decayed])
        state = [getattr(self, name)[start:stop] for name in self.state_names]
        self._update(params, grads, scratch, *state)

    decoupled_decay = False

    def _update(self, params: np.ndarray, grads: np.ndarray, scratch: np.ndarray, *state: np.ndarray) -> None:
        """The update rule, in place, on equally long 1-D views; ``scratch`` is free space."""
        raise NotImplementedError

    # -- state, for checkpoints ---------------------------------------------------------------
    state_names: tuple[str, ...] = ()

    def state_dict(self) -> dict:
        """Everything needed to continue: hyperparameters, the step count and state arrays."""
        state = {"name": self.name, "steps": self.steps, "hyperparameters": self.hyperparameters()}
        state["arrays"] = {name: getattr(self, name).copy() for name in self.state_names}
        return state

    def load_state_dict(self, state: dict) -> None:
        """Restore what :meth:`state_dict` returned (after :meth:`bind`)."""
        if state.get("name") != self.name:
            raise ValueError(f"optimizer state is for {state.get('name')!r}, not {self.name!r}")
        self.steps = integer("optimizer state steps", state["steps"], minimum=0)
        for name in self.state_names:
            array = np.asarray(state["arrays"][name])
            target = getattr(self, name)
            if array.shape != target.shape:
                raise ValueError(
                    f"optimizer state {name!r} has shape {array.shape}; expected {target.shape}"
                )
            target[...] = array

    def hyperparameters(self) -> dict:
        return {"learning_rate": self.learning_rate, "weight_decay": self.weight_decay}

    def __repr__(self) -> str:
        settings = ", ".join(f"{key}={value!r}" for key, value in self.hyperparameters().items())
        return f"{type(self).__name__}({settings})"


class SGD(Optimizer):
    """Plain gradient descent: ``w ← w - η ∂C/∂w``."""

    name = "sgd"

    def _update(self, params, grads, scratch):
        params -= np.multiply(grads, self.learning_rate, out=scratch)


class Momentum(Optimizer):
    """Gradient descent with momentum: ``v ← μ v + g;  w ← w - η v`` (torch.optim.SGD's form).

    The lessons write ``v ← μ v - η g;  w ← w + v``; for a constant η the two are the same
    walk, with nnet's ``v`` equal to theirs divided by -η.
    """

    name = "momentum"
    state_names = ("velocity",)
    nesterov = False

    def __init__(self, learning_rate: float = 0.1, momentum: float = 0.9, weight_decay: float = 0.0):
        super().__init__(learning_rate, weight_decay)
        self.momentum = check("momentum", momentum)

    def _update(self, params, grads, scratch, velocity):
        velocity *= self.momentum
        velocity += grads
        if self.nesterov:  # w ← w - η (g + μ v): look ahead along the new velocity
            step = np.multiply(velocity, self.momentum, out=scratch)
            step += grads
            step *= self.learning_rate
        else:
            step = np.multiply(velocity, self.learning_rate, out=scratch)
        params -= step

    def hyperparameters(self):
        return {**super().hyperparameters(), "momentum": self.momentum}


class Nesterov(Momentum):
    """Nesterov's accelerated gradient: ``v ← μ v + g;  w ← w - η (g + μ v)`` (torch's form)."""

    name = "nesterov"
    nesterov = True


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015), written as the paper writes it::

        m ← β₁ m + (1 - β₁) g          first moment: a running mean of the gradient
        v ← β₂ v + (1 - β₂) g²         second moment: a running mean of its square
        m̂ = m / (1 - β₁ᵗ),  v̂ = v / (1 - β₂ᵗ)   corrected for starting at zero
        w ← w - η m̂ / (√v̂ + ε)

    ε is added to √v̂ (PyTorch's placement), not inside the square root.
    """

    name = "adam"
    state_names = ("m", "v")

    def __init__(
        self,
        learning_rate: float = 1e-3,
        beta1: float = 0.9,
        beta2: float = 0.999,
        epsilon: float = 1e-8,
        weight_decay: float = 0.0,
    ):
        super().__init__(learning_rate, weight_decay)
        self.beta1 = check("beta1", beta1)
        self.beta2 = check("beta2", beta2)
        self.epsilon = check("epsilon", epsilon)

    def _update(self, params, grads, scratch, m, v):
        t = self.steps
        beta1, beta2 = self.beta1, self.beta2
        # m ← β₁ m + (1 - β₁) g, computed as β₁ (m - g) + g: no scratch array, one pass fewer
        m -= grads
        m *= beta1
        m += grads
        # v ← β₂ v + (1 - β₂) g², likewise as β₂ (v - g²) + g²
        np.multiply(grads, grads, out=scratch)
        v -= scratch
        v *= beta2
        v += scratch
        # w ← w - η m̂ / (√v̂ + ε), with the bias corrections folded into two scalars:
        # η m̂ / (√v̂ + ε) = [η √(1-β₂ᵗ) / (1-β₁ᵗ)] m / (√v + ε √(1-β₂ᵗ))
        root_correction = math.sqrt(1.0 - beta2**t)
        denominator = np.sqrt(v, out=scratch)
        denominator += self.epsilon * root_correction
        step = np.divide(m, denominator, out=scratch)
        step *= self.learning_rate * root_correction / (1.0 - beta1**t)
        params -= step

    def hyperparameters(self):
        return {
            **super().hyperparameters(),
            "beta1": self.beta1,
            "beta2": self.beta2,
            "epsilon": self.epsilon,
        }


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019): ``w ← w (1 - η λ)``, then
    the Adam step on the undecayed gradient, as ``torch.optim.AdamW``."""

    name = "adamw"
    decoupled_decay = True

    def __init__(self, learning_rate: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999,
                 epsilon: float = 1e-8, weight_decay: float = 1e-2):
        super().__init__(learning_rate, beta1, beta2, epsilon, weight_decay)


OPTIMIZERS: dict[str, type[Optimizer]] = {
    cls.name: cls for cls in (SGD, Momentum, Nesterov, Adam, AdamW)
}


def get(name: str | Optimizer, **settings) -> Optimizer:
    """Return an optimizer: ``name`` built with ``settings``, or ``name`` itself if it is one.

    Settings that are None are left at the optimizer's defaults; a setting the optimizer does
    not take (``momentum`` for adam) is an error.
    """
    if isinstance(name, Optimizer):
        return name
    try:
        cls = OPTIMIZERS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown optimizer {name!r}; choose one of: {', '.join(OPTIMIZERS)}"
        ) from None
    settings = {key: value for key, value in settings.items() if value is not None}
    accepted = list(inspect.signature(cls).parameters)
    unknown = sorted(set(settings) - set(accepted))
    if unknown:
        raise ValueError(
            f"optimizer {name!r} does not take {', '.join(unknown)}; it takes: {', '.join(accepted)}"
        )
    return cls(**settings)
