"""Tables for the commands: ``nnet train --dataset FILE.csv --target COLUMN`` and the model's rows
for ``nnet evaluate``, ``nnet predict`` and ``nnet lab``.

Training on a table, in order (:func:`training_data`):

1. read the CSV (``nnet.tables.read_csv``; ``--text`` columns as text, ``--drop`` columns left
   out), and split off the target column (``nnet.preprocessing.split_target``): rows whose
   target is missing are dropped; the task is ``--task``, or inferred (text, or at most 20
   distinct whole numbers: classification; other numbers: regression);
2. hold out the test rows: a seeded, stratified 10% (``nnet.datasets.local.split_test``, the
   fixed ``SPLIT_SEED``: ``nnet evaluate MODEL`` finds the same rows again from the model's
   record), then the validation rows from the run's ``--seed`` (``nnet.data.split_validation``);
3. learn the preprocessing from the training rows only (medians, means and scales, categories,
   the regression target's mean and scale), and turn every part into the network's inputs.

Categories that the training rows never held (in the validation or test rows, or in a file
given to ``evaluate`` or ``predict``) are encoded as all zeros, never refused, and counted: each
command says how many cells held one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._term import CLIError

#: What ``nnet info`` and the opening line call the rule for an unseen category.
UNSEEN_RULE = "encoded as all zeros"


@dataclass
class TableData:
    """A table ready for training: inputs float32 (n, n_inputs), and int64 labels (n,) or
    standardised float64 values (n, 1); ``classes`` the class names, or for regression the
    target's name."""

    name: str
    path: str
    target: str
    task: str
    classes: list[str]
    preprocessing: object
    train: tuple[np.ndarray, np.ndarray]
    validation: tuple[np.ndarray, np.ndarray] | None
    test: tuple[np.ndarray, np.ndarray]
    summary: str
    notes: list[str] = field(default_factory=list)
    kind: str = "table"

    @property
    def spec(self) -> str:
        return self.path

    @property
    def image_shape(self) -> tuple[int]:
        return (self.preprocessing.n_inputs,)


def read_table(spec: str, *, text=(), drop=(), option: str = "--dataset"):
    """The CSV file ``spec`` as a Table, ``text`` columns read as text, ``drop`` columns left out."""
    from nnet.tables import read_csv

    path = Path(spec).expanduser()
    where = f"{option} {spec}" if option else spec
    if not path.exists():
        raise CLIError(f"{where}: no such file")
    if path.is_dir() or path.suffix.lower() != ".csv":
        raise CLIError(f"{where}: a table must be a .csv file with a header line")
    table = read_csv(path, text=text)
    for name in drop:
        table = table.without(name)  # a name that is not there: one line listing the columns
    if not table.columns:
        raise CLIError(f"{spec}: no columns are left after --drop")
    return table


def task_and_reason(column, given: str | None) -> tuple[str, str]:
    """The task for a target column, and why, in words."""
    from nnet.preprocessing import MAX_INFERRED_CLASSES

    if given is not None:
        return given, "as --task says"
    present = column.values[~column.missing]
    if column.kind == "text":
        return "classification", f"{column.name} holds text"
    distinct = np.unique(present)
    if np.all(distinct == np.round(distinct)) and len(distinct) <= MAX_INFERRED_CLASSES:
        return "classification", (f"{column.name} holds {len(distinct)} different whole numbers (at most "
                                  f"{MAX_INFERRED_CLASSES} are taken for classes; --task regression for values)")
    return "regression", f"{column.name} holds numbers ({len(distinct):,} different values)"


def training_data(settings: dict) -> TableData:
    """Read, split and preprocess the table of ``settings`` (dataset, target, task, text, drop,
    seed, validation) for ``nnet train``."""
    from nnet.data import split_validation
    from nnet.datasets import DataFormatError
    from nnet.datasets.local import split_test
    from nnet.preprocessing import Preprocessing, split_target

    spec, target = settings["dataset"], settings["target"]
    table = read_table(spec, text=settings["text"], drop=settings["drop"])
    task, why = task_and_reason(table.column(target), settings["task"])
    features, y, classes, task, dropped = split_target(table, target, task)
    n = len(y)
    if task == "classification" and len(classes) < 2:
        raise CLIError(f"{spec}: the target {target!r} holds one class only ({classes[0]!r}); "
                       f"a classifier needs two or more (--task regression to predict values)")
    (rest, _), (test_rows, _) = split_test(np.arange(n), y, task=task, source=spec)
    validation_rows = None
    if settings["validation"]:
        try:
            (rest, _), (validation_rows, _) = split_validation(rest, y[rest], settings["validation"],
                                                               seed=settings["seed"], task=task, name="--validation")
        except ValueError as failure:
            raise CLIError(f"{failure} (of the {len(rest):,} rows left for training); pass --validation 0.1, "
                           f"or 0 for none") from None
    targets = y if task == "classification" else y.reshape(-1, 1)
    try:
        preprocessing = Preprocessing.learn(features, None if task == "classification" else targets[rest], [target],
                                            rows=rest)
    except DataFormatError as failure:  # a text column of too many categories
        raise CLIError(f"{failure} (--drop COLUMN leaves a column out)") from None
    # the parts as slices of one array, written in their order: training, validation, test rows
    order = np.concatenate([rest, [] if validation_rows is None else validation_rows, test_rows]).astype(np.int64)
    x = preprocessing.inputs(features, rows=order)  # the training rows hold every category learned: unseen ones are held out
    unseen = preprocessing.unseen
    missing = sum(int(np.count_nonzero(column.missing)) for column in features.columns)
    del features, table
    answers = (y if task == "classification" else preprocessing.targets(targets))[order]
    ends = np.cumsum([len(rest), 0 if validation_rows is None else len(validation_rows)])
    part = lambda start, end: (x[start:end], answers[start:end])  # noqa: E731 - one line says it best
    data = TableData(
        name=spec, path=str(Path(spec).expanduser().resolve()), target=target, task=task,
        classes=classes if task == "classification" else [target], preprocessing=preprocessing,
        train=part(0, ends[0]), validation=None if validation_rows is None else part(ends[0], ends[1]),
        test=part(ends[1], None), summary=_summary(spec, n, dropped, target, task, why, preprocessing, x.shape[1], missing,
                                               len(classes or ())),
    )
    if unseen:
        data.notes.append(f"{unseen:,} text cells of the validation and test rows hold categories the training "
                          f"rows never did: {UNSEEN_RULE}")
    return data


