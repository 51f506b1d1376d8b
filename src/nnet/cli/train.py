"""``nnet train``: train a network on a dataset and save it as one .safetensors file.

The settings come from three layers, each over the one before: ``DEFAULTS`` (below), a
``--preset``, then the options given on the command line. Every setting lands in the saved
model's metadata (``training``), with the dataset, the history and the scores.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from nnet.datasets import INPUT_PREPROCESSING
from nnet.training import DivergenceError

from . import _term
from ._report import Progress, headline, report
from ._checkpoints import CHECKPOINT_FILE, CheckpointWriter, checkpoint_path, interrupted, load_resume
from ._term import CLIError
from .data import DATASET_HELP

#: What `nnet train` does with no options: 784-128-10 ReLU/softmax on MNIST, ~98% test accuracy.
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
    "validation": 5000,  # the last 5,000 training images; a fraction, or 0 for none
    "seed": 0,
    "dtype": "float32",
    "dataset": "mnist",
}

#: Named sets of settings; options given explicitly override them.
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
}

#: The settings that belong to the optimizer (see resolve_settings).
OPTIMIZER_SETTINGS = ("learning_rate", "momentum", "weight_decay")

HELP = "train a network and save it (with no options: ~98% on MNIST in seconds)"
DESCRIPTION = """\
Train a feed-forward network by minibatch gradient descent and save it as one .safetensors
file. With no options: 784-128-10, ReLU hidden layer, softmax output, cross-entropy cost,
momentum 0.9, learning rate 0.1 on a cosine schedule, batch 64, 10 epochs, seed 0, on the
MNIST digits that ship with nnet (the last 5,000 training images held out for validation).

--dataset takes a registered name (`nnet data list`) or a path: a folder of the four
MNIST-named IDX files; a folder with one subfolder of 28x28 images per class (a seeded,
stratified 10% of each class is the test set); an .npz with x_train, y_train, x_test, y_test
(or x, y: the last 10% is the test set); a .csv with a label column and 784 pixel columns (the
last 10% is the test set). A registered name wins over a folder of the same name: write
./mnist to mean a folder called mnist. `nnet data --help` has the details.

--preset lesson is the lessons' network; options given explicitly override a preset.

--checkpoint-dir DIR saves DIR/checkpoint.safetensors after every epoch; --resume DIR
continues from it with the settings stored there (only --epochs may change, to extend the
run), ending with the same weights as an uninterrupted run."""
EXAMPLES = """\
examples:
  nnet train                                   # the defaults; saves model.safetensors
  nnet train --hidden 256,128 --epochs 20 --out big.safetensors
  nnet train --preset lesson                   # 784-30-10 sigmoid, quadratic cost, SGD 3.0
  nnet train --preset lesson --epochs 5        # a preset with one setting changed
  nnet train --optimizer adam --learning-rate 0.001 --dropout 0.2 --early-stopping 3
  nnet train --dataset fashion-mnist           # downloads it on first use
  nnet train --dataset ./my_digits.npz --validation 0.1
  nnet train --dataset train.csv               # Kaggle's digit CSV: label, pixel0 ... pixel783
  nnet train --dataset ./letters/              # one subfolder of 28x28 images per class
  nnet train --checkpoint-dir runs/a           # a checkpoint after every epoch
  nnet train --resume runs/a                   # ... and continue after a crash or Ctrl-C
  nnet train --json > run.json                 # one JSON object: settings, history, scores"""


# -- options ----------------------------------------------------------------------------------


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text!r}")
    return value


