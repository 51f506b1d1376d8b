"""Checkpoints: a model file that also holds where training stood, so it can go on exactly.

A checkpoint is a model file (:mod:`nnet.serialization`) with two more things in it: the
trainer's state under ``checkpoint`` in the description (the next epoch, the seed, the history,
early stopping's best cost, the optimizer's name, step count and settings, the augmentation's
settings) and tensors for the
arrays: ``optimizer.<name>`` (momentum's velocity, Adam's m and v) and
``trainer.best_parameters`` (early stopping's best weights). :func:`load_checkpoint` checks
every field before :meth:`nnet.Trainer.restore` sees it.
"""

from __future__ import annotations

import numpy as np

from . import augment, optimizers
from ._safetensors import ModelFileError
from .network import Network
from .serialization import brief, history_problem, load_with_tensors, save


def save_checkpoint(network: Network, checkpoint: dict, path, *, metadata: dict | None = None):
    """Save a network with a training checkpoint (:meth:`nnet.Trainer.checkpoint`): optimizer
    state, history, early-stopping state and seed, so that training can resume exactly."""
    optimizer = checkpoint["optimizer"]
    extra = {f"optimizer.{name}": array for name, array in optimizer["arrays"].items()}
    if checkpoint.get("best_parameters") is not None:
        extra["trainer.best_parameters"] = checkpoint["best_parameters"]
    state = {key: value for key, value in checkpoint.items() if key not in ("optimizer", "best_parameters")}
    state["optimizer"] = {key: value for key, value in optimizer.items() if key != "arrays"}
    state["optimizer"]["arrays"] = sorted(optimizer["arrays"])
    if not np.isfinite(state.get("best_cost", 0.0)):
        state["best_cost"] = None  # JSON has no infinity
    return save(network, path, metadata={**(metadata or {}), "checkpoint": state}, extra_tensors=extra)


def load_checkpoint(path) -> tuple[Network, dict]:
    """Load what :func:`save_checkpoint` wrote: ``(network, checkpoint)`` for ``fit(resume=...)``."""
    network, extra = load_with_tensors(path)
    state = network.metadata.get("checkpoint")
    if not isinstance(state, dict) or "optimizer" not in state:
        raise ModelFileError(f"{path}: a model file, but not a training checkpoint")
    problem = checkpoint_problem(state)
    if problem:
        raise ModelFileError(f"{path}: checkpoint {problem}")
    optimizer = dict(state["optimizer"])
    listed = {f"optimizer.{name}" for name in optimizer["arrays"]} | {"trainer.best_parameters"}
    unlisted = sorted(set(extra) - listed)
    if unlisted:
        raise ModelFileError(f"{path}: tensors {unlisted} are not part of the checkpoint")
    try:
        optimizer["arrays"] = {name: extra[f"optimizer.{name}"] for name in optimizer["arrays"]}
    except KeyError as missing:
        raise ModelFileError(f"{path}: checkpoint tensor {missing} is missing") from None
    for name, array in optimizer["arrays"].items():
        if array.shape != network.parameters.shape:
            raise ModelFileError(f"{path}: checkpoint tensor 'optimizer.{name}' has shape {array.shape}; "
                                 f"the network has {network.parameters.shape}")
    best = extra.get("trainer.best_parameters")
    if best is not None and best.shape != network.parameters.shape:
        raise ModelFileError(
            f"{path}: checkpoint tensor 'trainer.best_parameters' has shape {best.shape}; the network has {network.parameters.shape}"
        )
    for name, array in [*optimizer["arrays"].items(), ("best_parameters", best)]:
        if array is not None and not np.isfinite(array).all():
            raise ModelFileError(f"{path}: checkpoint tensor {name!r} holds NaN or infinite values")
    checkpoint = {**state, "optimizer": optimizer}
    checkpoint["best_parameters"] = best
    if checkpoint.get("best_cost") is None:
        checkpoint["best_cost"] = float("inf")
    return network, checkpoint


def checkpoint_problem(state: dict) -> str | None:
    """What is wrong with a checkpoint's state (what ``Trainer.restore`` reads), or None."""
    for key in ("next_epoch", "seed", "epochs_without_improvement"):
        value = state.get(key)
        if type(value) is not int or value < 0:
            return f"{key} must be an integer >= 0; got {brief(value)}"
    if state.get("best_cost") is not None and type(state["best_cost"]) not in (int, float):
        return f"best_cost must be a number or null; got {brief(state['best_cost'])}"
    optimizer = state["optimizer"]
    if not (
        isinstance(optimizer, dict)
        and isinstance(optimizer.get("name"), str)
        and type(optimizer.get("steps")) is int
        and optimizer["steps"] >= 0
        and isinstance(optimizer.get("arrays"), list)
        and all(isinstance(name, str) for name in optimizer["arrays"])
        and isinstance(optimizer.get("hyperparameters", {}), dict)
    ):
        return f"optimizer must hold a name, steps (an integer >= 0) and a list of array names; got {brief(optimizer)}"
    kind = optimizers.OPTIMIZERS.get(optimizer["name"])
    if kind is None:
        return f"optimizer {brief(optimizer['name'])} is not one of {sorted(optimizers.OPTIMIZERS)}"
    if sorted(optimizer["arrays"]) != sorted(kind.state_names):
        return f"optimizer {optimizer['name']} keeps the arrays {sorted(kind.state_names)}; got {brief(optimizer['arrays'])}"
    problem = history_problem(state.get("history"))
    if problem:
        return f"history {problem}"
    return augment_problem(state.get("augment"))


def augment_problem(settings) -> str | None:
    """What is wrong with a checkpoint's augmentation (null, or its settings by name), or None."""
    if settings is None:
        return None
    if not (isinstance(settings, dict) and set(settings) <= set(augment.SETTINGS)
            and all(type(value) in (int, float) for value in settings.values())):
        return f"augment must be null or an object of numbers named {', '.join(augment.SETTINGS)}; got {brief(settings)}"
    try:
        augment.Augmentation(**settings)
    except (TypeError, ValueError) as error:
        return f"augment: {error}"
    return None
