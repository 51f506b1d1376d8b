"""Preprocessing that travels with a model: from a table's columns to the network's inputs, and
from its outputs back to the targets' units.

Learned from the training rows only (:meth:`Preprocessing.learn`), kept as plain JSON-able data
(:meth:`Preprocessing.describe`, stored in the model file under ``"preprocessing"``), and applied
the same way by every door (the estimators, ``nnet predict``/``evaluate``, the lab, the ONNX
export) through :meth:`Preprocessing.inputs` and :meth:`Preprocessing.values`::

    number column   missing cells  -> the training rows' median
                    then           -> (value - mean) / scale     (scale: the standard deviation,
                                                                   1 for a constant column)
    text column     missing cells  -> the most frequent category (the first in sorted order
                                      on a tie)
                    then           -> one-hot: one input per category seen in training; a
                                      category never seen there is all zeros (counted in
                                      ``unseen``), never an error
    regression targets             -> (y - mean) / scale while training; the network's outputs
                                      are turned back by value = output * scale + mean

The inputs are float32 (the network's dtype given), in the order of ``input_names``: each number
column's own name, and ``column=category`` for each category of a text column. Nothing is divided
by 255: that is for images, whose pixels the network scales itself.
"""

from __future__ import annotations

import numpy as np

from .datasets.errors import DataFormatError
from .tables import Column, Table

#: The version of the description's layout, kept in it.
VERSION = 1
#: A text column with more categories than this is refused (an id, a free-text field): one-hot
#: encoding would give the network one input per row.
MAX_CATEGORIES = 1000


