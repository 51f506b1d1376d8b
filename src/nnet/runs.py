"""A training run: its settings, their defaults and presets, and what they build.

Every door that trains a network (``nnet train``, the lab's Train view, the benchmark) goes
through here, so a setting has one name, one default, one check and one meaning everywhere::

    settings = runs.resolve({"epochs": 5}, preset="lesson")   # DEFAULTS < preset < given
    network = runs.build_network(settings, n_inputs=784, n_outputs=10)
    trainer = runs.build_trainer(network, settings)            # records the optimizer's values
    trainer.run(x_train, y_train, validation)
    nnet.save(network, "model.safetensors", metadata=runs.metadata(settings, ...))

Settings are a plain dict (what a model file keeps under ``training``), named as ``nnet
train``'s options: ``--learning-rate`` is ``learning_rate``.
"""

from __future__ import annotations

import numpy as np

from . import activations, checks, initializers, layer_kinds, limits, losses, metrics, optimizers, schedules
from .augment import Augmentation
from .callbacks import MaxNorm
from .datasets import INPUT_PREPROCESSING
from .network import Network
from .training import Trainer

#: What ``nnet train`` does with no options: 784-128-10 ReLU/softmax on MNIST, ~98% test accuracy.
DEFAULTS = {
    "hidden": [128],  # neurons per hidden layer
    "activation": "relu",  # σ of the hidden layers
    "output": "softmax",  # σ of the output layer
    "cost": "cross_entropy",
    "init": "auto",  # he for relu, normal for sigmoid, xavier otherwise
    "optimizer": "momentum",
    "learning_rate": 0.1,
    "momentum": 0.9,  # only for momentum and nesterov
    "batch_size": 64,
    "epochs": 10,
    "lr_schedule": "cosine",
    "weight_decay": 0.0,
    "dropout": 0.0,
    "early_stopping": None,  # epochs without improvement before stopping; None: never
    "validation": 5000,  # 5,000 training images, drawn from the seed (stratified); a fraction, or 0 for none
    "seed": 0,
    "dtype": "float32",
    "dataset": "mnist",
    # a table (--dataset FILE.csv --target COLUMN): how to read it; None and [] for images
    "target": None,  # the column to predict
    "task": None,  # classification or regression; None: inferred from the target column
    "text": [],  # columns read as text (categories) even if they hold numbers
    "drop": [],  # columns left out
    # past the lessons: any layers, augmentation, the book's expanded training set, max-norm
    "layers": None,  # the layers below the output layer, as descriptions (nnet.layer_kinds); None: hidden's
    "augment": None,  # an augmentation's settings (nnet.augment.Augmentation), None for none
    "expand_shifts": False,  # train on every image and its copies moved one pixel up, down, left, right
    "max_norm": None,  # cap every neuron's incoming weights (a filter's) at this norm after each step
}

#: The settings that say how a table is read (not in a checkpoint written before tables).
TABLE_SETTINGS = ("target", "task", "text", "drop")
#: The settings a checkpoint written before them lacks (their defaults then apply).
NEWER_SETTINGS = (*TABLE_SETTINGS, "layers", "augment", "expand_shifts", "max_norm")