def _natural(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0; got {text!r}")
    return value


def _number(low: float, high: float | None = None, *, open_low=False, open_high=False):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number; got {text!r}") from None
        ok = value == value and (value > low if open_low else value >= low)
        if high is not None:
            ok = ok and (value < high if open_high else value <= high)
        if not ok or value in (float("inf"), float("-inf")):
            bounds = f"{'(' if open_low else '['}{low:g}, {'inf' if high is None else format(high, 'g')}{')' if open_high or high is None else ']'}"
            raise argparse.ArgumentTypeError(f"expected a number in {bounds}; got {text!r}")
        return value

    return parse


def _hidden(text: str) -> list[int]:
    """``128,64`` -> [128, 64]; ``none`` (or an empty string) -> no hidden layer."""
    if text.strip().lower() in ("", "none"):
        return []
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sizes such as 128 or 256,128; got {text!r}") from None
    if any(size < 1 for size in sizes):
        raise argparse.ArgumentTypeError(f"hidden layer sizes must be positive; got {text!r}")
    return sizes


def _validation(text: str) -> int | float:
    """A count of training images (``5000``), a fraction (``0.1``), or ``0`` for none."""
    try:
        value = int(text)
    except ValueError:
        try:
            value = float(text)
        except ValueError:
            value = -1
        if not 0.0 < value < 1.0:
            raise argparse.ArgumentTypeError(
                f"expected a count of images (5000), a fraction in (0, 1) (0.1) or 0; got {text!r}"
            ) from None
        return value
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a count >= 0; got {text!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from nnet import activations, initializers, losses, optimizers

    # Every option defaults to None, so that the ones given explicitly can be told apart.
    net = parser.add_argument_group("the network")
    net.add_argument("--preset", choices=sorted(PRESETS), help="a named set of settings: lesson is the lessons' 784-30-10 sigmoid network")
    net.add_argument("--hidden", type=_hidden, metavar="SIZES", help="hidden layer sizes, comma-separated (default 128; 'none' for no hidden layer)")
    net.add_argument("--activation", choices=list(activations.ACTIVATIONS), help="σ of the hidden layers (default relu)")
    net.add_argument("--output", choices=list(activations.ACTIVATIONS), help="σ of the output layer (default softmax)")
    net.add_argument("--cost", choices=list(losses.COSTS), help="the cost C (default cross_entropy)")
    net.add_argument("--init", choices=["auto", *initializers.INITIALIZERS], help="initial weights (default auto: he for relu, normal for sigmoid, xavier otherwise)")
    net.add_argument("--dropout", type=_number(0.0, 1.0, open_high=True), metavar="RATE", help="dropout rate after each hidden layer (default 0)")
    net.add_argument("--dtype", choices=["float32", "float64"], help="floating-point type (default float32)")

    learn = parser.add_argument_group("learning")
    learn.add_argument("--optimizer", choices=list(optimizers.OPTIMIZERS), help="default momentum")
    learn.add_argument("--learning-rate", type=_number(0.0, open_low=True), metavar="ETA", help="η (default 0.1; with another --optimizer, its own default: sgd 0.1, adam 0.001)")
    learn.add_argument("--momentum", type=_number(0.0, 1.0, open_high=True), metavar="MU", help="μ for momentum and nesterov (default 0.9)")
    learn.add_argument("--lr-schedule", choices=list(optimizers.SCHEDULES), help="learning rate per epoch (default cosine)")
    learn.add_argument("--weight-decay", type=_number(0.0), metavar="LAMBDA", help="L2 penalty λ on the weights (default 0; adamw's own 0.01)")
    learn.add_argument("--batch-size", type=_positive_int, metavar="N", help="samples per minibatch (default 64)")
    learn.add_argument("--epochs", type=_positive_int, metavar="N", help="passes over the training data (default 10)")
    learn.add_argument("--early-stopping", type=_positive_int, metavar="N", help="stop after N epochs without a lower validation cost, keeping the best epoch's weights")
    learn.add_argument("--seed", type=_natural, metavar="N", help="seeds the initial weights, shuffling and dropout (default 0)")

    data = parser.add_argument_group("data and files")
    data.add_argument("--dataset", metavar="NAME_OR_PATH", help=f"{DATASET_HELP}. Default: mnist")
    data.add_argument("--validation", type=_validation, metavar="N_OR_FRACTION", help="hold out the last N training images, or this fraction, for validation; 0 for none (default 5000)")
    data.add_argument("--out", metavar="FILE", default="model.safetensors", help="where to save the model (default model.safetensors)")
    data.add_argument("--checkpoint-dir", metavar="DIR", help=f"save DIR/{CHECKPOINT_FILE} after every epoch")
    data.add_argument("--resume", metavar="DIR", help="continue the run checkpointed in DIR, with its settings")

    show = parser.add_argument_group("output")
    show.add_argument("--quiet", action="store_true", help="print nothing but errors")
    show.add_argument("--json", action="store_true", help="print one JSON object (settings, history, scores, model path) to stdout")


def given_settings(args) -> dict:
    """The settings given explicitly on the command line."""
    return {name: getattr(args, name) for name in DEFAULTS if getattr(args, name, None) is not None}


def resolve_settings(args) -> dict:
    """DEFAULTS, then the preset, then the explicit options."""
    preset = PRESETS.get(args.preset) or {}
    explicit = given_settings(args)
    settings = {**DEFAULTS, **preset, **explicit}
    # The learning rate, momentum and weight decay of a layer suit that layer's optimizer: when the
    # optimizer comes from a later layer, those not given with it take its own defaults (adam's
    # learning rate is 0.001, not the 0.1 of DEFAULTS' momentum).
    layer = explicit if "optimizer" in explicit else preset if "optimizer" in preset else DEFAULTS
    for name in OPTIMIZER_SETTINGS:
        if name not in explicit and name not in layer:
            settings[name] = None
        elif name not in explicit and layer is not explicit:
            settings[name] = layer[name]
    settings["preset"] = args.preset
    return settings


# -- the command ------------------------------------------------------------------------------


def run(args) -> int:
    from nnet import Trainer

    started = time.perf_counter()
    quiet = args.quiet
    checkpoint = None
    if args.resume:
        network, checkpoint, settings, resumed = load_resume(args.resume, given_settings(args), args.preset, DEFAULTS)
    else:
        settings = resolve_settings(args)
    out = _writable_file(args.out, "--out")
    resumed_folder = resumed.parent if args.resume else None
    checkpoint_dir = args.checkpoint_dir or (str(resumed_folder) if args.resume else None)
    checkpoint_file = checkpoint_path(checkpoint_dir, resumed_folder=resumed_folder)

    data = _data(settings["dataset"], quiet)
    (x_train, y_train), validation = _split(data, settings["validation"], "validation" in given_settings(args))
    if checkpoint is None:
        network = _network(settings, data)
    elif network.n_inputs != x_train.shape[1] or network.n_outputs != len(data.classes):
        raise CLIError(f"the checkpoint's network ({network.sizes}) does not fit the dataset {data.name}")
    settings["sizes"] = list(network.sizes)
    settings["dataset"] = data.spec
    metadata = _metadata(settings, data, len(x_train), validation, args.argv)

    callbacks = []
    progress = None
    if not quiet:
        progress = Progress()
        callbacks.append(progress)
    writer = None
    if checkpoint_file is not None:
        writer = CheckpointWriter(checkpoint_file, metadata)
        callbacks.append(writer)
    try:
        trainer = Trainer(
            network,
            epochs=settings["epochs"],
            batch_size=settings["batch_size"],
            optimizer=settings["optimizer"],
            learning_rate=settings["learning_rate"],
            momentum=settings["momentum"],
            weight_decay=settings["weight_decay"],
            lr_schedule=settings["lr_schedule"],
            early_stopping=settings["early_stopping"],
            callbacks=callbacks,
            seed=settings["seed"],
        )
    except (ValueError, TypeError) as failure:
        raise CLIError(str(failure)) from None
    optimizer = trainer.optimizer  # record the values in use, the optimizer's defaults included
    settings["learning_rate"] = trainer.base_learning_rate
    settings["momentum"] = getattr(optimizer, "momentum", None)
    settings["weight_decay"] = optimizer.weight_decay
    if not quiet:
        _term.note(headline(settings, data, len(x_train), validation))
        for note in data.notes:
            _term.note(f"{data.name}: {note}")
    if checkpoint is not None:
        trainer.restore(checkpoint)
        if trainer.history.stopped_early:  # finished by early stopping: nothing more to run
            trainer.epochs = trainer.next_epoch
        if writer is not None:
            writer.saved_epoch = trainer.next_epoch
    try:
        history = trainer.run(x_train, y_train, validation)
        if progress is not None:
            progress.close()
        scores = _scores(network, (x_train, y_train), validation, data.test)
        metadata.update(history=history.to_dict(), scores=scores)
        from nnet import save

        save(network, out, metadata=metadata)  # atomic: a Ctrl-C leaves no half-written file
    except KeyboardInterrupt:
        if progress is not None:
            progress.close()
        return interrupted(trainer, writer)
    except DivergenceError as failure:
        raise CLIError(divergence_message(failure, settings["learning_rate"])) from None
    finally:
        if progress is not None:
            progress.close()
    seconds = time.perf_counter() - started
    if args.json:
        _term.print_json({
            "settings": settings,
            "dataset": metadata["dataset"],
            "classes": metadata["classes"],
            "history": history.to_dict(),
            "scores": scores,
            "model": str(out),
            "checkpoint": None if checkpoint_file is None else str(checkpoint_file),
            "seconds": seconds,
            "training_seconds": history.seconds,
        })
    elif not quiet:
        print(report(history, scores, out, seconds))
    return 0


def _writable_file(name: str, option: str) -> Path:
    """``name`` as a Path, once its folder is known to take a new file (checked by making and
    removing one there, so that a run never trains for minutes and then fails to save)."""
    path = Path(name)
    if path.is_dir():
        raise CLIError(f"{option} {name}: is a folder; give a file name such as model.safetensors")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise CLIError(f"{option} {name}: folder {folder} does not exist")
    try:
        descriptor, probe = tempfile.mkstemp(dir=folder, prefix=".nnet-write-test-")
    except OSError as failure:
        raise CLIError(f"{option} {name}: cannot write in folder {folder}: {failure.strerror or failure}") from None
    os.close(descriptor)
    os.unlink(probe)
    return path


def divergence_message(failure: DivergenceError, base_learning_rate: float) -> str:
    """The library's account of a divergence (which suggests a tenth of the base learning rate),
    with the command that tries it."""
    return f"{failure} Retry with: nnet train --learning-rate {base_learning_rate / 10:g}. No model was saved."


def _data(spec: str, quiet: bool):
    from .data import resolve

    return resolve(spec, quiet=quiet)


def _split(data, validation, explicit: bool):
    """((x_train, y_train), (x_val, y_val) or None) from the dataset's training part."""
    from nnet.datasets import split_validation

    x, y = data.train
    if not validation:
        return (x, y), None
    try:
        train, held_out = split_validation(x, y, validation)
    except ValueError as failure:
        hint = "" if explicit else f" (--validation {validation} is the default)"
        raise CLIError(f"{failure}{hint}; pass --validation 0.1, or 0 for none") from None
    return train, held_out


def _network(settings: dict, data):
    from nnet import Network

    sizes = [data.train[0].shape[1], *settings["hidden"], len(data.classes)]
    try:
        return Network(
            sizes,
            activation=settings["activation"],
            output=settings["output"],
            cost=settings["cost"],
            init=settings["init"],
            dropout=settings["dropout"],
            seed=settings["seed"],
            dtype=settings["dtype"],
        )
    except (ValueError, TypeError) as failure:
        raise CLIError(str(failure)) from None


def _metadata(settings, data, n_train, validation, argv) -> dict:
    return {
        "classes": list(data.classes),
        "input": {"shape": list(data.image_shape), "preprocessing": INPUT_PREPROCESSING},
        "dataset": {
            "name": data.name,
            "path": data.path,
            "kind": data.kind,
            "train": n_train,
            "validation": 0 if validation is None else len(validation[0]),
            "test": len(data.test[0]),
        },
        "training": settings,
        "command": list(argv),
    }


def _scores(network, train, validation, test) -> dict:
    scores = {}
    for part, pair in (("train", train), ("validation", validation), ("test", test)):
        if pair is None:
            scores[part] = None
        else:
            result = network.evaluate(*pair)
            scores[part] = {"accuracy": result.accuracy, "cost": result.cost}
    return scores
