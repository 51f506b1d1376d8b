"""Labelled images from a NumPy ``.npz`` archive, read without ever unpickling, every member's
size checked before it is read, by the rules of :mod:`nnet.datasets.rules`."""

from __future__ import annotations

import math
import os
import tokenize
import zipfile
import zlib
from pathlib import Path

import numpy as np

from .. import limits
from .errors import DataFormatError
from .mapped import map_npz_images
from .rules import Result, arrays_to_dataset

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


def read_npz(path: str | os.PathLike[str], on_disk: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` archive, read into memory, by name (in the archive's order);
    those named in ``on_disk`` memory-mapped instead where they can be (:mod:`.mapped`).

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
                arrays = {}
                for info in members:
                    name = info.filename[: -len(".npy")]
                    mapped = map_npz_images(path, name) if name in on_disk else None
                    arrays[name] = _read_member(archive, info) if mapped is None else mapped
                return arrays
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, NotImplementedError, OverflowError, TypeError,
            SyntaxError, RecursionError, tokenize.TokenError) as error:  # (NumPy tokenizes the .npy header)
        if isinstance(error, DataFormatError):
            raise
        raise DataFormatError(f"{path}: cannot read as .npz (damaged or truncated?): {_reason(error)}") from None
    except OSError as error:
        if isinstance(error, (FileNotFoundError, PermissionError, IsADirectoryError)):
            raise  # the CLI reports these as they are: a missing file, no permission
        raise DataFormatError(f"{path}: cannot read as .npz: {_reason(error)}") from None


_NPY_MAGIC = b"\x93NUMPY"
_ENCRYPTED = 0x1  # the zip format's flag of an encrypted member (the zipfile module would ask for a password)


def _check_member(path: Path, info: zipfile.ZipInfo, size: int, archive: zipfile.ZipFile) -> None:
    """Refuse a member whose claims (sizes, its .npy header) the archive's bytes cannot back."""
    where = f"{path}: member {info.filename!r}"
    if info.flag_bits & _ENCRYPTED:
        raise DataFormatError(f"{where} is encrypted: cannot read as .npz (save the arrays with numpy.savez)")
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