#: Named sets of settings; settings given explicitly override them.
PRESETS = {
    # The lessons' network: 784-30-10, sigmoid everywhere, quadratic cost, plain SGD η = 3.0.
    "lesson": {
        "hidden": [30],
        "activation": "sigmoid",
        "output": "sigmoid",
        "cost": "quadratic",
        "init": "normal",
        "optimizer": "sgd",
        "learning_rate": 3.0,
        "batch_size": 10,
        "epochs": 30,
        "lr_schedule": "constant",
    },
    # Tables (chosen by itself when a --target is given): scikit-learn's MLP defaults, which suit
    # tables of a few hundred rows to millions: 100 ReLU neurons, Adam at 0.001, batches of 200;
    # at most 200 epochs, stopping after 10 without a lower validation cost (the best kept), on
    # a tenth of the training rows held out. Softmax and cross-entropy for classification;
    # TABLE_REGRESSION's identity output and quadratic cost for regression.
    "table": {
        "hidden": [100],
        "activation": "relu",
        "output": "softmax",
        "cost": "cross_entropy",
        "init": "auto",
        "optimizer": "adam",
        "learning_rate": 0.001,
        "batch_size": 200,
        "epochs": 200,
        "lr_schedule": "constant",
        "early_stopping": 10,
        "validation": 0.1,
    },
}
# The best networks nnet trains on MNIST in 15 minutes on two cores (benchmarks/ladder.py and the
# README have the measurements): the whole `nnet train` command, on all 60,000 training images.
_PAST_THE_LESSONS = {  # what both share: ReLU, softmax and cross-entropy, momentum on a cosine schedule
    "activation": "relu",
    "output": "softmax",
    "cost": "cross_entropy",
    "init": "auto",
    "optimizer": "momentum",
    "learning_rate": 0.05,
    "momentum": 0.9,
    "batch_size": 64,
    "lr_schedule": "cosine",
    "validation": 0,
}
PRESETS["best-mlp"] = {  # Simard et al.'s 800-unit network with elastic distortions, twice as wide, milder
    **_PAST_THE_LESSONS,
    "hidden": [1600],
    "epochs": 40,
    "augment": Augmentation(shift=1.0, alpha=25.0, sigma=4.0).settings(),
}
PRESETS["conv"] = {  # the book's conv net (chapter 6), ReLU, its images shifted, turned, scaled and slanted
    **_PAST_THE_LESSONS,
    "layers": [
        {"kind": "conv2d", "out_channels": 20, "kernel_size": 5},
        {"kind": "max_pool2d", "size": 2},
        {"kind": "conv2d", "out_channels": 40, "kernel_size": 5},
        {"kind": "max_pool2d", "size": 2},
        {"kind": "flatten"},
        {"kind": "dense", "n_out": 100},
    ],
    "epochs": 30,
    "augment": Augmentation(shift=2.0, rotation=10.0, scale=0.1, shear=10.0).settings(),
}

#: What the table preset changes for regression.
TABLE_REGRESSION = {"output": "identity", "cost": "quadratic"}

#: The settings that belong to the optimizer: each suits the optimizer it was given with.
OPTIMIZER_SETTINGS = ("learning_rate", "momentum", "weight_decay")


def check_setting(name: str, value):
    """``value`` if it is a valid ``name`` setting (by the library's own check), else ValueError
    (TypeError for a value of the wrong type) saying what was expected and what came."""
    if name == "hidden":
        if not isinstance(value, list):
            raise ValueError(f"hidden must be a list of layer sizes such as [128] or [256, 128]; got {value!r}")
        for size in value:
            checks.positive_int("a hidden layer size", size)
        return value
    if name in ("activation", "output"):
        return checks.choice(name, value, activations.ACTIVATIONS)
    if name == "cost":
        return checks.choice(name, value, losses.COSTS)
    if name == "init":
        return checks.choice(name, value, ["auto", *initializers.INITIALIZERS])
    if name == "optimizer":
        return checks.choice(name, value, optimizers.OPTIMIZERS)
    if name == "lr_schedule":
        return checks.choice("learning-rate schedule", value, schedules.SCHEDULES)
    if name in OPTIMIZER_SETTINGS:
        return None if value is None else optimizers.check(name, value)
    if name in ("batch_size", "epochs"):
        return checks.positive_int(name, value)
    if name == "early_stopping":
        return None if value is None else checks.positive_int(name, value)
    if name == "dropout":
        return checks.rate("dropout rate", value)
    if name == "seed":
        return checks.integer(name, value, minimum=0)
    if name == "dtype":
        return checks.choice(name, value, ["float32", "float64"])
    if name == "validation":
        if value == 0:
            return 0
        from .data import validation_count

        validation_count(value, None, "validation")
        return value
    if name == "dataset":
        if not isinstance(value, str) or not value:
            raise ValueError(f"dataset must be a name or a path; got {value!r}")
        return value
    if name == "target":
        if value is not None and (not isinstance(value, str) or not value):
            raise ValueError(f"target must be a column name; got {value!r}")
        return value
    if name == "task":
        return None if value is None else checks.choice(name, value, ["classification", "regression"])
    if name in ("text", "drop"):
        if not isinstance(value, list) or not all(isinstance(column, str) and column for column in value):
            raise ValueError(f"{name} must be a list of column names; got {value!r}")
        return value
    if name == "layers":
        return None if value is None else layer_kinds.check(value)
    if name == "augment":
        if value is None:
            return None
        if not isinstance(value, dict):
            raise ValueError(f"augment must be an augmentation's settings such as {{'shift': 2, 'rotation': 10}}; got {value!r}")
        return Augmentation(**value).settings()  # (TypeError for an unknown name)
    if name == "expand_shifts":
        if not isinstance(value, bool):
            raise ValueError(f"expand_shifts must be true or false; got {value!r}")
        return value
    if name == "max_norm":
        return None if value is None else checks.number(name, value, minimum=0.0, open_min=True)
    raise ValueError(f"unknown setting {name!r}; the settings are {', '.join(DEFAULTS)}")


