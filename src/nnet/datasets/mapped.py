"""Training images that stay on disk: memory-mapped, each row read when a minibatch needs it.

In data-parallel training (:mod:`nnet.distributed`) every process knows the whole shuffled order
of an epoch (it is drawn from the run's seed) but backpropagates only its rows of each batch.
With the images memory-mapped, a process reads from disk only the rows it takes
(``ndarray.take`` on the map touches just their pages), and no process needs the memory of the
whole set: the data need not fit on one machine, only be readable from every one (a shared
filesystem, or a copy on each node).

A file can be mapped when its rows lie in it as they lie in memory:

- an uncompressed IDX file of uint8 images (``train-images-idx3-ubyte``, not ``.gz``);
- an ``.npz`` member stored without compression (``np.savez``, not ``np.savez_compressed``)
  holding uint8 images of shape (n, pixels) or (n, rows, columns).

Compressed files cannot be read by rows (a gzip or deflate stream is read from its start):
their callers read them whole, as before. The labels are always read whole (a few bytes a row).
"""

from __future__ import annotations

import os
import struct
import zipfile
from pathlib import Path

import numpy as np

from .errors import DataFormatError, DatasetError
from .idx import _read_header, read_idx
from .streams import PrefixedStream

__all__ = ["map_idx", "map_labelled_images", "map_npz_images"]

#: The fixed part of a zip member's local header: signature, versions, flags ... name and extra lengths.
_LOCAL_HEADER = struct.Struct("<4s5H3L2H")
_LOCAL_SIGNATURE = b"PK\x03\x04"


def map_idx(path: str | os.PathLike[str]) -> np.ndarray | None:
    """The array of an uncompressed IDX file, memory-mapped read-only; None for a gzip file.

    The header is checked as :func:`nnet.datasets.read_idx` checks it, and the file must hold
    exactly the bytes it declares. Multi-byte element types (stored big-endian) come as
    big-endian arrays.
    """
    path = Path(path)
    with open(path, "rb") as file:
        start = file.read(2)
        if start == b"\x1f\x8b":
            return None
        dtype, shape, header = _read_header(PrefixedStream(file, start), str(path))
    expected = int(np.prod(shape)) * dtype.itemsize
    size = path.stat().st_size
    if size - header != expected:
        raise DatasetError(
            f"{path}: shape {shape} of {dtype} needs {expected} data bytes from byte offset {header}; "
            f"the file has {size - header}"
        )
    return np.memmap(path, dtype=dtype.newbyteorder(">"), mode="r", offset=header, shape=shape)


def map_labelled_images(images_file, labels_file) -> tuple[np.ndarray, np.ndarray] | None:
    """An uncompressed IDX image file (memory-mapped, (n, rows, columns) uint8) and its labels
    (read, int64 (n,)), checked as :func:`nnet.datasets.read_labelled_images` checks them; None
    when the image file is compressed."""
    images = map_idx(images_file)
    if images is None:
        return None
    if images.dtype != np.uint8 or images.ndim != 3:
        raise DatasetError(f"{images_file}: expected uint8 images of shape (n, rows, columns), got {images.dtype} of shape {images.shape}")
    labels = read_idx(labels_file)
    if labels.ndim != 1 or labels.dtype.kind not in "ui":
        raise DatasetError(f"{labels_file}: expected integer labels of shape (n,), got {labels.dtype} of shape {labels.shape}")
    if len(labels) != len(images):
        raise DatasetError(
            f"label count mismatch: {labels_file} holds {len(labels)} labels but {images_file} holds {len(images)} images"
        )
    return images, labels.astype(np.int64)


def map_npz_images(path: str | os.PathLike[str], name: str) -> np.ndarray | None:
    """The member ``name`` of an ``.npz`` archive, memory-mapped, when it is stored without
    compression and holds uint8 images ((n, pixels) or (n, rows, columns)); else None (read it
    whole instead). The result is (n, pixels)."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo(f"{name}.npy")
    except (KeyError, zipfile.BadZipFile, OSError):
        return None  # the whole-file reader says what is wrong, as before
    if info.compress_type != zipfile.ZIP_STORED:
        return None
    with open(path, "rb") as file:
        file.seek(info.header_offset)
        local = file.read(_LOCAL_HEADER.size)
        if len(local) != _LOCAL_HEADER.size or local[:4] != _LOCAL_SIGNATURE:
            raise DataFormatError(f"{path}: member {name!r} has no local zip header at byte offset {info.header_offset}")
        name_length, extra_length = _LOCAL_HEADER.unpack(local)[-2:]
        file.seek(info.header_offset + _LOCAL_HEADER.size + name_length + extra_length)
        try:
            version = np.lib.format.read_magic(file)
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, fortran, dtype = read_header(file)
        except ValueError as error:
            raise DataFormatError(f"{path}: member {name!r} is not a .npy array: {error}") from None
        offset = file.tell()
    if dtype != np.uint8 or fortran or len(shape) not in (2, 3) or not shape[0]:
        return None
    images = np.memmap(path, dtype=np.uint8, mode="r", offset=offset, shape=shape)
    return images.reshape(shape[0], -1)
