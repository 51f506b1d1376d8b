"""The safetensors container (https://github.com/huggingface/safetensors), written and read with
NumPy alone:

    8 bytes    N, the header length, unsigned little-endian
    N bytes    JSON: {"<tensor name>": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]},
                      ..., "__metadata__": {"<key>": "<string>", ...}}
    the rest   the tensors' bytes, little-endian, C order, back to back

Reading trusts nothing the file claims until the bytes are there to back it: the file must be a
regular file; the header at most ``limits.MAX_HEADER_BYTES`` and no longer than the file; its JSON
without NaN, without integers of more than ``limits.MAX_INTEGER_DIGITS`` digits, nested no deeper
than Python can parse; every tensor a known dtype, a shape of at most
``limits.MAX_TENSOR_DIMENSIONS`` dimensions that (even with a zero in it) claims no more than
the data section holds (no more elements than the file has bytes), and offsets that tile the data section exactly (no gap, no overlap,
nothing after the last tensor). Only then is each tensor allocated, at the size its offsets
cover, and read straight into place. Whatever is wrong is a :class:`ModelFileError` naming the
file and the defect; what the tensors and metadata mean is :mod:`nnet.serialization`'s business.

Why not the ``safetensors`` package's own parser: nnet must read its files with NumPy alone, so
this reader has to be safe on its own; the package leaves a shape of 100 dimensions or
``[0, 2**62, 2**62]`` to NumPy's ValueError, bounds the header at 100 MB, and is slower and
holds the file twice: a 140 MB model takes it 88 ms and 300 MB, this reader 27 ms and 140 MB
(``benchmarks/container.py``). The package serves instead as the independent oracle of this
reader in the tests (tests/test_container.py).

Writes are atomic (:mod:`nnet._atomic`).
"""

from __future__ import annotations

import json
import math
import os
import stat
import struct
from pathlib import Path

import numpy as np

from . import limits
from ._atomic import atomic_file

_DTYPES = {"F32": np.dtype("<f4"), "F64": np.dtype("<f8"), "I64": np.dtype("<i8"), "U8": np.dtype("u1")}
_CODES = {np.dtype(value).newbyteorder("="): key for key, value in _DTYPES.items()}
_LENGTH = struct.Struct("<Q")


class ModelFileError(ValueError):
    """A model file that cannot be read: names the file and what was expected and found."""


