"""Model files: one ``.safetensors`` file holding the tensors and a JSON description.

The safetensors layout (https://github.com/huggingface/safetensors), written and read here with
NumPy alone:

    8 bytes    N, the header length, unsigned little-endian
    N bytes    JSON: {"<tensor name>": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]},
                      ..., "__metadata__": {"format": "nnet", "nnet": "<our JSON, as a string>"}}
    the rest   the tensors' bytes, little-endian, C order, back to back

The tensors are ``layers.<i>.W`` and ``layers.<i>.b`` for the i-th Dense layer (checkpoints add
``optimizer.<name>`` and ``trainer.best_parameters``). Our JSON holds the format version, the
nnet version, the layer list (sizes, activations, dropout rates), the cost, the input shape and
preprocessing, the class names, and what the caller adds: training settings, history, scores.
It also holds the SHA-256 of the tensor bytes, so a file altered after it was written is caught.

Loading checks everything before it builds anything: the header's bounds and JSON, every dtype,
shape and offset, the format and its version, that the layer list is one nnet can build, that
every tensor it needs is there with the right shape, the digest, and that every value is finite.
Nothing in a file is ever executed: no pickle anywhere.

Writes are atomic: the bytes go to a temporary file in the same folder, are flushed to disk, and
the file is renamed over the target, so a crash leaves either the old file or the new one.
"""

from __future__ import annotations

import hashlib
import json
import struct
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from . import activations, losses
from ._atomic import atomic_file
from .layers import Dense, Dropout
from .network import Network

FORMAT = "nnet"
FORMAT_VERSION = 1
#: A header larger than this is not a model file of ours (100 MB of JSON).
MAX_HEADER_BYTES = 100 * 1024 * 1024

_DTYPES = {"F32": np.dtype("<f4"), "F64": np.dtype("<f8"), "I64": np.dtype("<i8"), "U8": np.dtype("u1")}
_CODES = {np.dtype(value).newbyteorder("="): key for key, value in _DTYPES.items()}


class ModelFileError(ValueError):
    """A model file that cannot be read: names the file and what was expected and found."""


# -- the safetensors container -------------------------------------------------------------


def write_safetensors(path, tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> None:
    """Write ``tensors`` and string ``metadata`` to ``path`` in the safetensors format, atomically."""
    header: dict = {"__metadata__": metadata}
    offset = 0
    arrays = []
    for name, array in tensors.items():
        array = np.ascontiguousarray(array)
        code = _CODES.get(array.dtype.newbyteorder("="))
        if code is None:
            raise TypeError(f"tensor {name!r} has dtype {array.dtype}; supported: float32, float64, int64, uint8")
        data = array.astype(_DTYPES[code], copy=False)
        header[name] = {"dtype": code, "shape": list(array.shape), "data_offsets": [offset, offset + data.nbytes]}
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
        raise ModelFileError(f"{path}: not a safetensors file: {len(blob)} bytes, shorter than the 8-byte header length")
    (header_length,) = struct.unpack("<Q", blob[:8])
    if header_length > min(MAX_HEADER_BYTES, len(blob) - 8):
        raise ModelFileError(
            f"{path}: not a safetensors file, or truncated: the header claims {header_length} bytes "
            f"but the file has {len(blob) - 8} after the length field"
        )
    try:
        header = json.loads(blob[8 : 8 + header_length])
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
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
        dtype = _DTYPES.get(entry["dtype"])
        if dtype is None:
            raise ModelFileError(f"{where}: dtype {entry['dtype']!r} is not one of {sorted(_DTYPES)}")
        shape, offsets = entry["shape"], entry["data_offsets"]
        if not (isinstance(shape, list) and all(isinstance(s, int) and s >= 0 for s in shape)):
            raise ModelFileError(f"{where}: shape must be a list of non-negative integers; got {shape!r}")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(o, int) for o in offsets)):
            raise ModelFileError(f"{where}: data_offsets must be [begin, end]; got {offsets!r}")
        begin, end = offsets
        expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
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


# -- nnet models ---------------------------------------------------------------------------


