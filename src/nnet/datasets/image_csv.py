"""Labelled images from a CSV file, one image per line (Kaggle's digit-recognizer layout:
``label,pixel0,...,pixel783``), by the rules of :mod:`nnet.datasets.rules`."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from .errors import DataFormatError
from .rules import N_PIXELS, Result, brief, checked_labels, checked_pixels, default_class_names
from .registry import IMAGE_SIDE

#: A number as the CSV reader takes it: ASCII digits only (Python's ``\\d`` would take '٣' too).
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|nan|inf(inity)?)", re.I | re.ASCII)


def load_csv(
    path: str | os.PathLike[str], label_column: str | int = "label", *, delimiter: str = ","
) -> Result:
    """Load labelled images from a CSV file, one image per line.

    The first line is a header if any of its fields is not a number (Kaggle's digit-recognizer
    ``train.csv``: ``label,pixel0,...,pixel783``). Then the label is the column named
    ``label_column`` and every other column, in order, is a pixel. Without a header the label
    is the first column (or column ``label_column`` if that is an int) and the other 784 are
    the pixels. Blank lines are skipped; line numbers in errors count every line from 1.

    Parameters
    ----------
    path : path to the CSV file (UTF-8)
    label_column : str or int
        The label's column name (with a header) or index (either way).
    delimiter : str

    Returns
    -------
    (x, y, class_names): x of shape (n, 784) uint8, y of shape (n,) int64, class_names
    ``("0", ..., str(max(y)))``. Pixel values follow the rule in the module docstring.

    Raises
    ------
    DataFormatError
        Ragged lines (the message names the line number), a missing label column, a field that
        is not a number, a non-integer or negative label, NaN or out-of-range pixels, no rows,
        or a number of pixel columns other than 784.
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError as error:
        raise DataFormatError(
            f"{path}: not a text file in UTF-8 (byte {error.start}: {error.reason}); expected a CSV "
            f"of labelled images"
        ) from None
    rows = [(number, line) for number, line in enumerate(lines, 1) if line.strip()]
    if not rows:
        raise DataFormatError(f"{path}: the file is empty; expected a CSV of labelled images")
    first_number, first_line = rows[0]
    fields = [_unquote(field) for field in first_line.split(delimiter)]
    width = len(fields)
    has_header = not all(_NUMBER.fullmatch(field) for field in fields)
    if has_header:
        rows = rows[1:]
    label_index = _label_index(path, label_column, fields if has_header else None, first_number)
    if width != N_PIXELS + 1:
        raise DataFormatError(
            f"{path}, line {first_number}: expected {N_PIXELS + 1} columns (a label and "
            f"{N_PIXELS} pixels, {IMAGE_SIDE}x{IMAGE_SIDE}), got {width}"
        )
    if not rows:
        raise DataFormatError(f"{path}: a header but no data lines; expected one image per line")
    for number, line in rows:
        if line.count(delimiter) != width - 1:
            raise DataFormatError(
                f"{path}, line {number}: ragged row: expected {width} fields like line "
                f"{first_number}, got {line.count(delimiter) + 1}"
            )
    try:
        values = np.loadtxt(
            [line for _, line in rows], delimiter=delimiter, dtype=np.float32, ndmin=2
        )
    except ValueError as error:
        _raise_first_non_number(path, rows, delimiter)
        raise DataFormatError(f"{path}: cannot read the numbers: {error}") from None
    line_of = [number for number, _ in rows]
    y = checked_labels(values[:, label_index], lambda row: f"{path}, line {line_of[row]}")
    if label_index in (0, width - 1):  # a view, no copy
        pixels = values[:, 1:] if label_index == 0 else values[:, :-1]
    else:
        pixels = np.delete(values, label_index, axis=1)
    x = checked_pixels(pixels, lambda row: f"{path}, line {line_of[row]}", text=True)
    return x, y, default_class_names(y)


def _unquote(field: str) -> str:
    return field.strip().strip('"').strip("'").strip()


def _label_index(path: Path, label_column: str | int, header: list[str] | None, line: int) -> int:
    width = N_PIXELS + 1 if header is None else len(header)
    if isinstance(label_column, bool) or not isinstance(label_column, (str, int)):
        raise TypeError(f"label_column must be a str or an int, got {label_column!r}")
    if isinstance(label_column, int):
        if not -width <= label_column < width:
            raise DataFormatError(
                f"{path}: label_column {label_column} is outside the {width} columns"
            )
        return label_column % width
    if header is None:
        return 0  # headerless: the label comes first
    if label_column not in header:
        shown = ", ".join(header[:6]) + (", ..." if len(header) > 6 else "")
        raise DataFormatError(
            f"{path}, line {line}: no column named {label_column!r} in the header; its columns "
            f"are {shown} (pass label_column=...)"
        )
    return header.index(label_column)


def _raise_first_non_number(path: Path, rows: list[tuple[int, str]], delimiter: str) -> None:
    for number, line in rows:
        for column, field in enumerate(line.split(delimiter), 1):
            if not _NUMBER.fullmatch(field.strip()):
                raise DataFormatError(
                    f"{path}, line {number}, column {column}: expected a number, got {brief(field)}"
                ) from None
