"""What a set of labelled images must be, whatever file it came from: the shared rules of the
loaders for your own data (CSV, npz, folders of images) and of :func:`arrays_to_dataset`, which
applies them to arrays you already hold::

    x : ndarray of shape (n, 784), uint8, C-contiguous (28 x 28 pixels a row, 0 = background)
    y : ndarray of shape (n,), int64, each in 0 .. len(class_names) - 1
    class_names : tuple of str, class_names[label] names the label

Pixel values, one rule for the whole array (not row by row):

- integers must lie in 0..255 and are taken as they are;
- floats must be finite; if all lie in [0, 1] they are scaled by 255, else if all lie in
  [0, 255] they are taken as they are; then rounded to the nearest integer;
- anything else is an error naming the first offending row (a CSV line number, an npz row).

Labels must be whole numbers from 0 to ``limits.MAX_CLASSES`` - 1 (one output neuron each).
Unless the data say otherwise (the image folder names, an npz ``class_names`` array), the class
names are ``"0"``, ``"1"``, ... up to the largest label.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import limits
from .errors import DataFormatError
from .registry import IMAGE_SIDE

N_PIXELS = IMAGE_SIDE * IMAGE_SIDE
#: The brightest pixel value, full ink.
MAX_PIXEL = 255
Result = tuple[np.ndarray, np.ndarray, tuple[str, ...]]


def arrays_to_dataset(
    x: np.ndarray,
    y: np.ndarray,
    class_names=None,
    *,
    source: str = "arrays",
    names: tuple[str, str] = ("x", "y"),
) -> Result:
    """Check and convert labelled images held in arrays, by the rules of the module docstring.

    Parameters
    ----------
    x : array-like of shape (n, 784) or (n, 28, 28), integer 0..255 or float in [0, 1] or
        [0, 255]
    y : array-like of shape (n,), whole numbers >= 0
    class_names : 1-D array or sequence of str naming every label, optional
    source : where the arrays came from, for the error messages (a file name)
    names : what to call x and y in the messages (``("x_train", "y_train")``)

    Returns
    -------
    (x, y, class_names): x of shape (n, 784) uint8 C-contiguous, y of shape (n,) int64,
    class_names a tuple of str (the given ones, else ``("0", ..., str(max(y)))``).

    Raises
    ------
    DataFormatError
        Wrong shapes or dtypes, NaN or out-of-range pixels, labels that are not whole numbers
        >= 0, or class names that are not str or do not name every label.
    """
    x_name, y_name = names
    x, y = np.asarray(x), np.asarray(y)
    if not (
        (x.ndim == 2 and x.shape[1] == N_PIXELS)
        or (x.ndim == 3 and x.shape[1:] == (IMAGE_SIDE, IMAGE_SIDE))
    ):
        raise DataFormatError(
            f"{source}: expected {x_name} of shape (n, {N_PIXELS}) or (n, {IMAGE_SIDE}, "
            f"{IMAGE_SIDE}), got {x.shape}"
        )
    if y.ndim != 1 or len(y) != len(x):
        raise DataFormatError(
            f"{source}: expected {y_name} of shape ({len(x)},), one label per image, got {y.shape}"
        )
    labels = checked_labels(y, lambda row: f"{source}, row {row} of {y_name}")
    pixels = checked_pixels(x.reshape(len(x), N_PIXELS), lambda row: f"{source}, row {row} of {x_name}")
    if class_names is None:
        return pixels, labels, default_class_names(labels)
    given = np.asarray(class_names)
    if given.ndim != 1 or given.dtype.kind != "U":
        raise DataFormatError(
            f"{source}: expected class_names as a 1-D array of str, got {given.dtype} {given.shape}"
        )
    if len(given) > limits.MAX_CLASSES:
        raise DataFormatError(
            f"{source}: {len(given)} class_names; at most {limits.MAX_CLASSES} (nnet.limits.MAX_CLASSES: "
            f"one output neuron per class)"
        )
    if len(given) <= int(labels.max()):
        raise DataFormatError(
            f"{source}: {len(given)} class_names but labels go up to {int(labels.max())}; "
            f"expected a name for every label"
        )
    return pixels, labels, tuple(str(name) for name in given)


def checked_labels(values: np.ndarray, where: Callable[[int], str]) -> np.ndarray:
    """Labels as int64, or an error naming the first row that is not a whole number in
    0 .. ``limits.MAX_CLASSES`` - 1."""
    if values.dtype.kind not in "uif":
        raise DataFormatError(f"{where(0)}: expected integer labels, got dtype {values.dtype}")
    if len(values) == 0:
        raise DataFormatError(f"{where(0)}: no images; expected at least one")
    if values.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            bad = ~np.isfinite(values) | (values != np.floor(values)) | (values < 0)
    else:
        bad = values < 0
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataFormatError(
            f"{where(row)}: label {values[row].item()} is not an integer >= 0; expected class "
            f"indices 0, 1, 2, ..."
        )
    too_many = np.flatnonzero(values >= limits.MAX_CLASSES)
    if too_many.size:
        row = int(too_many[0])
        raise DataFormatError(
            f"{where(row)}: label {_whole(values[row].item())} is too large: expected class indices 0 to "
            f"{limits.MAX_CLASSES - 1} (nnet.limits.MAX_CLASSES: one output neuron per class)"
        )
    return values.astype(np.int64)


def _whole(value) -> str:
    """A whole number as its digits (a float's too, up to 10**18), else in scientific notation."""
    return str(int(value)) if abs(value) < 1e18 else f"{value:g}"


def brief(text: str, limit: int = 40) -> str:
    """``repr(text)`` cut to ``limit`` characters: a field of a hostile file goes into a message."""
    shown = repr(text)
    return shown if len(shown) <= limit else f"{shown[: limit - 5]}...{shown[-2:]}"


def checked_pixels(
    values: np.ndarray, where: Callable[[int], str], *, text: bool = False
) -> np.ndarray:
    """(n, 784) numbers -> (n, 784) uint8 by the rule in the module docstring.

    ``text=True`` (numbers parsed from text, as floats): whole numbers count as integers.
    """
    if values.dtype == np.uint8:  # already pixels: nothing to check, nothing to read (a map stays one)
        return np.ascontiguousarray(values)
    kind = values.dtype.kind
    if kind not in "uif":
        raise DataFormatError(f"{where(0)}: expected numeric pixels, got dtype {values.dtype}")
    if kind == "f":
        finite = np.isfinite(values)
        if not finite.all():
            row, column = np.argwhere(~finite)[0]
            raise DataFormatError(
                f"{where(int(row))}: pixel {int(column)} is {values[row, column]}; expected "
                f"finite numbers"
            )
    integers = kind in "ui" or (text and bool(np.all(values == np.floor(values))))
    if integers:
        scale = 1.0
        rule = "integer pixels must lie in 0..255"
    else:
        in_unit_range = values.size and values.min() >= 0.0 and values.max() <= 1.0
        scale = float(MAX_PIXEL) if in_unit_range else 1.0
        rule = "float pixels must all lie in [0, 1] (scaled by 255) or all in [0, 255]"
    bad = (values < 0) | (values > MAX_PIXEL)
    if bad.any():
        row, column = np.argwhere(bad)[0]
        raise DataFormatError(
            f"{where(int(row))}: pixel {int(column)} is {values[row, column]}; {rule}"
        )
    if integers:
        return np.ascontiguousarray(values, dtype=np.uint8)
    return np.rint(values * scale).astype(np.uint8)


def default_class_names(*labels: np.ndarray) -> tuple[str, ...]:
    """``("0", "1", ..., str(k))`` for the largest label k in any of the label arrays given."""
    top = max((int(y.max()) for y in labels if len(y)), default=0)
    return tuple(str(label) for label in range(top + 1))
