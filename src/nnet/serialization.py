"""Model files: one ``.safetensors`` file holding the tensors and a JSON description.

The safetensors layout (https://github.com/huggingface/safetensors), written and read by
:mod:`nnet._safetensors` with NumPy alone:

    8 bytes    N, the header length, unsigned little-endian
    N bytes    JSON: {"<tensor name>": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]},
                      ..., "__metadata__": {"format": "nnet", "nnet": "<our JSON, as a string>"}}
    the rest   the tensors' bytes, little-endian, C order, back to back

The tensors are ``layers.<i>.W`` and ``layers.<i>.b`` for the i-th Dense layer (checkpoints add
``optimizer.<name>`` and ``trainer.best_parameters``). Our JSON holds the format version, the
nnet version, the layer list (sizes, activations with their parameters, dropout rates), the cost,
the input shape and preprocessing, the class names, and what the caller adds: training settings,
history, scores. It also holds two SHA-256 digests, so a file altered after it was written is
caught: ``data_sha256`` of the tensors, and ``meta_sha256`` of the description itself (its
canonical JSON, without ``meta_sha256``; so it covers ``data_sha256`` too).

Loading checks everything before it builds anything: the header's bounds and JSON, every dtype,
shape and offset, the format and its version, the digests, that the layer list is one nnet can
build, that every tensor it needs is there with the right dtype and shape and nothing else is,
that every value is finite, and the fields other parts of nnet read (classes, input, history,
scores). Nothing in a file is ever executed: no pickle anywhere.

Writes are atomic (:mod:`nnet._atomic`): a crash leaves either the old file or the new one.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from . import activations, losses
from ._safetensors import MAX_HEADER_BYTES, ModelFileError, little_endian, read_safetensors, write_safetensors  # noqa: F401
from .layers import Dense, Dropout
from .network import Network

FORMAT = "nnet"
FORMAT_VERSION = 1

#: The tensor names nnet writes: layer parameters, and a checkpoint's optimizer and trainer state.
_LAYER_TENSOR = re.compile(r"layers\.(0|[1-9][0-9]*)\.(W|b)")
_EXTRA_PREFIXES = ("optimizer.", "trainer.")
#: The constructor arguments each parametrised activation keeps in its layer entry.
_ACTIVATION_PARAMETERS = {"leaky_relu": ("slope",)}


# -- nnet models ---------------------------------------------------------------------------


def save(network: Network, path, *, metadata: dict | None = None, extra_tensors: dict | None = None) -> Path:
    """Save ``network`` to ``path`` (a ``.safetensors`` file), atomically.

    Parameters
    ----------
    metadata : dict, optional
        JSON-serialisable facts to keep with the model, e.g. ``classes`` (list of str, one per
        answer: ``max(n_outputs, 2)``), ``input`` ({"shape": [28, 28], ...}), ``training`` (the
        settings), ``history`` (``History.to_dict()``), ``scores``. Merged over ``network.metadata``.
    extra_tensors : dict, optional
        More arrays to store, named ``optimizer.<name>`` or ``trainer.<name>`` (checkpoints).
    """
    kept = {key: value for key, value in getattr(network, "metadata", {}).items() if key != "checkpoint"}
    meta = {**kept, **(metadata or {})}
    meta.setdefault("classes", [str(i) for i in range(max(network.n_outputs, 2))])
    meta.setdefault("input", {"shape": [network.n_inputs], "preprocessing": "floats; uint8 pixels are divided by 255"})
    tensors = {}
    for index, layer in enumerate(network.dense_layers):
        tensors[f"layers.{index}.W"] = layer.W
        tensors[f"layers.{index}.b"] = layer.b
    for name, array in (extra_tensors or {}).items():
        if not (isinstance(name, str) and name.startswith(_EXTRA_PREFIXES)):
            raise ValueError(f"extra tensor {name!r}: names must start with one of {list(_EXTRA_PREFIXES)}")
        tensors[name] = np.asarray(array)
    description = {
        **meta,  # first: the fields computed below (layers, digests, versions) always win
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "nnet_version": _nnet_version(),
        "saved_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "dtype": network.dtype.name,
        "cost": network.cost.name,
        "init": network.init if isinstance(network.init, str) else getattr(network.init, "__name__", "custom"),
        "seed": _plain_seed(network.seed),
        "layers": _layer_list(network),
        "data_sha256": _digest(tensors),
    }
    description.pop("meta_sha256", None)
    try:  # through JSON and back: tuples become lists, keys strings, as a reader will see them
        description = json.loads(json.dumps(description, allow_nan=False))
    except (TypeError, ValueError) as error:
        raise ValueError(f"metadata must be JSON-serialisable with finite numbers: {error}") from None
    problem = _description_problem(description, network.n_inputs, network.n_outputs)
    if problem:
        raise ValueError(f"cannot save this metadata: {problem}")
    description["meta_sha256"] = _meta_digest(description)
    write_safetensors(path, tensors, {"format": FORMAT, "nnet": json.dumps(description)})
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
    meta = _parse_description(path, container["nnet"])
    for name in tensors:
        if not (_LAYER_TENSOR.fullmatch(name) or name.startswith(_EXTRA_PREFIXES)):
            raise ModelFileError(
                f"{path}: tensor {name!r} is not one nnet writes (layers.<i>.W, layers.<i>.b, "
                f"optimizer.<name>, trainer.<name>)"
            )
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
    problem = _description_problem(meta, network.n_inputs, network.n_outputs)
    if problem:
        raise ModelFileError(f"{path}: {problem}")
    network.init = meta.get("init", "custom")
    network.seed = meta.get("seed")
    network.metadata = meta
    extra = {name: array for name, array in tensors.items() if not _LAYER_TENSOR.fullmatch(name)}
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
    problem = _checkpoint_problem(state)
    if problem:
        raise ModelFileError(f"{path}: checkpoint {problem}")
    optimizer = dict(state["optimizer"])
    listed = {f"optimizer.{name}" for name in optimizer["arrays"]} | {"trainer.best_parameters"}
    unlisted = sorted(set(extra) - listed)
    if unlisted:
        raise ModelFileError(f"{path}: tensors {unlisted} are not part of the checkpoint")
    try:
        optimizer["arrays"] = {name: extra[f"optimizer.{name}"] for name in optimizer["arrays"]}
    except KeyError as missing:
        raise ModelFileError(f"{path}: checkpoint tensor {missing} is missing") from None
    best = extra.get("trainer.best_parameters")
    if best is not None and best.shape != network.parameters.shape:
        raise ModelFileError(
            f"{path}: checkpoint tensor 'trainer.best_parameters' has shape {best.shape}; "
            f"the network has {network.parameters.shape}"
        )
    for name, array in [*optimizer["arrays"].items(), ("best_parameters", best)]:
        if array is not None and not np.isfinite(array).all():
            raise ModelFileError(f"{path}: checkpoint tensor {name!r} holds NaN or infinite values")
    checkpoint = {**state, "optimizer": optimizer}
    checkpoint["best_parameters"] = best
    if checkpoint.get("best_cost") is None:
        checkpoint["best_cost"] = float("inf")
    return network, checkpoint


# -- checks --------------------------------------------------------------------------------


def _parse_description(path, text: str) -> dict:
    """The nnet JSON of a file, its version and digest checked."""

    def no_constants(name):
        raise ValueError(f"{name} is not a JSON number")

    def finite(text):
        if not math.isfinite(float(text)):
            raise ValueError(f"{text} is out of range")
        return float(text)

    try:
        meta = json.loads(text, parse_constant=no_constants, parse_float=finite)
    except (ValueError, RecursionError) as error:
        raise ModelFileError(f"{path}: the nnet metadata is not valid JSON: {error}") from None
    if not isinstance(meta, dict):
        raise ModelFileError(f"{path}: the nnet metadata must be a JSON object")
    version = meta.get("format_version")
    if type(version) is not int:
        raise ModelFileError(f"{path}: the nnet metadata has no format_version (an integer); got {version!r}")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: written in model format version {version} by nnet {meta.get('nnet_version', '?')}; "
            f"this nnet ({_nnet_version()}) reads up to version {FORMAT_VERSION}: upgrade nnet"
        )
    if version < 1:
        raise ModelFileError(f"{path}: format_version must be >= 1; got {version}")
    if meta.get("meta_sha256") != _meta_digest(meta):
        raise ModelFileError(
            f"{path}: the metadata does not match the digest stored with it (meta_sha256): "
            f"the file was altered or damaged"
        )
    return meta


def _build_layers(path, meta, tensors):
    layer_list = meta.get("layers")
    if not isinstance(layer_list, list) or not layer_list:
        raise ModelFileError(f"{path}: the nnet metadata has no layer list")
    dtype = meta.get("dtype")
    if dtype not in ("float32", "float64"):
        raise ModelFileError(f"{path}: dtype must be float32 or float64; got {dtype!r}")
    layers, dense_index, previous_size = [], 0, None
    zeros = lambda rng, n_out, n_in: (np.zeros((n_out, n_in)), np.zeros(n_out))  # noqa: E731
    for position, entry in enumerate(layer_list):
        where = f"{path}: layer {position}"
        kind = entry.get("kind") if isinstance(entry, dict) else None
        if kind == "dense":
            n_in, n_out, name = entry.get("n_in"), entry.get("n_out"), entry.get("activation")
            if not (type(n_in) is int and type(n_out) is int and n_in > 0 and n_out > 0):
                raise ModelFileError(f"{where}: n_in and n_out must be positive integers; got {n_in!r}, {n_out!r}")
            if not isinstance(name, str) or name not in activations.ACTIVATIONS:
                raise ModelFileError(f"{where}: activation {name!r} is not one of {sorted(activations.ACTIVATIONS)}")
            parameters = _ACTIVATION_PARAMETERS.get(name, ())
            expected_keys = {"kind", "n_in", "n_out", "activation", *parameters}
            if set(entry) != expected_keys:
                raise ModelFileError(f"{where}: a {name} dense layer has the keys {sorted(expected_keys)}; got {sorted(entry)}")
            for key in parameters:
                if type(entry[key]) not in (int, float):
                    raise ModelFileError(f"{where}: {name} {key} must be a number; got {entry[key]!r}")
            try:
                activation = type(activations.ACTIVATIONS[name])(**{key: entry[key] for key in parameters})
            except (TypeError, ValueError) as error:
                raise ModelFileError(f"{where}: {error}") from None
            layer = Dense(n_in, n_out, activation, init=zeros, dtype=dtype)
            for symbol, shape in (("W", (n_out, n_in)), ("b", (n_out,))):
                key = f"layers.{dense_index}.{symbol}"
                array = tensors.get(key)
                if array is None:
                    raise ModelFileError(f"{where}: tensor {key!r} is missing")
                if array.shape != shape:
                    raise ModelFileError(f"{where}: tensor {key!r} has shape {array.shape}; the layer list says {shape}")
                if array.dtype != layer.dtype:
                    raise ModelFileError(f"{where}: tensor {key!r} is {array.dtype}; the model's dtype is {dtype}")
                if not np.isfinite(array).all():
                    raise ModelFileError(f"{where}: tensor {key!r} holds NaN or infinite values")
                setattr(layer, symbol, array)
            dense_index += 1
            previous_size = n_out
        elif kind == "dropout":
            rate, size = entry.get("rate"), entry.get("size")
            if set(entry) != {"kind", "rate", "size"}:
                raise ModelFileError(f"{where}: a dropout layer has the keys ['kind', 'rate', 'size']; got {sorted(entry)}")
            if type(rate) not in (int, float) or not 0 <= rate < 1:
                raise ModelFileError(f"{where}: dropout rate must be a number in [0, 1); got {rate!r}")
            if size is not None and (type(size) is not int or size != previous_size):
                raise ModelFileError(f"{where}: dropout size must be the size of the layer before it ({previous_size}); got {size!r}")
            layer = Dropout(float(rate), size=size)
        else:
            raise ModelFileError(f"{where}: kind must be 'dense' or 'dropout'; got {entry!r}")
        layers.append(layer)
    expected = {f"layers.{index}.{symbol}" for index in range(dense_index) for symbol in "Wb"}
    unused = sorted(name for name in tensors if _LAYER_TENSOR.fullmatch(name) and name not in expected)
    if unused:
        raise ModelFileError(f"{path}: tensors {unused} belong to no layer in the layer list")
    return layers


def _description_problem(meta: dict, n_inputs: int, n_outputs: int) -> str | None:
    """What is wrong with the fields of a description that other parts of nnet read, or None."""
    k = max(n_outputs, 2)
    classes = meta.get("classes")
    if classes is not None and not (isinstance(classes, list) and len(classes) == k and all(isinstance(c, str) for c in classes)):
        return f"classes must be a list of {k} strings, one per answer of the {n_outputs}-output network; got {classes!r}"
    model_input = meta.get("input")
    if model_input is not None:
        if not isinstance(model_input, dict):
            return f"input must be an object (shape, preprocessing); got {model_input!r}"
        shape = model_input.get("shape")
        if shape is not None and not (
            isinstance(shape, list) and shape and all(type(s) is int and s > 0 for s in shape) and math.prod(shape) == n_inputs
        ):
            return f"input shape must be a list of positive integers whose product is the {n_inputs} inputs; got {shape!r}"
    for key in ("scores", "training", "dataset"):
        if meta.get(key) is not None and not isinstance(meta[key], dict):
            return f"{key} must be an object; got {meta[key]!r}"
    if meta.get("history") is not None:
        problem = _history_problem(meta["history"])
        if problem:
            return f"history {problem}"
    if not isinstance(meta.get("init", ""), str):
        return f"init must be a name; got {meta['init']!r}"
    seed = meta.get("seed")
    if seed is not None and type(seed) is not int and not (isinstance(seed, list) and all(type(s) is int for s in seed)):
        return f"seed must be an integer or null; got {seed!r}"
    return None


def _history_problem(history) -> str | None:
    """Why ``History.from_dict(history)`` would fail or give nonsense, or None."""
    from .training import History  # here: training sits above serialization

    if not isinstance(history, dict) or not isinstance(history.get("epochs", []), list):
        return f"must be an object with a list of epochs; got {history!r}"
    for record in history.get("epochs", []):
        if not isinstance(record, dict) or not all(
            value is None or type(value) in (int, float) for value in record.values()
        ):
            return f"epochs must be objects of numbers; got {record!r}"
    if history.get("best_epoch") is not None and type(history["best_epoch"]) is not int:
        return f"best_epoch must be an integer; got {history['best_epoch']!r}"
    try:
        History.from_dict(history)
    except (TypeError, ValueError) as error:
        return f"cannot be read: {error}"
    return None


def _checkpoint_problem(state: dict) -> str | None:
    """What is wrong with a checkpoint's state (what ``Trainer.restore`` reads), or None."""
    for key in ("next_epoch", "seed", "epochs_without_improvement"):
        if type(state.get(key)) is not int:
            return f"{key} must be an integer; got {state.get(key)!r}"
    if state.get("best_cost") is not None and type(state["best_cost"]) not in (int, float):
        return f"best_cost must be a number or null; got {state['best_cost']!r}"
    optimizer = state["optimizer"]
    if not (
        isinstance(optimizer, dict)
        and isinstance(optimizer.get("name"), str)
        and type(optimizer.get("steps")) is int
        and isinstance(optimizer.get("arrays"), list)
        and all(isinstance(name, str) for name in optimizer["arrays"])
    ):
        return f"optimizer must hold a name, steps and a list of array names; got {optimizer!r}"
    problem = _history_problem(state.get("history"))
    return f"history {problem}" if problem else None


