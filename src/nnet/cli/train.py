"""``nnet train``: train a network on a dataset and save it as one .safetensors file.

The settings come from three layers, each over the one before: ``nnet.runs.DEFAULTS``, a
``--preset`` (``nnet.runs.PRESETS``), then the options given on the command line. Every
setting lands in the saved model's metadata (``training``, :func:`nnet.runs.metadata`), with
the dataset, the history and the scores.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from nnet import distributed
from nnet.augment import RECIPES, Augmentation
from nnet.layer_kinds import WRITTEN, parse as parse_layers
from nnet.runs import DEFAULTS, PRESETS, check_setting
from nnet.training import DivergenceError

from . import _term
from ._report import Progress, headline, report
from ._checkpoints import CHECKPOINT_FILE, CheckpointWriter, checkpoint_path, interrupted, load_resume
from ._term import CLIError
from .data import DATASET_HELP

HELP = "train a network and save it (with no options: ~98% on MNIST in seconds)"
DESCRIPTION = """\
Train a feed-forward network by minibatch gradient descent and save it as one .safetensors
file. With no options: 784-128-10, ReLU hidden layer, softmax output, cross-entropy cost,
momentum 0.9, learning rate 0.1 on a cosine schedule, batch 64, 10 epochs, seed 0, on the
MNIST digits that ship with nnet (5,000 training images held out for validation: drawn at
random from the seed, stratified by class).

--dataset takes a registered name (`nnet data list`) or a path: a folder of the four
MNIST-named IDX files; a folder with one subfolder of 28x28 images per class (a seeded,
stratified 10% of each class is the test set); an .npz with x_train, y_train, x_test, y_test
(or x, y: a seeded, stratified 10% is the test set); a .csv with a label column and 784 pixel
columns (likewise). A registered name wins over a folder of the same name: write
./mnist to mean a folder called mnist. `nnet data --help` has the details.