def save(network: Network, path, *, metadata: dict | None = None, extra_tensors: dict | None = None) -> Path:
    """Save ``network`` to ``path`` (a ``.safetensors`` file), atomically.

    Parameters
    ----------
    metadata : dict, optional
        JSON-serialisable facts to keep with the model, e.g. ``classes`` (list of str),
        ``input`` ({"shape": [28, 28], ...}), ``training`` (the settings), ``history``
        (``History.to_dict()``), ``scores``. Merged over ``network.metadata``.
    extra_tensors : dict, optional
        More arrays to store (checkpoints use it for optimizer state).
    """
    kept = {key: value for key, value in getattr(network, "metadata", {}).items() if key != "checkpoint"}
    meta = {**kept, **(metadata or {})}
    meta.setdefault("classes", [str(i) for i in range(network.n_outputs)])
    meta.setdefault("input", {"shape": [network.n_inputs], "preprocessing": "floats; uint8 pixels are divided by 255"})
    tensors = {}
    for index, layer in enumerate(network.dense_layers):
        tensors[f"layers.{index}.W"] = layer.W
        tensors[f"layers.{index}.b"] = layer.b
    for name, array in (extra_tensors or {}).items():
        if name in tensors:
            raise ValueError(f"extra tensor {name!r} clashes with a layer tensor")
        tensors[name] = np.asarray(array)
    description = {
        **meta,  # first: the fields computed below (layers, digest, versions) always win
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "nnet_version": _nnet_version(),
        "saved_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "dtype": network.dtype.name,
        "cost": network.cost.name,
        "init": network.init,
        "seed": network.seed,
        "layers": _layer_list(network),
        "data_sha256": _digest(tensors),
    }
    try:
        text = json.dumps(description, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise ValueError(f"metadata must be JSON-serialisable with finite numbers: {error}") from None
    write_safetensors(path, tensors, {"format": FORMAT, "nnet": text})
    return Path(path)


def load(path) -> Network:
    """Load a network saved by :func:`save`, checking every field; ``net.metadata`` holds the
    description (classes, input, training, history, scores ...).

    Raises ModelFileError naming the file and the problem.
    """
    network, _ = load_with_tensors(path)
    return network


def load_with_tensors(path) -> tuple[Network, dict[str, np.ndarray]]:
    """Like :func:`load`, also returning the tensors that are not layer parameters."""
    path = Path(path)
    tensors, container = read_safetensors(path)
    if container.get("format") != FORMAT or "nnet" not in container:
        raise ModelFileError(f"{path}: a safetensors file, but not an nnet model (no nnet metadata)")
    try:
        meta = json.loads(container["nnet"])
    except json.JSONDecodeError as error:
        raise ModelFileError(f"{path}: the nnet metadata is not valid JSON: {error}") from None
    if not isinstance(meta, dict):
        raise ModelFileError(f"{path}: the nnet metadata must be a JSON object")
    version = meta.get("format_version")
    if not isinstance(version, int):
        raise ModelFileError(f"{path}: the nnet metadata has no format_version")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: written in model format version {version} by nnet {meta.get('nnet_version', '?')}; "
            f"this nnet ({_nnet_version()}) reads up to version {FORMAT_VERSION}: upgrade nnet"
        )
    if version < 1:
        raise ModelFileError(f"{path}: format_version must be >= 1; got {version}")
    layers = _build_layers(path, meta, tensors)
    if meta.get("data_sha256") != _digest(tensors):
        raise ModelFileError(f"{path}: the tensors do not match the digest stored with them: the file was altered or damaged")
    cost = meta.get("cost")
    if cost not in losses.COSTS:
        raise ModelFileError(f"{path}: cost {cost!r} is not one of {sorted(losses.COSTS)}")
    try:
        network = Network.from_layers(layers, cost=cost)
    except ValueError as error:
        raise ModelFileError(f"{path}: {error}") from None
    network.init = meta.get("init", "custom")
    network.seed = meta.get("seed")
    network.metadata = meta
    extra = {name: array for name, array in tensors.items() if not name.startswith("layers.")}
    return network, extra


def save_checkpoint(network: Network, checkpoint: dict, path, *, metadata: dict | None = None) -> Path:
    """Save a network with a training checkpoint (:meth:`nnet.Trainer.checkpoint`): optimizer
    state, history, early-stopping state and seed, so that training can resume exactly."""
    optimizer = checkpoint["optimizer"]
    extra = {f"optimizer.{name}": array for name, array in optimizer["arrays"].items()}
    if checkpoint.get("best_parameters") is not None:
        extra["trainer.best_parameters"] = checkpoint["best_parameters"]
    state = {key: value for key, value in checkpoint.items() if key not in ("optimizer", "best_parameters")}
    state["optimizer"] = {key: value for key, value in optimizer.items() if key != "arrays"}
    state["optimizer"]["arrays"] = sorted(optimizer["arrays"])
    if not np.isfinite(state.get("best_cost", 0.0)):
        state["best_cost"] = None  # JSON has no infinity
    return save(network, path, metadata={**(metadata or {}), "checkpoint": state}, extra_tensors=extra)