# -- writing helpers -----------------------------------------------------------------------


def _layer_list(network: Network) -> list[dict]:
    entries = []
    for layer in network.layers:
        if isinstance(layer, Dense):
            name = layer.activation.name
            if name not in activations.ACTIVATIONS:
                raise ValueError(f"activation {name!r} cannot be saved: only {sorted(activations.ACTIVATIONS)} can")
            entry = {"kind": "dense", "n_in": layer.n_in, "n_out": layer.n_out, "activation": name}
            for parameter in _ACTIVATION_PARAMETERS.get(name, ()):
                entry[parameter] = getattr(layer.activation, parameter)
            entries.append(entry)
        else:
            entries.append({"kind": "dropout", "rate": layer.rate, "size": layer.n_in})
    return entries


def _plain_seed(seed):
    """The seed as JSON: an int (NumPy integers too), a list of ints, or None for anything else."""
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return int(seed)
    if isinstance(seed, (list, tuple)) and all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in seed):
        return [int(s) for s in seed]
    return None


def _digest(tensors: dict[str, np.ndarray]) -> str:
    """SHA-256 over the tensors' names, dtypes, shapes and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        code, data = little_endian(name, tensors[name])
        digest.update(f"{name}:{code}:{list(data.shape)};".encode())
        digest.update(memoryview(data).cast("B"))
    return digest.hexdigest()


def _meta_digest(meta: dict) -> str:
    """SHA-256 of the description's canonical JSON, without its own digest field."""
    body = {key: value for key, value in meta.items() if key != "meta_sha256"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def _nnet_version() -> str:
    from . import __version__

    return __version__