A table: --dataset FILE.csv --target COLUMN trains on any columns: numbers standardised, text
one-hot encoded, missing cells filled (the training rows' median, or most frequent category),
rows without a target dropped; the task is classification for a text target or one of at most
20 whole numbers, else regression (--task says otherwise). A seeded, stratified 10% is the test
set (the same rows every time), the validation rows are drawn from --seed, and the
preprocessing is learned from the training rows alone and saved in the model. The defaults are
then the preset "table": 100 ReLU neurons, Adam at 0.001, batches of 200, at most 200 epochs
with early stopping after 10 (on a tenth held out for validation); softmax and cross-entropy,
or for regression an identity output and the quadratic cost (the targets standardised).
--text COL,... reads columns as categories even if they hold numbers; --drop COL,... leaves
columns out (an id, say). A CSV of pixels with a label column and no --target is images.

--preset lesson is the lessons' network; best-mlp (fully connected) and conv (convolutional)
are the best networks nnet trains on MNIST within 15 minutes on two cores (99.33% in 4 minutes
and 99.57% in 7.5 minutes, measured). Options given explicitly override a preset.

--checkpoint-dir DIR saves DIR/checkpoint.safetensors after every epoch; --resume DIR
continues from it with the settings stored there (only --epochs may change, to extend the
run), ending with the same weights as an uninterrupted run.

--layers lists any layers below the output layer, comma-separated, such as
conv20x5,maxpool2,conv40x5,maxpool2,100:
{layers}
--augment distorts every training image afresh at every batch, drawn from the seed (a resumed
run distorts as the uninterrupted one did): settings shift=PIXELS, rotation=DEGREES,
scale=FRACTION, shear=DEGREES, alpha=PIXELS, sigma=PIXELS (Simard's elastic distortion), and
recipes, read left to right (--augment affine,elastic or --augment elastic,alpha=20):
{recipes}
--expand-shifts trains on every image and its copies moved one pixel up, down, left and right
(the book's expanded training set, five times the images).""".format(
    layers="\n".join("  " + line for line in WRITTEN.splitlines()),
    recipes="\n".join(f"  {name:<11} {recipe}" for name, recipe in RECIPES.items()))
EXAMPLES = """\
examples:
  nnet train                                   # the defaults; saves model.safetensors
  nnet train --epochs 20 --overwrite           # ... and again, replacing it
  nnet train --hidden 256,128 --epochs 20 --out big.safetensors
  nnet train --preset lesson                   # 784-30-10 sigmoid, quadratic cost, SGD 3.0
  nnet train --preset lesson --epochs 5        # a preset with one setting changed
  nnet train --preset best-mlp                 # 784-1600-10, distorted digits: 99.33% in 4 minutes
  nnet train --preset conv                     # the book's conv net: 99.57% in 7.5 minutes
  nnet train --layers conv20x5,maxpool2,conv40x5,maxpool2,100 --augment shifts --epochs 5
  nnet train --hidden 800 --augment elastic --epochs 30 --max-norm 3
  nnet train --optimizer adam --learning-rate 0.001 --dropout 0.2 --early-stopping 3
  nnet train --dataset fashion-mnist           # downloads it on first use
  nnet train --dataset ./my_digits.npz --validation 0.1
  nnet train --dataset train.csv               # Kaggle's digit CSV: label, pixel0 ... pixel783
  nnet train --dataset ./letters/              # one subfolder of 28x28 images per class
  nnet train --dataset iris.csv --target species --out iris.safetensors
  nnet train --dataset houses.csv --target price --drop id --text zip   # regression
  nnet train --dataset visits.csv --target returned --task classification --epochs 50
  nnet train --checkpoint-dir runs/a           # a checkpoint after every epoch
  nnet train --resume runs/a                   # ... and continue after a crash or Ctrl-C
  nnet train --json > run.json                 # one JSON object: settings, history, scores"""


# -- options ----------------------------------------------------------------------------------


def _setting(name: str, parse):
    """An argparse type: the text parsed by ``parse``, then checked by the library's own check of
    setting ``name`` (:func:`nnet.runs.check_setting`), so an option and the Python API refuse the
    same values with the same words."""

    def option(text: str):
        try:
            return check_setting(name, parse(text))
        except (TypeError, ValueError) as failure:
            raise argparse.ArgumentTypeError(f"{failure} (from {text!r})") from None

    option.__name__ = name  # argparse names the type in "invalid <name> value"
    return option


def _number(text: str) -> float:
    return float(text)


def _integer(text: str) -> int:
    return int(text)


def _hidden(text: str) -> list[int]:
    """``128,64`` -> [128, 64]; ``none`` (or an empty string) -> no hidden layer."""
    if text.strip().lower() in ("", "none"):
        return []
    return [int(part) for part in text.split(",")]


def _names(text: str) -> list[str]:
    """``zip,id`` -> ["zip", "id"]: column names, comma-separated."""
    return [name.strip() for name in text.split(",") if name.strip()]


def _validation(text: str) -> int | float:
    """A count of training images (``5000``), a fraction (``0.1``), or ``0`` for none."""
    try:
        return int(text)
    except ValueError:
        return float(text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from nnet import activations, initializers, losses, optimizers, schedules

    # Every option defaults to None, so that the ones given explicitly can be told apart.
    net = parser.add_argument_group("the network")
    net.add_argument("--preset", choices=sorted(PRESETS), help="a named set of settings: lesson is the lessons' 784-30-10 sigmoid network; best-mlp and conv the best fully connected and convolutional networks in 15 minutes; table (chosen by itself with --target) suits tables")
    net.add_argument("--hidden", type=_setting("hidden", _hidden), metavar="SIZES", help="hidden layer sizes, comma-separated (default 128; 'none' for no hidden layer)")
    net.add_argument("--activation", choices=list(activations.ACTIVATIONS), help="σ of the hidden layers (default relu)")
    net.add_argument("--output", choices=list(activations.ACTIVATIONS), help="σ of the output layer (default softmax)")
    net.add_argument("--cost", choices=list(losses.COSTS), help="the cost C (default cross_entropy)")
    net.add_argument("--init", choices=["auto", *initializers.INITIALIZERS], help="initial weights (default auto: he for relu, normal for sigmoid, xavier otherwise)")
    net.add_argument("--dropout", type=_setting("dropout", _number), metavar="RATE", help="dropout rate of each hidden layer (default 0)")
    net.add_argument("--dtype", choices=["float32", "float64"], help="floating-point type (default float32)")
    net.add_argument("--layers", type=_setting("layers", parse_layers), metavar="LAYERS", help="the layers below the output layer instead of --hidden, such as conv20x5,maxpool2,conv40x5,maxpool2,100 (see above)")

    learn = parser.add_argument_group("learning")
    learn.add_argument("--optimizer", choices=list(optimizers.OPTIMIZERS), help="default momentum")
    learn.add_argument("--learning-rate", type=_setting("learning_rate", _number), metavar="ETA", help="η (default 0.1; with another --optimizer, its own default: sgd 0.1, adam 0.001)")
    learn.add_argument("--momentum", type=_setting("momentum", _number), metavar="MU", help="μ for momentum and nesterov (default 0.9)")
    learn.add_argument("--lr-schedule", choices=list(schedules.SCHEDULES), help="learning rate per epoch (default cosine)")
    learn.add_argument("--weight-decay", type=_setting("weight_decay", _number), metavar="LAMBDA", help="L2 penalty λ on the weights (default 0; adamw's own 0.01)")
    learn.add_argument("--batch-size", type=_setting("batch_size", _integer), metavar="N", help="samples per minibatch (default 64)")
    learn.add_argument("--epochs", type=_setting("epochs", _integer), metavar="N", help="passes over the training data (default 10)")
    learn.add_argument("--early-stopping", type=_setting("early_stopping", _integer), metavar="N", help="stop after N epochs without a lower validation cost, keeping the best epoch's weights")
    learn.add_argument("--seed", type=_setting("seed", _integer), metavar="N", help="seeds the initial weights, shuffling, dropout and augmentation (default 0)")
    learn.add_argument("--augment", type=_setting("augment", lambda text: Augmentation.parse(text).setting), metavar="SPEC", help="distort the training images afresh every batch: shift=2,rotation=10 ..., or recipes shifts, affine, elastic (see above)")
    learn.add_argument("--expand-shifts", action="store_true", default=None, help="train on every image and its four one-pixel shifts (the book's expanded training set)")
    learn.add_argument("--max-norm", type=_setting("max_norm", _number), metavar="C", help="cap each neuron's incoming weights (a filter's) at norm C after every step")

    data = parser.add_argument_group("data and files")
    data.add_argument("--dataset", metavar="NAME_OR_PATH", help=f"{DATASET_HELP}. Default: mnist")
    data.add_argument("--target", type=_setting("target", str), metavar="COLUMN", help="--dataset is a table (a .csv): predict this column")
    data.add_argument("--task", choices=["classification", "regression"], help="with --target: what to predict (default: inferred from the column)")
    data.add_argument("--text", type=_setting("text", _names), metavar="COLUMNS", help="with --target: columns to read as categories even if they hold numbers, comma-separated")
    data.add_argument("--drop", type=_setting("drop", _names), metavar="COLUMNS", help="with --target: columns to leave out, comma-separated")
    data.add_argument("--validation", type=_setting("validation", _validation), metavar="N_OR_FRACTION", help="hold out N training rows, or this fraction, for validation (drawn from --seed, stratified by class); 0 for none (default 5000)")
    data.add_argument("--out", metavar="FILE", default="model.safetensors", help="where to save the model (default model.safetensors; never over an existing file without --overwrite)")
    data.add_argument("--overwrite", action="store_true", help="replace the --out file if it exists (a trained model is your work: kept by default)")
    data.add_argument("--checkpoint-dir", metavar="DIR", help=f"save DIR/{CHECKPOINT_FILE} after every epoch")
    data.add_argument("--resume", metavar="DIR", help="continue the run checkpointed in DIR, with its settings")

    show = parser.add_argument_group("output")
    show.add_argument("--quiet", action="store_true", help="print nothing but errors")
    show.add_argument("--json", action="store_true", help="print one JSON object (settings, history, scores, model path) to stdout")


def given_settings(args) -> dict:
    """The settings given explicitly on the command line."""
    return {name: getattr(args, name) for name in DEFAULTS if getattr(args, name, None) is not None}


# -- the command ------------------------------------------------------------------------------


def run(args) -> int:
    """Train; under ``mpiexec -n N`` (N > 1), data-parallel (nnet.distributed): every process
    runs this command, rank 0 alone prints, validates and writes files, and the others stay
    silent (a failure met by one of them alone is reported by nnet.distributed, on stderr)."""
    group = distributed.Group(distributed.world())
    if group.rank:
        sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - for the rest of this process
    return _run(args, group)


def _run(args, group) -> int:
    from nnet import runs, save

    started = time.perf_counter()
    quiet = args.quiet or group.rank != 0
    checkpoint = None
    given = given_settings(args)
    with group.agreement():  # every process sets up alike; one's failure stops them all
        if args.resume:
            network, checkpoint, settings, resumed = load_resume(args.resume, given, args.preset, DEFAULTS)
        else:
            settings = runs.resolve(given, _preset(args, given))
        out = _writable_file(args.out, "--out", overwrite=args.overwrite) if group.rank == 0 else Path(args.out)
        resumed_folder = resumed.parent if args.resume else None
        checkpoint_dir = args.checkpoint_dir or (str(resumed_folder) if args.resume else None)
        checkpoint_file = checkpoint_path(checkpoint_dir, resumed_folder=resumed_folder) if group.rank == 0 else None
        # rank 0 first, so that a dataset to download is downloaded once; then the others
        reading = time.perf_counter()
        data = _load(settings, quiet, group) if group.rank == 0 else None
    with group.agreement():
        if data is None:
            data = _load(settings, quiet, group)
        if data.kind == "table":
            if not args.resume:  # the task is known now: the table preset's output and cost follow it
                settings = runs.resolve(given, _preset(args, given), data.task)
            settings["task"] = data.task
            (x_train, y_train), validation = data.train, data.validation
        else:
            (x_train, y_train), validation = _split(data, settings, "validation" in given)
            if settings["expand_shifts"]:
                from nnet.augment import expand_by_shifts

                x_train, y_train = expand_by_shifts(x_train, y_train, image_shape=data.image_shape)
        if data.kind == "table" and (settings["augment"] or settings["expand_shifts"]):
            raise CLIError("--augment and --expand-shifts move the pixels of images; a table's rows have none")
        data_seconds = time.perf_counter() - reading
        try:
            if checkpoint is None:
                network = runs.build_network(settings, x_train.shape[1], len(data.classes), data.image_shape)
            elif network.n_inputs != x_train.shape[1] or network.n_outputs != len(data.classes):
                raise CLIError(f"the checkpoint's network ({network.sizes}) does not fit the dataset {data.name}")
            progress = None if quiet else Progress()
            writer = None if checkpoint_file is None else CheckpointWriter(checkpoint_file, {})
            trainer = runs.build_trainer(network, settings, [callback for callback in (progress, writer) if callback],
                                         comm=group.comm)
        except (ValueError, TypeError) as failure:
            raise CLIError(str(failure)) from None
    settings["dataset"] = data.spec
    settings["sizes"] = list(network.sizes)
    described = {"name": data.name, "path": data.path, "kind": data.kind, "train": len(x_train),
                 "validation": 0 if validation is None else len(validation[0]), "test": len(data.test[0]),
                 **({"target": data.target, "task": data.task} if data.kind == "table" else {})}

    def metadata(history=None, scores=None) -> dict:
        return runs.metadata(settings, network, classes=data.classes, input_shape=data.image_shape,
                             dataset=described, history=history, scores=scores, command=args.argv,
                             preprocessing=getattr(data, "preprocessing", None))

    if writer is not None:
        writer.metadata = metadata()
    if not quiet:
        if data.kind == "table":
            _term.note(data.summary)
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
        if group.rank:  # rank 0 scores and saves
            return 0
        scores = runs.scores(network, getattr(data, "preprocessing", None), train=(x_train, y_train),
                             validation=validation, test=data.test)
        save(network, out, metadata=metadata(history, scores))  # atomic: a Ctrl-C leaves no half-written file
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
            "dataset": described,
            ("targets" if network.task == "regression" else "classes"): list(data.classes),
            "history": history.to_dict(),
            "scores": scores,
            "model": str(out),
            "checkpoint": None if checkpoint_file is None else str(checkpoint_file),
            "seconds": seconds,
            "data_seconds": data_seconds,  # reading the data, splitting it, and a table's preprocessing
            "training_seconds": history.seconds,
        })
    elif not quiet:
        print(report(history, scores, out, seconds))
    return 0


def _preset(args, given: dict) -> str | None:
    """--preset, or "table" for a table (--target given) without one. Refuses the table options
    without --target, and the table preset without a table."""
    table = given.get("target") is not None
    for option in ("task", "text", "drop"):
        if option in given and not table:
            raise CLIError(f"--{option} is for tables: give --dataset FILE.csv --target COLUMN too")
    if args.preset == "table" and not table:
        raise CLIError("--preset table is for tables: give --dataset FILE.csv --target COLUMN too")
    return args.preset or ("table" if table else None)


def _writable_file(name: str, option: str, *, overwrite: bool = False) -> Path:
    """``name`` as a Path, once its folder is known to take a new file (checked by making and
    removing one there, so that a run never trains for minutes and then fails to save), and, but
    with ``overwrite``, once it is known that no file is there: a trained model is someone's work."""
    path = Path(name)
    if path.is_dir():
        raise CLIError(f"{option} {name}: is a folder; give a file name such as model.safetensors")
    if (path.exists() or path.is_symlink()) and not overwrite:
        raise CLIError(f"{option} {name} exists and may be a trained model: give another {option}, "
                       f"or add --overwrite to replace it")
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


def _load(settings: dict, quiet: bool, group):
    """The run's data: a table (--target: read, split and preprocessed), or images."""
    if settings["target"] is not None:
        from ._tables import training_data

        return training_data(settings)
    return _data(settings["dataset"], quiet, mapped=group.parallel)


def _data(spec: str, quiet: bool, mapped: bool = False):
    from nnet.datasets import DataFormatError

    from .data import resolve

    try:
        return resolve(spec, quiet=quiet, mapped=mapped)
    except DataFormatError as failure:  # a .csv that is not a file of pixels may be a table
        if not spec.lower().endswith(".csv"):
            raise
        raise CLIError(f"{failure}; for a table, name the column to predict with --target COLUMN") from None


def _split(data, settings: dict, explicit: bool):
    """((x_train, y_train), (x_val, y_val) or None) from the dataset's training part: the
    validation rows drawn from the run's seed, stratified by class (nnet.datasets.loaders.split_own)."""
    from nnet.datasets.loaders import split_own

    x, y = data.train
    validation = settings["validation"]
    if not validation:
        return (x, y), None
    try:  # the arrays were read for this run alone: the training rows are moved in place, not copied
        return split_own(x, y, validation, seed=settings["seed"], name="--validation")
    except ValueError as failure:
        hint = "" if explicit else f" (--validation {validation} is the default)"
        raise CLIError(f"{failure}{hint}; pass --validation 0.1, or 0 for none") from None