def resolve(given: dict, preset: str | None = None, task: str | None = None) -> dict:
    """The settings of a run: DEFAULTS, then the preset's, then those ``given`` explicitly.
    ``task`` "regression" turns the table preset's output and cost into TABLE_REGRESSION's.

    The learning rate, momentum and weight decay of one layer suit that layer's optimizer: when
    the optimizer comes from a later layer, those not given with it take its own defaults (adam's
    learning rate is 0.001, not the 0.1 of DEFAULTS' momentum), recorded as None until
    :func:`build_trainer` fills in the values in use.
    """
    if preset is not None and preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of: {', '.join(PRESETS)}")
    chosen = PRESETS.get(preset) or {}
    if preset == "table" and task == "regression":
        chosen = {**chosen, **TABLE_REGRESSION}
    given = {name: check_setting(name, value) for name, value in given.items()}
    settings = {**DEFAULTS, **chosen, **given}
    layer = given if "optimizer" in given else chosen if "optimizer" in chosen else DEFAULTS
    for name in OPTIMIZER_SETTINGS:
        if name not in given:
            settings[name] = layer.get(name) if layer is not given else None
    settings["preset"] = preset
    return settings


def build_network(settings: dict, n_inputs: int, n_outputs: int, image_shape=None) -> Network:
    """The network the settings describe, for ``n_inputs`` inputs and ``n_outputs`` outputs:
    ``hidden`` layers of ``activation``, or the ``layers`` listed (those without an activation
    take ``activation``; a list with convolutions or pooling takes the images as one map of
    ``image_shape``), then the output layer. Raises ValueError, before allocating anything, for
    more than ``limits.MAX_PARAMETERS``."""
    if settings.get("layers"):
        entries = [{"activation": settings["activation"], **entry} if entry.get("kind") in ("dense", "conv2d") else entry
                   for entry in settings["layers"]]
        entries.append({"kind": "dense", "n_out": n_outputs, "activation": settings["output"]})
        maps = any(entry.get("kind") in layer_kinds.MAPS for entry in entries)
        if maps and (image_shape is None or len(image_shape) != 2 or image_shape[0] * image_shape[1] != n_inputs):
            raise ValueError(f"convolution and pooling layers take images; these {n_inputs} inputs are not ones")
        shape = (1, *image_shape) if maps else (n_inputs,)
        layers = layer_kinds.build(entries, shape, init=settings["init"], seed=settings["seed"], dtype=settings["dtype"])
        return Network(layers, cost=settings["cost"], task=settings.get("task"))
    sizes = [n_inputs, *settings["hidden"], n_outputs]
    if limits.dense_parameters(sizes) > limits.MAX_PARAMETERS:
        raise ValueError(f"a {'-'.join(map(str, sizes))} network would have {limits.dense_parameters(sizes):,} "
                         f"parameters; nnet builds at most {limits.MAX_PARAMETERS:,} (nnet.limits.MAX_PARAMETERS)")
    return Network(
        sizes,
        activation=settings["activation"],
        output=settings["output"],
        cost=settings["cost"],
        init=settings["init"],
        dropout=settings["dropout"],
        seed=settings["seed"],
        dtype=settings["dtype"],
        task=settings.get("task"),
    )