class Preprocessing:
    """Column by column, what to do to a table before the network sees it (see the module).

    Attributes
    ----------
    columns : list of dict
        One per feature column, in order: ``{"name", "kind": "number", "fill", "mean",
        "scale"}`` or ``{"name", "kind": "text", "fill", "categories"}``.
    target : dict or None
        A regression network's ``{"names", "mean", "scale"}`` (lists, one per output); None for
        a classifier.
    unseen : int
        After :meth:`inputs`: how many text cells held a category never seen in training.
    """

    def __init__(self, columns: list[dict], target: dict | None = None):
        self.columns = columns
        self.target = target
        self.unseen = 0

    # -- learning ------------------------------------------------------------------------------
    @classmethod
    def learn(cls, table: Table, targets: np.ndarray | None = None, target_names=None, rows=None) -> Preprocessing:
        """What to do, learned from the training rows of ``table``: all of them, or ``rows``
        (int indices, a column at a time, so the table is never copied whole). ``targets``
        (n,) or (n, k), one per training row, for a regression network, are standardised too."""
        n = len(table) if rows is None else len(rows)
        if n == 0:
            raise ValueError("no rows to learn the preprocessing from")
        columns = [_learn_column(column if rows is None else column.take(rows)) for column in table.columns]
        for column in columns:
            if column["kind"] == "text" and len(column["categories"]) > MAX_CATEGORIES:
                raise DataFormatError(
                    f"{table.source}: column {column['name']!r} is text with {len(column['categories']):,} different values "
                    f"in {n:,} rows, too many to encode as categories (at most {MAX_CATEGORIES:,}); "
                    f"leave it out (an id or free text?), or make it numbers")
        target = None
        if targets is not None:
            values = np.asarray(targets, dtype=np.float64).reshape(len(targets), -1)
            scale = values.std(axis=0)
            names = list(target_names) if target_names is not None else [f"y{j}" for j in range(values.shape[1])]
            target = {"names": [str(name) for name in names], "mean": values.mean(axis=0).tolist(),
                      "scale": np.where(scale > 0, scale, 1.0).tolist()}
        return cls(columns, target)

    # -- applying ------------------------------------------------------------------------------
    @property
    def input_names(self) -> list[str]:
        """The name of each input, in order: a number column's name, ``column=category``."""
        names = []
        for column in self.columns:
            if column["kind"] == "number":
                names.append(column["name"])
            else:
                names.extend(f"{column['name']}={category}" for category in column["categories"])
        return names

    @property
    def n_inputs(self) -> int:
        return sum(1 if column["kind"] == "number" else len(column["categories"]) for column in self.columns)

    def inputs(self, table: Table, dtype=np.float32, rows=None) -> np.ndarray:
        """The network's inputs for ``table`` (n, n_inputs), in ``dtype``; given ``rows`` (int
        indices), for those rows in that order, taken a column at a time (so that the parts of
        a split can be made as slices of one array, the table never copied whole).

        Raises DataFormatError naming the columns the table lacks. Text cells of categories
        never seen in training become all zeros; ``self.unseen`` counts them.
        """
        by_name = {column.name: column for column in table.columns}
        missing = [column["name"] for column in self.columns if column["name"] not in by_name]
        if missing:
            raise DataFormatError(f"{table.source}: the model needs the column{'s' if len(missing) > 1 else ''} "
                                  f"{', '.join(map(repr, missing))}, which {'are' if len(missing) > 1 else 'is'} not there; "
                                  f"it has {', '.join(table.names) or 'no columns'}")
        if rows is not None:  # where() of the rows taken, for the error messages
            table = Table([], table.source, None if table.lines is None else table.lines[rows])
        x = np.zeros((len(table) if rows is None else len(rows), self.n_inputs), dtype)
        at, self.unseen = 0, 0
        for spec in self.columns:
            column = by_name[spec["name"]] if rows is None else by_name[spec["name"]].take(rows)
            if spec["kind"] == "number":
                values = _as_numbers(column, table)
                values = np.where(np.isnan(values), spec["fill"], values)
                x[:, at] = (values - spec["mean"]) / spec["scale"]
                at += 1
            else:
                codes = self._codes(spec, column)
                known = np.flatnonzero(codes >= 0)
                x[known, at + codes[known]] = 1.0
                at += len(spec["categories"])
        return x

    def _codes(self, spec: dict, column: Column) -> np.ndarray:
        """The column's cells as indices into the learned categories: the fill for missing
        cells, -1 for categories never seen in training."""
        index = {category: code for code, category in enumerate(spec["categories"])}
        fill = index.get(spec["fill"], -1)
        if column.kind == "number":
            cells = column.strings()
            lookup = np.array([fill if cell is None else index.get(cell, -1) for cell in cells], dtype=np.int64)
            self.unseen += int(np.count_nonzero([cell is not None and cell not in index for cell in cells]))
            return lookup
        table = np.array([index.get(category, -1) for category in column.categories] + [fill], dtype=np.int64)
        codes = table[column.values]  # -1 (missing) picks the fill at the end
        self.unseen += int(np.count_nonzero((codes < 0) & (column.values >= 0)))
        return codes

    def targets(self, y) -> np.ndarray:
        """Regression targets (n,) or (n, k) standardised for training, float64 (n, k)."""
        values = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
        return (values - np.array(self.target["mean"])) / np.array(self.target["scale"])

    def values(self, output: np.ndarray) -> np.ndarray:
        """A regression network's outputs (n, k) in the targets' units: (n,) for one target."""
        values = np.asarray(output, dtype=np.float64) * np.array(self.target["scale"]) + np.array(self.target["mean"])
        return values[:, 0] if values.shape[1] == 1 else values

    # -- as plain data -------------------------------------------------------------------------
    def describe(self) -> dict:
        """The preprocessing as JSON-able data, for the model file (and ``nnet info``)."""
        return {"version": VERSION, "columns": [dict(column) for column in self.columns],
                "target": None if self.target is None else dict(self.target)}

    @classmethod
    def from_description(cls, description) -> Preprocessing:
        """Back from :meth:`describe`; raises ValueError naming the first field that is wrong."""
        problem = _description_problem(description)
        if problem:
            raise ValueError(f"preprocessing: {problem}")
        return cls([dict(column) for column in description["columns"]],
                   None if description.get("target") is None else dict(description["target"]))

    def __repr__(self) -> str:
        kinds = [column["kind"] for column in self.columns]
        return (f"Preprocessing({kinds.count('number')} number columns, {kinds.count('text')} text columns -> "
                f"{self.n_inputs} inputs{', targets standardised' if self.target else ''})")


def _learn_column(column: Column) -> dict:
    if column.kind == "number":
        values = column.values[~np.isnan(column.values)]
        fill = float(np.median(values)) if len(values) else 0.0
        filled = np.where(np.isnan(column.values), fill, column.values)
        scale = float(filled.std())
        return {"name": column.name, "kind": "number", "fill": fill, "mean": float(filled.mean()),
                "scale": scale if scale > 0 else 1.0}
    counts = np.bincount(column.values[column.values >= 0], minlength=len(column.categories))
    used = [category for category, count in zip(column.categories, counts) if count]
    fill = column.categories[int(counts.argmax())] if counts.sum() else None
    return {"name": column.name, "kind": "text", "fill": fill, "categories": used}


