"""Read and write IDX files, the format MNIST and its cousins ship in.

An IDX file is a small header followed by one array in C order (last index fastest)::

    offset   size        meaning
    0        2 bytes     0x00 0x00, the magic (anything else is not IDX)
    2        1 byte      element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
                         0x0D float32, 0x0E float64
    3        1 byte      number of dimensions, d
    4        4 d bytes   the size of each dimension, big-endian uint32
    4 + 4 d  ...         the elements, big-endian

MNIST's training images start ``00 00 08 03`` then 60000, 28, 28 (a 16-byte header and
47,040,000 pixel bytes); its labels start ``00 00 08 01`` then 60000.

The files usually travel gzip-compressed. :func:`read_idx` recognises gzip by its magic bytes
(``1f 8b``), whatever the file is called, and decompresses straight into the result array: the
data are read with one buffer fill, never element by element, and uint8 stays uint8. In error
messages, offsets inside a ``.gz`` file count uncompressed bytes.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import sys
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .. import limits
from .._atomic import atomic_file
from .errors import IDXError
from .streams import GZIP_MAGIC, GunzipStream, PrefixedStream, count_rest, read_bytes, read_full, remaining_size

__all__ = ["IDXError", "IDX_TYPES", "MAX_DIMENSIONS", "read_idx", "read_idx_pair", "write_idx"]

#: IDX element type code -> NumPy dtype (native byte order; on disk they are big-endian).
IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(np.int16),
    0x0C: np.dtype(np.int32),
    0x0D: np.dtype(np.float32),
    0x0E: np.dtype(np.float64),
}
_TYPE_CODES = {(dtype.kind, dtype.itemsize): code for code, dtype in IDX_TYPES.items()}
_TYPE_LIST = ", ".join(f"0x{code:02X} ({dtype})" for code, dtype in IDX_TYPES.items())

#: The header allows 255 dimensions; real files use 1 to 4, so more than this is taken as damage.
MAX_DIMENSIONS = limits.MAX_IDX_DIMENSIONS
#: The most values one row (the dimensions after the first: one image) may hold.
MAX_ROW_VALUES = limits.MAX_PIXELS
_MAX_DIMENSION_SIZE = 0xFFFF_FFFF  # a big-endian uint32


# ---------------------------------------------------------------------------------------------
# Reading


def read_idx(source: str | os.PathLike[str] | BinaryIO) -> np.ndarray:
    """Read one IDX file (raw or gzip-compressed) into a NumPy array.

    Parameters
    ----------
    source : path or binary file object
        The file. Gzip is detected from the first two bytes, not from the name.

    Returns
    -------
    ndarray of the shape the header declares, e.g. (60000, 28, 28) for MNIST images, with the
    dtype of the type code (uint8, int8, int16, int32, float32 or float64) in native byte order.
    The array is writeable and C-contiguous.

    Raises
    ------
    IDXError
        Wrong magic, unknown type code, zero or more than ``MAX_DIMENSIONS`` dimensions, a header or
        data shorter than declared, trailing bytes, a corrupt gzip stream. The message names the
        file and the byte offset, and says what was expected and what came.
    OSError
        The file cannot be opened.
    """
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as file:
            return _read_stream(file, os.fspath(source))
    if not hasattr(source, "read"):
        raise TypeError(
            f"read_idx expects a path or a binary file object, got {type(source).__name__}"
        )
    return _read_stream(source, str(getattr(source, "name", "<stream>")))


def read_idx_pair(
    images: str | os.PathLike[str] | BinaryIO, labels: str | os.PathLike[str] | BinaryIO
) -> tuple[np.ndarray, np.ndarray]:
    """Read an image file and its label file, checking that they belong together.

    Returns
    -------
    images : ndarray of shape (n, ...) as stored, e.g. (n, 28, 28) uint8
    labels : ndarray of shape (n,) as stored, e.g. uint8

    Raises
    ------
    IDXError
        Either file is malformed, the labels are not one-dimensional, or the counts differ (the
        first dimension, at byte offset 4 of each file).
    """
    image_array = read_idx(images)
    label_array = read_idx(labels)
    images_name, labels_name = _name_of(images), _name_of(labels)
    if image_array.ndim < 2:
        raise IDXError(
            f"{images_name}: expected an image file with 2 or more dimensions (n, rows, ...), "
            f"got shape {image_array.shape}"
        )
    if label_array.ndim != 1:
        raise IDXError(
            f"{labels_name}: expected a label file with 1 dimension (n,), "
            f"got shape {label_array.shape}"
        )
    if label_array.shape[0] != image_array.shape[0]:
        raise IDXError(
            f"label count mismatch: {labels_name} holds {label_array.shape[0]} labels but "
            f"{images_name} holds {image_array.shape[0]} images (the first dimension, at byte "
            f"offset 4 of each file); expected one label per image"
        )
    return image_array, label_array


def _read_stream(file: BinaryIO, name: str) -> np.ndarray:
    size = remaining_size(file)
    start = file.read(2) or b""
    compressed = start == GZIP_MAGIC
    stream: GunzipStream | PrefixedStream
    if compressed:
        stream = GunzipStream(file, name, start)
        where = f"{name} (gzip; offsets count uncompressed bytes)"
    else:
        stream = PrefixedStream(file, start)
        where = name
    dtype, shape, header_size = _read_header(stream, where)
    row = math.prod(max(dimension, 1) for dimension in shape[1:])  # a zero does not excuse the rest
    if row > MAX_ROW_VALUES:
        raise IDXError(
            f"{where}: dimension sizes {list(shape)} at byte offset 4 make rows of {row:,} values; "
            f"at most {MAX_ROW_VALUES:,} (one image; nnet.limits.MAX_PIXELS)"
        )
    expected = math.prod(shape) * dtype.itemsize
    declared = (
        f"shape {shape} of {dtype} needs {expected} data bytes from byte offset {header_size}"
    )

    if size is not None and not compressed:  # a plain file: check the sizes before allocating
        available = size - header_size
        if available < expected:
            raise IDXError(
                f"{where}: truncated data: {declared}, got {available} "
                f"(dimension sizes disagree with the byte count)"
            )
        if available > expected:
            raise IDXError(
                f"{where}: {available - expected} trailing bytes after the data: {declared}, "
                f"ending at byte offset {header_size + expected}, but the file has {size} bytes"
            )
    if size is not None and compressed and expected > max(limits.COMPRESSED_FLOOR_BYTES, limits.MAX_COMPRESSION_RATIO * size):
        raise IDXError(
            f"{where}: dimension sizes disagree with the byte count: {declared}, more than "
            f"{limits.MAX_COMPRESSION_RATIO} times the {size} bytes of the gzip file (nnet.limits.MAX_COMPRESSION_RATIO)"
        )

    try:  # (bounded above for a file; a stream that cannot seek may still claim too much)
        array = np.empty(shape, dtype=dtype)
    except MemoryError:
        raise IDXError(f"{where}: {declared}: more memory than this machine can give") from None
    got = read_full(stream, memoryview(array.reshape(-1).view(np.uint8)))
    if got < expected:
        cut = " (the gzip stream itself is cut short)" if stream.truncated else ""
        raise IDXError(f"{where}: truncated data: {declared}, got {got}{cut}")
    extra = count_rest(stream)
    if extra:
        raise IDXError(
            f"{where}: {extra} trailing bytes after the data: {declared}, ending at byte offset "
            f"{header_size + expected}, but the data go on to byte offset "
            f"{header_size + expected + extra}"
        )
    if stream.truncated:
        raise IDXError(f"{where}: the gzip stream is cut short after the data (a damaged .gz file)")
    if dtype.itemsize > 1 and sys.byteorder == "little":
        array.byteswap(inplace=True)  # big-endian on disk -> native, without a copy
    return array


def _read_header(
    stream: PrefixedStream | GunzipStream, where: str
) -> tuple[np.dtype, tuple[int, ...], int]:
    """Read and check the header; return (dtype, shape, header size in bytes)."""
    head = read_bytes(stream, 4)
    if not head:
        raise IDXError(f"{where}: the file is empty; expected an IDX header at byte offset 0")
    if len(head) >= 2 and head[:2] != b"\x00\x00":
        raise IDXError(
            f"{where}: not an IDX file: expected the magic bytes 0x00 0x00 at byte offset 0, "
            f"got 0x{head[0]:02x} 0x{head[1]:02x}"
        )
    if len(head) < 4:
        raise IDXError(
            f"{where}: truncated header: expected 4 bytes at byte offset 0, got {len(head)}"
        )
    code, ndim = head[2], head[3]
    if code not in IDX_TYPES:
        raise IDXError(
            f"{where}: unknown IDX element type code 0x{code:02X} at byte offset 2; "
            f"expected one of {_TYPE_LIST}"
        )
    if not 1 <= ndim <= MAX_DIMENSIONS:
        kind = "zero dimensions" if ndim == 0 else f"too many dimensions ({ndim})"
        raise IDXError(
            f"{where}: {kind} at byte offset 3; expected 1 to {MAX_DIMENSIONS} dimensions"
        )
    dims = read_bytes(stream, 4 * ndim)
    if len(dims) < 4 * ndim:
        raise IDXError(
            f"{where}: truncated header: expected {4 * ndim} bytes of dimension sizes "
            f"({ndim} x uint32) at byte offset 4, got {len(dims)}"
        )
    return IDX_TYPES[code], struct.unpack(f">{ndim}I", dims), 4 + 4 * ndim


def _name_of(source: object) -> str:
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    return str(getattr(source, "name", "<stream>"))


# ---------------------------------------------------------------------------------------------
# Writing


def write_idx(path: str | os.PathLike[str], array: np.ndarray) -> Path:
    """Write ``array`` as an IDX file, gzip-compressed when ``path`` ends in ``.gz``.

    The file appears atomically: it is written to a temporary file in the same folder and renamed
    into place, so a crash never leaves a half-written file. Gzip output is reproducible (the
    header's timestamp is 0).

    Parameters
    ----------
    path : path
        Destination; its folder must exist.
    array : array_like of 1 to ``MAX_DIMENSIONS`` dimensions, each of at most 2**32 - 1
        Dtype uint8, int8, int16, int32, float32 or float64 (any byte order).

    Returns
    -------
    pathlib.Path of the written file.

    Raises
    ------
    IDXError
        The dtype or shape cannot be written as IDX.
    """
    array = np.asarray(array)
    code = _TYPE_CODES.get((array.dtype.kind, array.dtype.itemsize))
    if code is None:
        raise IDXError(
            f"cannot write an array of dtype {array.dtype} as IDX; expected one of {_TYPE_LIST}"
            f" (cast first, e.g. array.astype(np.int32))"
        )
    if not 1 <= array.ndim <= MAX_DIMENSIONS:
        raise IDXError(
            f"cannot write an array of {array.ndim} dimensions as IDX; expected 1 to "
            f"{MAX_DIMENSIONS} (shape {array.shape})"
        )
    if max(array.shape) > _MAX_DIMENSION_SIZE:
        raise IDXError(
            f"cannot write shape {array.shape} as IDX; each dimension must fit a uint32 "
            f"(at most {_MAX_DIMENSION_SIZE})"
        )
    header = struct.pack(f">BBBB{array.ndim}I", 0, 0, code, array.ndim, *array.shape)
    big_endian = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder(">"))
    data = memoryview(big_endian.reshape(-1).view(np.uint8))
    path = Path(path)
    with atomic_file(path) as file:
        if path.name.endswith(".gz"):
            with gzip.GzipFile(
                filename=path.name, mode="wb", fileobj=file, compresslevel=6, mtime=0
            ) as compressed:
                compressed.write(header)
                compressed.write(data)
        else:
            file.write(header)
            file.write(data)
    return path