def build_trainer(network: Network, settings: dict, callbacks=(), comm=None) -> Trainer:
    """The trainer the settings describe (data-parallel over ``comm``'s processes, if given).
    Records in ``settings`` the optimizer's values in use (its own defaults for those that were
    None), so that a model file says what was done."""
    optimizer = optimizers.get(settings["optimizer"], **{name: settings[name] for name in OPTIMIZER_SETTINGS})
    if settings.get("max_norm"):
        callbacks = [*callbacks, MaxNorm(settings["max_norm"])]
    augment = Augmentation(**settings["augment"]) if settings.get("augment") else None
    trainer = Trainer(network, optimizer, epochs=settings["epochs"], batch_size=settings["batch_size"],
                      lr_schedule=settings["lr_schedule"], early_stopping=settings["early_stopping"],
                      callbacks=callbacks, seed=settings["seed"], comm=comm, augment=augment)
    settings["learning_rate"] = optimizer.learning_rate
    settings["momentum"] = getattr(optimizer, "momentum", None)
    settings["weight_decay"] = optimizer.weight_decay
    return trainer


def metadata(settings: dict, network: Network, *, classes, input_shape, dataset: dict, history=None,
             scores: dict | None = None, command=(), preprocessing=None) -> dict:
    """What a model file says about the run that made it, the same from every door::

        classes    the answers' names (a regression network's: ``targets``, its outputs' names)
        input      {"shape": input_shape, "preprocessing": how pixels become inputs}; a table
                   model's {"shape": [n_inputs], "preprocessing": "table", "features": the
                   inputs' names}, and ``preprocessing``: the table's
                   (:meth:`nnet.preprocessing.Preprocessing.describe`)
        dataset    {"name", "path", "kind", "train", "validation", "test"}: where the data came
                   from and how many samples of each part
        training   every setting (DEFAULTS' names), ``preset`` and ``sizes``
        history    History.to_dict(), or {"epochs": []} before training
        scores     {"train", "validation", "test"}: :func:`scores`' (accuracy or R², MAE, RMSE; the
                   cost), or None for no such data
        command    the command that trained it, [] if not known
    """
    model_input = {"shape": list(input_shape), "preprocessing": INPUT_PREPROCESSING}
    table = {}
    if preprocessing is not None:
        model_input = {"shape": [preprocessing.n_inputs], "preprocessing": "table", "features": preprocessing.input_names}
        table = {"preprocessing": preprocessing.describe()}
    return {
        ("targets" if network.task == "regression" else "classes"): list(classes),
        "input": model_input,
        **table,
        "dataset": dict(dataset),
        "training": {**{name: settings[name] for name in DEFAULTS}, "preset": settings.get("preset"),
                     "sizes": list(network.sizes)},
        "history": history.to_dict() if history is not None else {"epochs": []},
        "scores": scores if scores is not None else {"train": None, "validation": None, "test": None},
        "command": list(command or []),
    }


def scores(network: Network, preprocessing=None, **parts) -> dict:
    """``{part: score or None}`` for each ``part=(x, y)`` given (None: no data): a classifier's
    ``{"cost", "accuracy"}``, a regression network's ``{"cost", "r2", "mae", "rmse"}``.

    ``preprocessing`` is a table model's :class:`nnet.preprocessing.Preprocessing` when the
    network learned standardised targets (y as the network sees them): MAE and RMSE are then
    given in the targets' own units (R² is the same in both).
    """
    result = {}
    for part, pair in parts.items():
        if pair is None or len(pair[0]) == 0:
            result[part] = None
            continue
        score = network.evaluate(*pair)
        if network.task == "classification":
            result[part] = {"cost": float(score.cost), "accuracy": float(score.accuracy)}
            continue
        truth, predicted = np.asarray(pair[1], dtype=np.float64).reshape(len(pair[1]), -1), network.forward(pair[0])
        if preprocessing is not None and preprocessing.target is not None:
            truth, predicted = preprocessing.values(truth), preprocessing.values(predicted)
        result[part] = {"cost": float(score.cost), "r2": float(score.r2),
                        "mae": metrics.mean_absolute_error(truth, predicted),
                        "rmse": metrics.root_mean_squared_error(truth, predicted)}
    return result