def load_checkpoint(path) -> tuple[Network, dict]:
    """Load what :func:`save_checkpoint` wrote: ``(network, checkpoint)`` for ``fit(resume=...)``."""
    network, extra = load_with_tensors(path)
    state = network.metadata.get("checkpoint")
    if not isinstance(state, dict) or "optimizer" not in state:
        raise ModelFileError(f"{path}: a model file, but not a training checkpoint")
    optimizer = dict(state["optimizer"])
    try:
        optimizer["arrays"] = {name: extra[f"optimizer.{name}"] for name in optimizer["arrays"]}
    except KeyError as missing:
        raise ModelFileError(f"{path}: checkpoint tensor {missing} is missing") from None
    checkpoint = {**state, "optimizer": optimizer}
    checkpoint["best_parameters"] = extra.get("trainer.best_parameters")
    if checkpoint.get("best_cost") is None:
        checkpoint["best_cost"] = float("inf")
    return network, checkpoint


def _build_layers(path, meta, tensors):
    layer_list = meta.get("layers")
    if not isinstance(layer_list, list) or not layer_list:
        raise ModelFileError(f"{path}: the nnet metadata has no layer list")
    dtype = meta.get("dtype")
    if dtype not in ("float32", "float64"):
        raise ModelFileError(f"{path}: dtype must be float32 or float64; got {dtype!r}")
    layers, dense_index = [], 0
    zeros = lambda rng, n_out, n_in: (np.zeros((n_out, n_in)), np.zeros(n_out))  # noqa: E731
    for position, entry in enumerate(layer_list):
        where = f"{path}: layer {position}"
        kind = entry.get("kind") if isinstance(entry, dict) else None
        if kind == "dense":
            n_in, n_out, name = entry.get("n_in"), entry.get("n_out"), entry.get("activation")
            if not (isinstance(n_in, int) and isinstance(n_out, int) and n_in > 0 and n_out > 0):
                raise ModelFileError(f"{where}: n_in and n_out must be positive integers; got {n_in!r}, {n_out!r}")
            if name not in activations.ACTIVATIONS:
                raise ModelFileError(f"{where}: activation {name!r} is not one of {sorted(activations.ACTIVATIONS)}")
            layer = Dense(n_in, n_out, name, init=zeros, dtype=dtype)
            for symbol, shape in (("W", (n_out, n_in)), ("b", (n_out,))):
                key = f"layers.{dense_index}.{symbol}"
                array = tensors.get(key)
                if array is None:
                    raise ModelFileError(f"{where}: tensor {key!r} is missing")
                if array.shape != shape:
                    raise ModelFileError(f"{where}: tensor {key!r} has shape {array.shape}; the layer list says {shape}")
                if not np.isfinite(array).all():
                    raise ModelFileError(f"{where}: tensor {key!r} holds NaN or infinite values")
                setattr(layer, symbol, array)
            dense_index += 1
        elif kind == "dropout":
            rate = entry.get("rate")
            if not isinstance(rate, (int, float)) or not 0 <= rate < 1:
                raise ModelFileError(f"{where}: dropout rate must be in [0, 1); got {rate!r}")
            layer = Dropout(float(rate), size=entry.get("size"))
        else:
            raise ModelFileError(f"{where}: kind must be 'dense' or 'dropout'; got {entry!r}")
        layers.append(layer)
    unused = sorted(name for name in tensors if name.startswith("layers.") and int(name.split(".")[1]) >= dense_index)
    if unused:
        raise ModelFileError(f"{path}: tensors {unused} belong to no layer in the layer list")
    return layers


def _layer_list(network: Network) -> list[dict]:
    entries = []
    for layer in network.layers:
        if isinstance(layer, Dense):
            entries.append({"kind": "dense", "n_in": layer.n_in, "n_out": layer.n_out, "activation": layer.activation.name})
        else:
            entries.append({"kind": "dropout", "rate": layer.rate, "size": layer.n_in})
    return entries


def _digest(tensors: dict[str, np.ndarray]) -> str:
    """SHA-256 over the tensors' names, dtypes, shapes and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        array = np.ascontiguousarray(tensors[name])
        digest.update(f"{name}:{array.dtype.str}:{array.shape};".encode())
        digest.update(memoryview(array).cast("B"))
    return digest.hexdigest()


def _nnet_version() -> str:
    from . import __version__

    return __version__
