"""Bring your own data: a CSV file, an ``.npz`` archive or a folder of images, as MNIST arrays.

Every loader returns ``(x, y, class_names)``, and so does :func:`arrays_to_dataset`, which applies
the same rules to arrays you already hold (the npz loader and ``nnet train --dataset`` use it)::

    x : ndarray of shape (n, 784), uint8, C-contiguous (28 x 28 pixels a row, 0 = background)
    y : ndarray of shape (n,), int64, each in 0 .. len(class_names) - 1
    class_names : tuple of str, class_names[label] names the label

Pixel values, one rule for the whole array (not row by row):

- integers must lie in 0..255 and are taken as they are;
- floats must be finite; if all lie in [0, 1] they are scaled by 255, else if all lie in
  [0, 255] they are taken as they are; then rounded to the nearest integer;
- anything else is an error naming the first offending row (a CSV line number, an npz row).

A CSV is read as text, so there "integer" means every pixel value is a whole number
(``0``, ``255``, ``17.0``): the Kaggle digit CSVs, with pixels 0..255, load unscaled.

Labels must be whole numbers from 0 to ``limits.MAX_CLASSES`` - 1 (one output neuron each). Unless the data say otherwise (the image folder names,
an npz ``class_names`` array), the class names are ``"0"``, ``"1"``, ... up to the largest label.
"""

from __future__ import annotations

import math
import os
import re
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .. import limits
from .errors import DataFormatError
from .registry import IMAGE_SIDE

__all__ = [
    "IMAGE_EXTENSIONS",
    "IMAGE_FORMATS",
    "MAX_PIXEL",
    "N_PIXELS",
    "arrays_to_dataset",
    "default_class_names",
    "import_pillow",
    "is_image_file",
    "load_csv",
    "load_image_folder",
    "load_npz",
    "read_npz",
]

N_PIXELS = IMAGE_SIDE * IMAGE_SIDE
#: The brightest pixel value, full ink.
MAX_PIXEL = 255
#: The image files nnet reads from a folder (here and in ``nnet.images.load_images``); other
#: files, and hidden ones, are skipped. A file named explicitly is read whatever its extension.
IMAGE_EXTENSIONS = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".pbm", ".pnm"}
)
#: A number as the CSV reader takes it: ASCII digits only (Python's ``\d`` would take '٣' too).
#: The only decoders Pillow may use for a user's image, wherever nnet reads one (``nnet predict``,
#: the lab, image folders): raster formats of pixels. Left to itself Pillow picks the decoder by
#: content, so a PostScript file named ``seven.png`` would go to Ghostscript. ("PPM" reads .pbm,
#: .pgm, .ppm and .pnm; "JPEG" also reads cameras' multi-picture JPEGs.)
IMAGE_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP", "PPM")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|nan|inf(inity)?)", re.I | re.ASCII)

Result = tuple[np.ndarray, np.ndarray, tuple[str, ...]]


# ---------------------------------------------------------------------------------------------
# CSV


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
    y = _labels(values[:, label_index], lambda row: f"{path}, line {line_of[row]}")
    if label_index in (0, width - 1):  # a view, no copy
        pixels = values[:, 1:] if label_index == 0 else values[:, :-1]
    else:
        pixels = np.delete(values, label_index, axis=1)
    x = _pixels_to_uint8(pixels, lambda row: f"{path}, line {line_of[row]}", text=True)
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
                    f"{path}, line {number}, column {column}: expected a number, got {_brief(field)}"
                ) from None


# ---------------------------------------------------------------------------------------------
# npz


def load_npz(path: str | os.PathLike[str]) -> Result:
    """Load labelled images from a NumPy ``.npz`` archive holding arrays ``x`` and ``y``.

    Parameters
    ----------
    path : path to the .npz file
        ``x`` of shape (n, 784) or (n, 28, 28), integer or float (rule in the module docstring);
        ``y`` of shape (n,), whole numbers >= 0; optionally ``class_names``, a 1-D array of str.

    Returns
    -------
    (x, y, class_names): x of shape (n, 784) uint8, y of shape (n,) int64, class_names a tuple
    of str (from the archive, else ``("0", ..., str(max(y)))``).

    Raises
    ------
    DataFormatError
        A damaged or truncated file, missing arrays (the message lists those present), wrong
        shapes or dtypes, NaN or out-of-range values (naming the row), labels that are not
        whole numbers >= 0, pickled object arrays (never loaded).
    """
    arrays = read_npz(path)
    missing = [key for key in ("x", "y") if key not in arrays]
    if missing:
        raise DataFormatError(
            f"{path}: expected arrays 'x' and 'y', missing {', '.join(missing)}; the archive "
            f"holds {', '.join(arrays) or 'nothing'}"
        )
    return arrays_to_dataset(arrays["x"], arrays["y"], arrays.get("class_names"), source=str(path))