def _as_numbers(column: Column, table: Table, expected: str = "expected a number, as in training") -> np.ndarray:
    """A number column's values; a text column whose cells all read as numbers (a file where a
    number column held only missing cells, say), as numbers; else DataFormatError saying
    ``expected`` of the first cell that is not a number."""
    if column.kind == "number":
        return column.values
    values = np.full(len(column.categories) + 1, np.nan)
    for code, category in enumerate(column.categories):
        try:
            values[code] = float(category)
        except ValueError:
            row = int(np.flatnonzero(column.values == code)[0])
            raise DataFormatError(f"{table.where(row)}, column {column.name!r}: {expected}; got {category!r}") from None
    return values[column.values]


def _description_problem(description) -> str | None:
    if not isinstance(description, dict) or description.get("version") != VERSION:
        return f"must be an object with version {VERSION}"
    columns = description.get("columns")
    if not isinstance(columns, list) or not columns:
        return "columns must be a non-empty list"
    numbers = (int, float)
    for position, column in enumerate(columns):
        if not isinstance(column, dict) or not isinstance(column.get("name"), str):
            return f"column {position} must be an object with a name"
        if column.get("kind") == "number":
            if not all(type(column.get(key)) in numbers for key in ("fill", "mean", "scale")) or not column["scale"] > 0:
                return f"number column {column['name']!r} needs numbers fill, mean and scale > 0"
        elif column.get("kind") == "text":
            categories = column.get("categories")
            if not (isinstance(categories, list) and all(isinstance(c, str) for c in categories)):
                return f"text column {column['name']!r} needs a list of categories (strings)"
            if column.get("fill") is not None and not isinstance(column["fill"], str):
                return f"text column {column['name']!r}: fill must be a category or null"
        else:
            return f"column {column['name']!r}: kind must be 'number' or 'text'"
    target = description.get("target")
    if target is not None:
        if not isinstance(target, dict):
            return "target must be an object or null"
        lengths = {len(target.get(key) or []) for key in ("names", "mean", "scale")}
        if len(lengths) != 1 or not all(type(v) in numbers for key in ("mean", "scale") for v in target[key]):
            return "target needs names, mean and scale, one of each per output"
        if not all(v > 0 for v in target["scale"]):
            return "target scale must be > 0"
    return None


#: A number target with at most this many distinct whole values is taken for class labels.
MAX_INFERRED_CLASSES = 20


def split_target(table: Table, name: str, task: str | None = None):
    """The features and the target of a table, rows whose target is missing dropped.

    ``task`` None infers it: a text target, or numbers that are all whole and take at most
    MAX_INFERRED_CLASSES values, is classification; other numbers are regression.

    Returns ``(features, y, classes, task, dropped)``: ``features`` the table less the target
    column; ``y`` int64 labels (n,) into ``classes`` (sorted names, str) for classification,
    float64 values (n,) and ``classes`` None for regression; ``dropped`` the rows left out.

    Raises DataFormatError: no such column (listing the columns), text in a regression target
    (naming the row), no rows with a target.
    """
    column = table.column(name)
    keep = ~column.missing
    dropped = int(len(keep) - keep.sum())
    if not keep.any():
        raise DataFormatError(f"{table.source}: the target column {name!r} has no values; expected one per row")
    if task is None:
        whole = column.kind == "number" and np.all(column.values[keep] == np.round(column.values[keep]))
        few = column.kind == "number" and len(np.unique(column.values[keep])) <= MAX_INFERRED_CLASSES
        task = "classification" if column.kind == "text" or (whole and few) else "regression"
    rows = np.flatnonzero(keep) if dropped else slice(None)
    features = table.without(name).take(rows) if dropped else table.without(name)
    column = column.take(rows)
    if task == "regression":
        return features, _as_numbers(column, features, "a regression target must hold numbers"), None, task, dropped
    if task != "classification":
        raise ValueError(f"task must be classification or regression (or None: inferred); got {task!r}")
    if column.kind == "number":
        values, labels = np.unique(column.values, return_inverse=True)
        return features, labels.astype(np.int64), list(Column("", "number", values).strings()), task, dropped
    used = np.unique(column.values)
    remap = np.full(len(column.categories), -1, np.int64)
    remap[used] = np.arange(len(used))
    return features, remap[column.values], [column.categories[i] for i in used], task, dropped
