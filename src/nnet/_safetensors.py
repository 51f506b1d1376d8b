"""The safetensors container (https://github.com/huggingface/safetensors), written and read with
NumPy alone:

    8 bytes    N, the header length, unsigned little-endian
    N bytes    JSON: {"<tensor name>": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]},
                      ..., "__metadata__": {"<key>": "<string>", ...}}
    the rest   the tensors' bytes, little-endian, C order, back to back

Reading checks the header's bounds and JSON and every tensor's dtype, shape and offsets (no gap,
no overlap, nothing after the last tensor); what the tensors and metadata mean is
:mod:`nnet.serialization`'s business. Writes are atomic (:mod:`nnet._atomic`).
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import numpy as np

from ._atomic import atomic_file

#: A header larger than this is not a model file of ours (100 MB of JSON).
MAX_HEADER_BYTES = 100 * 1024 * 1024

_DTYPES = {"F32": np.dtype("<f4"), "F64": np.dtype("<f8"), "I64": np.dtype("<i8"), "U8": np.dtype("u1")}
_CODES = {np.dtype(value).newbyteorder("="): key for key, value in _DTYPES.items()}


class ModelFileError(ValueError):
    """A model file that cannot be read: names the file and what was expected and found."""


def write_safetensors(path, tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> None:
    """Write ``tensors`` and string ``metadata`` to ``path`` in the safetensors format, atomically."""
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
    with atomic_file(path) as file:
        file.write(struct.pack("<Q", len(header_bytes)))
        file.write(header_bytes)
        for data in arrays:
            file.write(memoryview(data).cast("B"))


def read_safetensors(path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Read a safetensors file: ``(tensors, metadata)``. Raises ModelFileError on any defect."""
    path = Path(path)
    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        raise ModelFileError(f"{path}: no such model file") from None
    except IsADirectoryError:
        raise ModelFileError(f"{path}: is a folder, not a model file") from None
    if len(blob) < 8:
        raise ModelFileError(
            f"{path}: not a safetensors file, or truncated: {len(blob)} bytes, shorter than the 8-byte header length"
        )
    (header_length,) = struct.unpack("<Q", blob[:8])
    if header_length > min(MAX_HEADER_BYTES, len(blob) - 8):
        raise ModelFileError(
            f"{path}: not a safetensors file, or truncated: the header claims {header_length} bytes "
            f"but the file has {len(blob) - 8} after the length field"
        )
    try:
        header = json.loads(blob[8 : 8 + header_length])
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise ModelFileError(f"{path}: the safetensors header (bytes 8 to {8 + header_length}) is not valid JSON: {error}") from None
    if not isinstance(header, dict):
        raise ModelFileError(f"{path}: the safetensors header must be a JSON object; got {type(header).__name__}")
    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise ModelFileError(f"{path}: __metadata__ must map strings to strings")
    data = memoryview(blob)[8 + header_length :]
    tensors = {}
    spans = []
    for name, entry in header.items():
        where = f"{path}: tensor {name!r}"
        if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
            raise ModelFileError(f"{where}: expected {{dtype, shape, data_offsets}}; got {entry!r}")
        dtype = _DTYPES.get(entry["dtype"]) if isinstance(entry["dtype"], str) else None
        if dtype is None:
            raise ModelFileError(f"{where}: dtype {entry['dtype']!r} is not one of {sorted(_DTYPES)}")
        shape, offsets = entry["shape"], entry["data_offsets"]
        if not (isinstance(shape, list) and all(type(s) is int and s >= 0 for s in shape)):
            raise ModelFileError(f"{where}: shape must be a list of non-negative integers; got {shape!r}")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(type(o) is int for o in offsets)):
            raise ModelFileError(f"{where}: data_offsets must be [begin, end]; got {offsets!r}")
        begin, end = offsets
        expected = math.prod(shape) * dtype.itemsize
        if not 0 <= begin <= end <= len(data) or end - begin != expected:
            raise ModelFileError(
                f"{where}: data_offsets {offsets} do not fit: shape {shape} of {entry['dtype']} needs "
                f"{expected} bytes, and the data section has {len(data)} bytes (the file may be truncated)"
            )
        spans.append((begin, end, name))
        tensors[name] = np.frombuffer(data[begin:end], dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))
    position = 0
    for begin, end, name in sorted(spans):
        if begin != position:
            raise ModelFileError(f"{path}: tensor {name!r} starts at byte {begin} of the data section; expected {position} (gap or overlap)")
        position = end
    if position != len(data):
        raise ModelFileError(f"{path}: {len(data) - position} unexpected bytes after the last tensor")
    return tensors, metadata


def little_endian(name: str, array) -> tuple[str, np.ndarray]:
    """A tensor's safetensors dtype code and its C-ordered little-endian array."""
    array = np.ascontiguousarray(array)
    code = _CODES.get(array.dtype.newbyteorder("="))
    if code is None:
        raise TypeError(f"tensor {name!r} has dtype {array.dtype}; supported: float32, float64, int64, uint8")
    return code, array.astype(_DTYPES[code], copy=False)
