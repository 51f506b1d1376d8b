"""What a network trained in the lab says about itself: the metadata ``nnet train`` writes.

A model saved from the lab must read like one saved by ``nnet train``, to ``nnet info``,
``nnet evaluate``, ``nnet show`` and a person, so this module writes the same keys in the same
structure (the CLI's ``nnet.cli.train``; the lab and the CLI are siblings, so neither imports
the other, and a test holds the two to the same keys)::

    classes    the answers' names
    input      {"shape": [28, 28], "preprocessing": nnet.datasets.INPUT_PREPROCESSING}
    dataset    {"name", "path", "kind", "train", "validation", "test"}: where the data came from
               and how many images of each part
    training   every setting, under the names of ``nnet train``'s options (hidden, activation,
               output, cost, init, optimizer, learning_rate, momentum, batch_size, epochs,
               lr_schedule, weight_decay, dropout, early_stopping, validation, seed, dtype,
               dataset), ``preset`` (None) and ``sizes``
    history    History.to_dict()
    scores     {"train", "validation", "test"}: {"accuracy", "cost"}, or None for no such data
    command    the command that started the lab (["nnet", "lab", ...]); [] if not known

The lab holds no training images out: it watches the test digits after each epoch (the Train
view's dots), so ``validation`` is 0, ``scores.validation`` is None, and the history's
``validation_*`` columns are the test digits' numbers.
"""

from __future__ import annotations

from nnet.datasets import IMAGE_SIDE, INPUT_PREPROCESSING
from nnet.network import Network

from .training import FIXED_SETTINGS, TrainingRun

#: The settings ``nnet train`` has that the Train view does not offer, at the values the lab uses.
NOT_OFFERED = {"dropout": 0.0, "early_stopping": None, "validation": 0, "weight_decay": 0.0, "momentum": None}


def dataset_spec(dataset: dict) -> str:
    """What ``--dataset`` would take to find this data again: its path, else its name."""
    return dataset.get("path") or dataset["name"]


def describe_run(network: Network, run: TrainingRun, classes: list[str], dataset: dict, command) -> dict:
    """The metadata of the network ``run`` trained, as ``nnet train`` would write it.

    Parameters
    ----------
    dataset : dict
        ``{"name", "path", "kind"}`` of the data the run trained on.
    command : list of str or None
    """
    settings = run.settings
    x, y = run.train
    n_train = int(settings["train_size"])
    training = {
        "hidden": list(settings["hidden"]),
        "activation": settings["activation"],
        "output": FIXED_SETTINGS["output"],
        "cost": FIXED_SETTINGS["cost"],
        "init": FIXED_SETTINGS["init"],
        "optimizer": settings["optimizer"],
        "learning_rate": settings["learning_rate"],
        "momentum": NOT_OFFERED["momentum"],
        "batch_size": settings["batch_size"],
        "epochs": settings["epochs"],
        "lr_schedule": settings["lr_schedule"],
        "weight_decay": NOT_OFFERED["weight_decay"],
        "dropout": NOT_OFFERED["dropout"],
        "early_stopping": NOT_OFFERED["early_stopping"],
        "validation": NOT_OFFERED["validation"],
        "seed": settings["seed"],
        "dtype": FIXED_SETTINGS["dtype"],
        "dataset": dataset_spec(dataset),
        "preset": None,
        "sizes": list(network.sizes),
    }
    if run.trainer is not None:  # the values in use, the optimizer's own defaults included
        optimizer = run.trainer.optimizer
        training["learning_rate"] = run.trainer.base_learning_rate
        training["momentum"] = getattr(optimizer, "momentum", None)
        training["weight_decay"] = optimizer.weight_decay
    return {
        "classes": list(classes),
        "input": {"shape": [IMAGE_SIDE, IMAGE_SIDE], "preprocessing": INPUT_PREPROCESSING},
        "dataset": {
            "name": dataset["name"],
            "path": dataset.get("path"),
            "kind": dataset.get("kind"),
            "train": n_train,
            "validation": 0,
            "test": int(len(run.test[0])),
        },
        "training": training,
        "history": run.history.to_dict() if run.history is not None else {"epochs": []},
        "scores": {
            "train": _score(network, x[:n_train], y[:n_train]),
            "validation": None,
            "test": _score(network, *run.test),
        },
        "command": list(command or []),
    }


def _score(network: Network, x, y) -> dict | None:
    if len(x) == 0:
        return None
    result = network.evaluate(x, y)
    return {"accuracy": float(result.accuracy), "cost": float(result.cost)}