def _summary(spec, n, dropped, target, task, why, preprocessing, n_inputs, missing, n_classes) -> str:
    """The opening line: what was read, inferred and done."""
    kinds = [column["kind"] for column in preprocessing.columns]
    encoded = [f"{column['name']} ({len(column['categories'])})" for column in preprocessing.columns
               if column["kind"] == "text"]
    parts = [f"{spec}: {n + dropped:,} rows, {len(kinds)} features ({kinds.count('number')} numbers, "
             f"{kinds.count('text')} text) -> {n_inputs} inputs"]
    if encoded:
        parts.append(f"one-hot: {', '.join(encoded[:8])}{', ...' if len(encoded) > 8 else ''}")
    parts.append(f"{missing:,} missing cells filled (numbers: the training median, text: the most frequent)"
                 if missing else "no missing cells")
    if dropped:
        parts.append(f"{dropped:,} rows without a {target} dropped")
    parts.append(f"{task}: {why}" if task == "regression" else f"classification into {n_classes} classes: {why}")
    return "; ".join(parts)


# -- a table model's rows: evaluate, predict, the lab ------------------------------------------------


def model_preprocessing(network, model: str):
    """A table model's Preprocessing, or None for a model of images (or plain floats)."""
    from nnet.preprocessing import Preprocessing

    description = network.metadata.get("preprocessing")
    if description is None:
        return None
    try:
        return Preprocessing.from_description(description)
    except ValueError as failure:
        raise CLIError(f"{model}: the model's table {failure}; the file is damaged") from None


def model_setting(network, name: str, default=None):
    """A setting of the run that made a table model (``training``), or ``default``."""
    training = network.metadata.get("training")
    value = training.get(name) if isinstance(training, dict) else None
    return default if value is None else value


def model_table_rows(network, *, model: str, dataset: str | None, target: str | None, split: str):
    """The rows a table model is scored on: ``(features, y, source, dropped)``.

    With ``dataset`` a CSV file: every row of it whose ``target`` (default: the model's own) is
    there. Without: the model's own file, read as in training, and its ``split`` ("test": the
    held-out rows, found again by the same seeded rule; "train": the others). ``y`` holds int64
    indices into the model's classes, or float64 values."""
    from nnet.datasets.local import split_test
    from nnet.preprocessing import split_target

    target = target or model_setting(network, "target")
    if target is None:
        raise CLIError(f"{model} records no target column; pass --target COLUMN")
    if dataset is None:
        from .data import dataset_of_model

        dataset = dataset_of_model(network, None)
        table = read_table(dataset, text=model_setting(network, "text", []), drop=model_setting(network, "drop", []))
        features, y, classes, task, dropped = split_target(table, target, network.task)
        (train_rows, _), (test_rows, _) = split_test(np.arange(len(y)), y, task=task, source=dataset)
        rows = test_rows if split == "test" else train_rows
        features, y, source, dropped = features.take(rows), y[rows], dataset, 0  # rows without a target: never split
    else:
        table = read_table(dataset)
        features, y, classes, task, dropped = split_target(table, target, network.task)
        source = dataset
    if task == "classification":
        y = _class_indices(network, classes, y, target, dataset)
    return features, y, source, dropped


def _class_indices(network, classes: list[str], y: np.ndarray, target: str, source: str) -> np.ndarray:
    """Labels into the file's ``classes`` as indices into the model's; a class the model does not
    know is refused, naming it."""
    known = {name: index for index, name in enumerate(network.class_names)}
    unknown = [name for name in classes if name not in known]
    if unknown:
        raise CLIError(f"{source}: the target {target!r} holds {unknown[0]!r}, which is not one of the model's "
                       f"classes ({', '.join(network.class_names)}); a classifier cannot be scored on it")
    return np.array([known[name] for name in classes], dtype=np.int64)[y]


def model_inputs(network, preprocessing, features) -> tuple[np.ndarray, int]:
    """The network's inputs for a table's rows, and how many text cells held a category never seen
    in training (encoded as all zeros)."""
    x = preprocessing.inputs(features, network.dtype)
    return x, preprocessing.unseen


def unseen_note(count: int) -> str | None:
    """The line that says how many cells held unseen categories, or None."""
    return None if not count else f"{count:,} text cells hold categories never seen in training: {UNSEEN_RULE}"