def read_npz(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` archive, read into memory, by name (in the archive's order).

    Nothing is allocated at a size the archive merely claims: each member's ``.npy`` header is
    read first, and its array must fill exactly the member's uncompressed size, which may be at
    most ``limits.MAX_COMPRESSION_RATIO`` times its compressed size (beyond
    ``limits.COMPRESSED_FLOOR_BYTES``), which must lie within the file. Never unpickles: an
    object array is refused. A damaged file (a truncated zip, a corrupt member, a file that is
    not a zip at all) is a :class:`DataFormatError` naming the file, not the zip module's own
    exception. Members whose names do not end in ``.npy`` are not read.
    """
    path = Path(path)
    try:
        with open(path, "rb") as file:
            if file.read(len(_NPY_MAGIC)) == _NPY_MAGIC:
                raise DataFormatError(f"{path}: expected an .npz archive of named arrays (such as x and y), got one array")
            size = os.fstat(file.fileno()).st_size
            file.seek(0)
            with zipfile.ZipFile(file) as archive:
                members = [info for info in archive.infolist() if info.filename.endswith(".npy")]
                for info in members:
                    _check_member(path, info, size, archive)
                return {info.filename[: -len(".npy")]: _read_member(archive, info) for info in members}
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, NotImplementedError, OverflowError) as error:
        if isinstance(error, DataFormatError):
            raise
        raise DataFormatError(f"{path}: cannot read as .npz (damaged or truncated?): {_reason(error)}") from None
    except OSError as error:
        if isinstance(error, (FileNotFoundError, PermissionError, IsADirectoryError)):
            raise  # the CLI reports these as they are: a missing file, no permission
        raise DataFormatError(f"{path}: cannot read as .npz: {_reason(error)}") from None


_NPY_MAGIC = b"\x93NUMPY"


def _check_member(path: Path, info: zipfile.ZipInfo, size: int, archive: zipfile.ZipFile) -> None:
    """Refuse a member whose claims (sizes, its .npy header) the archive's bytes cannot back."""
    where = f"{path}: member {info.filename!r}"
    bound = max(limits.COMPRESSED_FLOOR_BYTES, limits.MAX_COMPRESSION_RATIO * info.compress_size)
    if info.compress_size > size or (info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size):
        raise DataFormatError(f"{where} claims {info.compress_size:,} stored bytes; the file has {size:,}: cannot read as .npz")
    if info.file_size > bound:
        raise DataFormatError(
            f"{where} claims {info.file_size:,} bytes from {info.compress_size:,} compressed ones, more than "
            f"{limits.MAX_COMPRESSION_RATIO} times as many (nnet.limits.MAX_COMPRESSION_RATIO): cannot read as .npz"
        )
    with archive.open(info) as member:
        version = np.lib.format.read_magic(member)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(member)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(member)
        header = member.tell()
    if dtype.hasobject:
        raise DataFormatError(f"{where} holds Python objects, which are never unpickled (allow_pickle=False); expected numbers")
    claimed = math.prod(max(dimension, 1) for dimension in shape)  # a zero does not excuse the rest
    if header + math.prod(shape) * dtype.itemsize != info.file_size or claimed > max(info.file_size, limits.MAX_PIXELS):
        raise DataFormatError(
            f"{where}: its header claims an array of shape {shape} of {dtype}, which does not fit the member's "
            f"{info.file_size:,} bytes: cannot read as .npz"
        )


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> np.ndarray:
    with archive.open(info) as member:
        return np.lib.format.read_array(member, allow_pickle=False)


def _reason(error: BaseException) -> str:
    return str(error) or type(error).__name__


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
    labels = _labels(y, lambda row: f"{source}, row {row} of {y_name}")
    pixels = _pixels_to_uint8(x.reshape(len(x), N_PIXELS), lambda row: f"{source}, row {row} of {x_name}")
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


# ---------------------------------------------------------------------------------------------
# A folder of images


def load_image_folder(path: str | os.PathLike[str], *, invert: bool = False) -> Result:
    """Load a folder with one subfolder of 28x28 images per class.

    ::

        digits/
          cat/   001.png 002.png ...
          dog/   a.png ...

    The subfolder names, sorted, are the class names (label 0 is the first). Files whose
    extension is in ``IMAGE_EXTENSIONS`` are read with Pillow in name order and converted to
    grayscale (luma; any alpha channel is dropped); other files and hidden ones are skipped.
    Images must already be 28x28 and are taken as white-on-black like MNIST; ``invert=True``
    flips black-on-white images (x -> 255 - x).

    Returns
    -------
    (x, y, class_names): x of shape (n, 784) uint8, y of shape (n,) int64, class_names the
    sorted subfolder names.

    Raises
    ------
    ImportError
        Pillow is not installed (``pip install "nnet[images]"``).
    DataFormatError
        No class subfolders, an empty class, a file Pillow cannot read, or an image that is not
        28x28 (preprocess such images into MNIST style first).
    """
    root = Path(path)
    if not root.is_dir():
        raise DataFormatError(f"{root}: expected a folder with one subfolder of images per class")
    image_module = import_pillow()
    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not classes:
        raise DataFormatError(
            f"{root}: no class subfolders; expected one subfolder of images per class "
            f"(its name is the class name)"
        )
    images, labels = [], []
    for label, class_name in enumerate(classes):
        files = sorted(f for f in (root / class_name).iterdir() if is_image_file(f))
        if not files:
            raise DataFormatError(
                f"{root / class_name}: class {class_name!r} holds no images; expected files "
                f"ending in {', '.join(sorted(IMAGE_EXTENSIONS))}"
            )
        for file in files:
            images.append(_read_image(image_module, file))
            labels.append(label)
    x = np.stack(images)
    if invert:
        np.subtract(MAX_PIXEL, x, out=x)
    return x, np.array(labels, dtype=np.int64), tuple(classes)


def import_pillow():
    """The ``PIL.Image`` module, imported on first use: Pillow is an optional dependency.

    Raises
    ------
    ImportError
        Pillow is not installed; the message says how to install it.
    """
    try:
        from PIL import Image
    except ImportError:
        raise ImportError(
            'reading images needs Pillow, which is not installed: pip install "nnet[images]"'
        ) from None
    return Image


def is_image_file(path: Path) -> bool:
    """Whether a folder's entry is an image file nnet reads: a file, not hidden, with an
    extension in ``IMAGE_EXTENSIONS`` (any case)."""
    return path.is_file() and not path.name.startswith(".") and path.suffix.lower() in IMAGE_EXTENSIONS


def _read_image(image_module, file: Path) -> np.ndarray:
    try:
        with image_module.open(file, formats=IMAGE_FORMATS) as image:
            size = image.size
            if size != (IMAGE_SIDE, IMAGE_SIDE):
                raise DataFormatError(
                    f"{file}: the image is {size[0]}x{size[1]} pixels; expected "
                    f"{IMAGE_SIDE}x{IMAGE_SIDE}. Preprocess it first into MNIST style: a centred "
                    f"white-on-black {IMAGE_SIDE}x{IMAGE_SIDE} grayscale image (nnet.images "
                    f"turns photos and drawings into such inputs)"
                )
            gray = image.convert("L")
    except DataFormatError:
        raise
    except image_module.UnidentifiedImageError:
        raise DataFormatError(
            f"{file}: cannot read as an image: not one of the formats nnet reads ({', '.join(IMAGE_FORMATS)})"
        ) from None
    except Exception as error:  # noqa: BLE001 - a damaged file makes Pillow's decoders raise any kind
        raise DataFormatError(f"{file}: cannot read as an image: {pillow_reason(error)}") from None
    return np.asarray(gray, dtype=np.uint8).reshape(N_PIXELS)


def pillow_reason(error: BaseException) -> str:
    """What Pillow said about a damaged image, in one short line."""
    text = " ".join(str(error).split())
    text = text if len(text) <= 120 else f"{text[:115]}..."
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


# ---------------------------------------------------------------------------------------------
# Shared rules


def _labels(values: np.ndarray, where: Callable[[int], str]) -> np.ndarray:
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


def _brief(text: str, limit: int = 40) -> str:
    """``repr(text)`` cut to ``limit`` characters: a field of a hostile file goes into a message."""
    shown = repr(text)
    return shown if len(shown) <= limit else f"{shown[: limit - 5]}...{shown[-2:]}"


def _pixels_to_uint8(
    values: np.ndarray, where: Callable[[int], str], *, text: bool = False
) -> np.ndarray:
    """(n, 784) numbers -> (n, 784) uint8 by the rule in the module docstring.

    ``text=True`` (numbers parsed from text, as floats): whole numbers count as integers.
    """
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