def write_safetensors(path, tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> None:
    """Write ``tensors`` and string ``metadata`` to ``path`` in the safetensors format, atomically.

    Raises ValueError, before writing anything, if the header would be larger than readers
    accept (``limits.MAX_HEADER_BYTES``).
    """
    header: dict = {"__metadata__": metadata}
    offset = 0
    arrays = []
    for name, array in tensors.items():
        code, data = little_endian(name, array)
        header[name] = {"dtype": code, "shape": list(data.shape), "data_offsets": [offset, offset + data.nbytes]}
        offset += data.nbytes
        arrays.append(data)
    header_bytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    header_bytes += b" " * (-len(header_bytes) % 8)  # pad so the data starts 8-byte aligned
    if len(header_bytes) > limits.MAX_HEADER_BYTES:
        raise ValueError(
            f"the model file's header would be {len(header_bytes):,} bytes; model files hold at most "
            f"{limits.MAX_HEADER_BYTES:,} (nnet.limits.MAX_HEADER_BYTES): keep less metadata"
        )
    with atomic_file(path) as file:
        file.write(_LENGTH.pack(len(header_bytes)))
        file.write(header_bytes)
        for data in arrays:
            if data.nbytes:  # (a view with a zero in its shape cannot be cast to bytes)
                file.write(memoryview(data).cast("B"))


def read_safetensors(path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Read a safetensors file: ``(tensors, metadata)``, every tensor a new native-order array.

    Raises ModelFileError on any defect, before allocating anything at a size the file claims.
    """
    path = Path(path)
    try:
        file = open(path, "rb")
    except FileNotFoundError:
        raise ModelFileError(f"{path}: no such model file") from None
    except IsADirectoryError:
        raise ModelFileError(f"{path}: is a folder, not a model file") from None
    with file:
        info = os.fstat(file.fileno())
        if stat.S_ISDIR(info.st_mode):
            raise ModelFileError(f"{path}: is a folder, not a model file")
        if not stat.S_ISREG(info.st_mode):
            raise ModelFileError(f"{path}: not a regular file (a device or a pipe?); expected a model file")
        size = info.st_size
        header = _header(path, file, size)
        metadata = header.pop("__metadata__", {})
        if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
            raise ModelFileError(f"{path}: __metadata__ must map strings to strings")
        data_size = size - file.tell()
        spans = sorted(((*_span(path, name, entry, data_size, size), name) for name, entry in header.items()),
                       key=lambda span: span[:2])
        position = 0
        for begin, end, _, _, name in spans:
            if begin != position:
                raise ModelFileError(
                    f"{path}: tensor {_brief(name)} starts at byte {begin} of the data section; expected {position} "
                    f"(gap or overlap)"
                )
            position = end
        if position != data_size:
            raise ModelFileError(f"{path}: {data_size - position} unexpected bytes after the last tensor")
        tensors = {}
        for begin, end, dtype, shape, name in spans:  # in file order: each read lands in place
            array = np.empty(shape, dtype.newbyteorder("="))
            if array.nbytes and file.readinto(memoryview(array.reshape(-1)).cast("B")) != end - begin:
                raise ModelFileError(f"{path}: the file ended inside tensor {_brief(name)}: truncated (or changed while read)")
            if dtype.itemsize > 1 and not np.little_endian:
                array.byteswap(inplace=True)  # the file is little-endian
            tensors[name] = array
    return tensors, metadata


def _header(path: Path, file, size: int) -> dict:
    """The header's JSON object, its length checked against the file and the bound first."""
    if size < _LENGTH.size:
        raise ModelFileError(
            f"{path}: not a safetensors file, or truncated: {size} bytes, shorter than the 8-byte header length"
        )
    (length,) = _LENGTH.unpack(file.read(_LENGTH.size))
    if length > size - _LENGTH.size:
        raise ModelFileError(
            f"{path}: not a safetensors file, or truncated: the header claims {length} bytes "
            f"but the file has {size - _LENGTH.size} after the length field"
        )
    if length > limits.MAX_HEADER_BYTES:
        raise ModelFileError(
            f"{path}: not an nnet model file: its header claims {length:,} bytes; a model's header is at most "
            f"{limits.MAX_HEADER_BYTES:,} (nnet.limits.MAX_HEADER_BYTES)"
        )
    text = file.read(length)
    where = f"{path}: the safetensors header (bytes 8 to {8 + length})"
    if len(text) != length:
        raise ModelFileError(f"{where} is cut short: truncated (or changed while read)")
    try:
        header = json.loads(text, parse_int=_bounded_int, parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:  # JSONDecodeError is a ValueError
        reason = "nested too deeply" if isinstance(error, RecursionError) else error
        raise ModelFileError(f"{where} is not valid JSON: {reason}") from None
    if not isinstance(header, dict):
        raise ModelFileError(f"{path}: the safetensors header must be a JSON object; got {type(header).__name__}")
    return header


def _span(path: Path, name: str, entry, data_size: int, file_size: int) -> tuple[int, int, np.dtype, tuple[int, ...]]:
    """A tensor's ``(begin, end, dtype, shape)``, checked against the data section's size, and
    its shape, even with a zero in it, against the file's: no more elements than it has bytes."""
    where = f"{path}: tensor {_brief(name)}"
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        raise ModelFileError(f"{where}: expected {{dtype, shape, data_offsets}}; got {_brief(entry)}")
    dtype = _DTYPES.get(entry["dtype"]) if isinstance(entry["dtype"], str) else None
    if dtype is None:
        raise ModelFileError(f"{where}: dtype {_brief(entry['dtype'])} is not one of {sorted(_DTYPES)}")
    shape, offsets = entry["shape"], entry["data_offsets"]
    if not (isinstance(shape, list) and all(type(s) is int and s >= 0 for s in shape)):
        raise ModelFileError(f"{where}: shape must be a list of non-negative integers; got {_brief(shape)}")
    if len(shape) > limits.MAX_TENSOR_DIMENSIONS:
        raise ModelFileError(
            f"{where}: shape has {len(shape)} dimensions; at most {limits.MAX_TENSOR_DIMENSIONS} "
            f"(nnet.limits.MAX_TENSOR_DIMENSIONS)"
        )
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(type(o) is int for o in offsets)):
        raise ModelFileError(f"{where}: data_offsets must be [begin, end]; got {_brief(offsets)}")
    begin, end = offsets
    needed = math.prod(shape) * dtype.itemsize
    claimed = math.prod(max(s, 1) for s in shape)  # a zero does not excuse the rest
    if not 0 <= begin <= end <= data_size or end - begin != needed or claimed > file_size:
        raise ModelFileError(
            f"{where}: data_offsets {_brief(offsets)} do not fit: shape {_brief(shape)} of {entry['dtype']} needs "
            f"{needed} bytes, and the data section has {data_size} bytes (the file may be truncated)"
        )
    return begin, end, dtype, tuple(shape)


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > limits.MAX_INTEGER_DIGITS:
        raise ValueError(f"an integer of {len(text)} digits; at most {limits.MAX_INTEGER_DIGITS}")
    return int(text)


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _brief(value, limit: int = 80) -> str:
    """``repr(value)``, cut to ``limit`` characters: a hostile file's values go into messages."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 5]}...{text[-2:]}"


def little_endian(name: str, array) -> tuple[str, np.ndarray]:
    """A tensor's safetensors dtype code and its C-ordered little-endian array."""
    array = np.ascontiguousarray(array)
    code = _CODES.get(array.dtype.newbyteorder("="))
    if code is None:
        raise TypeError(f"tensor {name!r} has dtype {array.dtype}; supported: float32, float64, int64, uint8")
    return code, array.astype(_DTYPES[code], copy=False)
