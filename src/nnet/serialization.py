"""Model files: one ``.safetensors`` file holding the tensors and a JSON description.

The safetensors container (https://github.com/huggingface/safetensors) is :mod:`nnet._safetensors`'
business; this module decides what goes in it:

    tensors   ``layers.<i>.W`` and ``layers.<i>.b`` for layer i (checkpoints add
              ``optimizer.<name>`` and ``trainer.best_parameters``: :mod:`nnet.checkpoints`)
    metadata  ``{"format": "nnet", "nnet": "<the description, as JSON>"}``

The description is :meth:`nnet.Network.describe` (sizes, input shape, the layer list with each
layer's index, name, kind, sizes, activation, dropout and parameter count, the cost and its
settings, the task (classification or regression; a file without one is read by
:func:`nnet.data.task_for`), the dtype),
the format version and nnet's version, how the network was made (init, seed), and what the
caller adds: classes, input preprocessing, training settings, history, scores. It also holds two
SHA-256 digests, so a file damaged after it was written is caught: ``data_sha256`` of the tensors,
and ``meta_sha256`` of the description itself (its canonical JSON without ``meta_sha256``, so it
covers ``data_sha256`` too). They catch damage, not tampering: whoever edits a file can
recompute them. Loading is safe for a hostile file on its own terms, digests or not.

Loading checks everything before it builds anything: the format and its version, the digests,
that the layer list is one nnet can build, that every tensor it needs is there with the shape the
list says and nothing else is (so nothing is ever allocated at a size the file merely claims),
that every value is finite, and the fields other parts of nnet read (classes, input, history,
scores). Nothing in a file is ever executed: no pickle anywhere.

Format versions: 2 (this nnet) keeps dropout as a rate of its layer, so "layer i" is the same
layer in the layer list, the tensor names and everywhere else; files of version 1 (nnet 0.1.0,
where dropout was an entry of its own in the layer list) are read as they are and written as
version 2.

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

from . import activations, data, layer_kinds, limits, losses
from ._version import __version__
from ._safetensors import ModelFileError, little_endian, read_safetensors, write_safetensors
from .history import History
from .layers import Dense, Layer
from .network import Network, layer_name

__all__ = ["FORMAT", "FORMAT_VERSION", "ModelFileError", "load", "load_with_tensors", "read_safetensors", "save"]

FORMAT = "nnet"
FORMAT_VERSION = 2

#: The tensor names nnet writes: layer parameters, and a checkpoint's optimizer and trainer state.
_LAYER_TENSOR = re.compile(r"layers\.(0|[1-9][0-9]*)\.(W|b)")
_EXTRA_PREFIXES = ("optimizer.", "trainer.")


# -- saving ----------------------------------------------------------------------------------


def save(network: Network, path, *, metadata: dict | None = None, extra_tensors: dict | None = None) -> Path:
    """Save ``network`` to ``path`` (a ``.safetensors`` file), atomically.

    Parameters
    ----------
    metadata : dict, optional
        JSON-serialisable facts to keep with the model, e.g. ``classes`` (list of str, one per
        answer; a regression network's ``targets`` name its outputs instead), ``input`` ({"shape": [28, 28], ...}), ``training`` (the settings), ``history``
        (``History.to_dict()``), ``scores``. Merged over ``network.metadata``.
    extra_tensors : dict, optional
        More arrays to store, named ``optimizer.<name>`` or ``trainer.<name>`` (checkpoints).
    """
    kept = {key: value for key, value in network.metadata.items() if key != "checkpoint"}
    meta = {**kept, **(metadata or {})}
    if network.task == "classification":
        meta.setdefault("classes", [str(i) for i in range(data.n_answers(network.n_outputs))])
    meta.setdefault("input", {"shape": list(network.input_shape), "preprocessing": "floats; uint8 pixels are divided by 255"})
    tensors = {}
    for index, layer in enumerate(network.layers):
        for name, array in layer.parameters.items():
            tensors[f"layers.{index}.{name}"] = array
    for name, array in (extra_tensors or {}).items():
        if not (isinstance(name, str) and name.startswith(_EXTRA_PREFIXES)):
            raise ValueError(f"extra tensor {name!r}: names must start with one of {list(_EXTRA_PREFIXES)}")
        tensors[name] = np.asarray(array)
    for layer in network.layers:
        if layer.activation.name not in activations.ACTIVATIONS:
            raise ValueError(f"activation {layer.activation.name!r} cannot be saved: only {sorted(activations.ACTIVATIONS)} can")
    description = {
        **meta,  # first: the fields computed below (layers, digests, versions) always win
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "nnet_version": __version__,
        "saved_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **network.describe(),
        "init": network.init if isinstance(network.init, str) else getattr(network.init, "__name__", "custom"),
        "seed": _plain_seed(network.seed),
        "data_sha256": _digest(tensors),
    }
    description.pop("meta_sha256", None)
    try:  # through JSON and back: tuples become lists, keys strings, as a reader will see them
        description = json.loads(json.dumps(description, allow_nan=False))
    except (TypeError, ValueError) as error:
        raise ValueError(f"metadata must be JSON-serialisable with finite numbers: {error}") from None
    problem = _description_problem(description, network)
    if problem:
        raise ValueError(f"cannot save this metadata: {problem}")
    description["meta_sha256"] = _meta_digest(description)
    write_safetensors(path, tensors, {"format": FORMAT, "nnet": json.dumps(description)})
    return Path(path)


# -- loading ---------------------------------------------------------------------------------


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
                f"{path}: tensor {name!r} is not one nnet writes (layers.<i>.W, layers.<i>.b, optimizer.<name>, trainer.<name>)"
            )
    layers = _build_layers(path, meta, tensors)  # each from its own tensors, their shapes checked first
    if meta.get("data_sha256") != _digest(tensors):
        raise ModelFileError(f"{path}: the tensors do not match the digest stored with them: the file was altered or damaged")
    cost = meta.get("cost")
    if not isinstance(cost, str) or cost not in losses.COSTS:
        raise ModelFileError(f"{path}: cost {brief(cost)} is not one of {sorted(losses.COSTS)}")
    settings = meta.get("cost_settings", {})
    if not (isinstance(settings, dict) and all(type(value) in (int, float) for value in settings.values())):
        raise ModelFileError(f"{path}: cost_settings must be an object of numbers; got {brief(settings)}")
    try:
        network = Network(layers, cost=losses.get(cost, **settings), task=meta.get("task"))
    except (TypeError, ValueError) as error:
        raise ModelFileError(f"{path}: {error}") from None
    if meta["format_version"] >= 2:
        described = network.describe()
        for key in ("sizes", "input_shape", "parameters", "dtype", "layers"):
            if meta.get(key) != described[key]:
                raise ModelFileError(f"{path}: {key} {brief(meta.get(key))} does not describe the network its layers "
                                     f"build ({brief(described[key])})")
    problem = _description_problem(meta, network)
    if problem:
        raise ModelFileError(f"{path}: {problem}")
    network.init = meta.get("init", "custom")
    network.seed = meta.get("seed")
    network.metadata = meta
    extra = {name: array for name, array in tensors.items() if not _LAYER_TENSOR.fullmatch(name)}
    return network, extra


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
        raise ModelFileError(f"{path}: the nnet metadata has no format_version (an integer); got {brief(version)}")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: written in model format version {version} by nnet {brief(meta.get('nnet_version', '?'))}; "
            f"this nnet ({__version__}) reads up to version {FORMAT_VERSION}: upgrade nnet"
        )
    if version < 1:
        raise ModelFileError(f"{path}: format_version must be >= 1; got {version}")
    if meta.get("meta_sha256") != _meta_digest(meta):
        raise ModelFileError(
            f"{path}: the metadata does not match the digest stored with it (meta_sha256): the file was altered or damaged"
        )
    return meta


def _build_layers(path, meta: dict, tensors: dict) -> list[Layer]:
    """The layers of the layer list, each built (by its kind's ``from_description``,
    :mod:`nnet.layer_kinds`) from its own stored tensors once their shapes are known to be the
    ones its description gives, on the output shape of the layer below."""
    entries = meta.get("layers")
    if not isinstance(entries, list) or not entries:
        raise ModelFileError(f"{path}: the nnet metadata has no layer list")
    dtype = meta.get("dtype")
    if dtype not in ("float32", "float64"):
        raise ModelFileError(f"{path}: dtype must be float32 or float64; got {brief(dtype)}")
    version = meta["format_version"]
    if version == 1:
        entries = _from_version_1(path, entries)
    layers: list[Layer] = []
    shape = _input_shape(path, meta, entries)
    for index, entry in enumerate(entries):
        where = f"{path}: layer {index}"
        try:
            kind = layer_kinds.kind_of(entry)
        except ValueError as problem:
            raise ModelFileError(f"{where}: {problem}") from None
        if version >= 2 and (entry.get("index") != index or entry.get("name") != layer_name(index, len(entries))):
            raise ModelFileError(f"{where}: its index and name must be {index} and {layer_name(index, len(entries))!r}; "
                                 f"got {brief(entry.get('index'))} and {brief(entry.get('name'))}")
        if kind is Dense:  # its n_in is its own (a layer list that does not fit is refused as such below)
            shape = (_dense(where, entry, version, index, tensors),)
        arrays = {}
        for name in kind.parameter_names:
            tensor, array = f"layers.{index}.{name}", tensors.get(f"layers.{index}.{name}")
            if array is None:
                raise ModelFileError(f"{where}: tensor {tensor!r} is missing")
            if array.dtype != dtype:
                raise ModelFileError(f"{where}: tensor {tensor!r} is {array.dtype}; the model's dtype is {dtype}")
            if not np.isfinite(array).all():
                raise ModelFileError(f"{where}: tensor {tensor!r} holds NaN or infinite values")
            arrays[name] = array
        try:
            layers.append(kind.from_description(entry, shape, parameters=arrays, dtype=dtype))
        except (TypeError, ValueError) as error:
            raise ModelFileError(f"{where} ({kind.kind}): {error}") from None
        built = {"index": index, "name": layer_name(index, len(entries)), **layers[-1].describe()}
        wrong = [key for key in {**entry, **built} if version >= 2 and entry.get(key) != built.get(key)]
        if wrong and kind is not Dense:  # (a dense layer's entry was checked key by key)
            raise ModelFileError(f"{where} ({kind.kind}): {wrong[0]} {brief(entry.get(wrong[0]))} does not describe "
                                 f"the layer its settings and tensors build ({brief(built.get(wrong[0]))})")
        shape = layers[-1].output_shape
    expected = {f"layers.{index}.{name}" for index, layer in enumerate(layers) for name in layer.parameters}
    unused = sorted(name for name in tensors if _LAYER_TENSOR.fullmatch(name) and name not in expected)
    if unused:
        raise ModelFileError(f"{path}: tensors {unused} belong to no layer in the layer list")
    return layers


def _input_shape(path, meta: dict, entries: list) -> tuple[int, ...]:
    """The shape of one input sample: the description's (a version-1 file's first layer's n_in)."""
    shape = meta.get("input_shape") if meta["format_version"] >= 2 else [entries[0].get("n_in")]
    if not (isinstance(shape, list) and 1 <= len(shape) <= 3
            and all(type(side) is int and 0 < side <= limits.MAX_PARAMETERS for side in shape)):
        raise ModelFileError(f"{path}: input_shape must be 1 to 3 positive integers, such as [784] or [1, 28, 28]; "
                             f"got {brief(shape)}")
    return tuple(shape)


def _dense(where: str, entry: dict, version: int, index: int, tensors: dict) -> int:
    """A dense layer's entry checked key by key, and its tensors' shapes; returns its n_in."""
    n_in, n_out, name = entry.get("n_in"), entry.get("n_out"), entry.get("activation")
    if not (type(n_in) is int and type(n_out) is int and n_in > 0 and n_out > 0):
        raise ModelFileError(f"{where}: n_in and n_out must be positive integers; got {brief(n_in)}, {brief(n_out)}")
    if not isinstance(name, str) or name not in activations.ACTIVATIONS:
        raise ModelFileError(f"{where}: activation {brief(name)} is not one of {sorted(activations.ACTIVATIONS)}")
    settings = list(activations.ACTIVATIONS[name].settings())
    derived = ["index", "name", "dropout", "parameters"] if version >= 2 else ["dropout"]
    expected_keys = {"kind", "n_in", "n_out", "activation", *settings, *derived}
    if set(entry) != expected_keys:
        raise ModelFileError(f"{where}: a {name} dense layer has the keys {sorted(expected_keys)}; got {sorted(entry)}")
    for key in settings:
        if type(entry[key]) not in (int, float):
            raise ModelFileError(f"{where}: {name} {key} must be a number; got {brief(entry[key])}")
    for key, shape in (("W", (n_out, n_in)), ("b", (n_out,))):
        tensor = f"layers.{index}.{key}"
        array = tensors.get(tensor)
        if array is not None and array.shape != shape:
            raise ModelFileError(f"{where}: tensor {tensor!r} has shape {array.shape}; the layer list says {shape}")
    return n_in


def _from_version_1(path, entries: list) -> list:
    """A version-1 layer list as version 2 reads it: each dropout entry becomes the rate of the
    dense layer before it."""
    converted = []
    for position, entry in enumerate(entries):
        where = f"{path}: layer list entry {position}"
        kind = entry.get("kind") if isinstance(entry, dict) else None
        if kind == "dense":
            converted.append({**entry, "dropout": 0.0})
        elif kind == "dropout":
            rate, size = entry.get("rate"), entry.get("size")
            if set(entry) != {"kind", "rate", "size"}:
                raise ModelFileError(f"{where}: a dropout layer has the keys ['kind', 'rate', 'size']; got {sorted(entry)}")
            if type(rate) not in (int, float) or not 0 <= rate < 1:
                raise ModelFileError(f"{where}: dropout rate must be a number in [0, 1); got {brief(rate)}")
            if not converted or converted[-1].get("dropout"):
                raise ModelFileError(f"{where}: a dropout entry must follow a dense layer")
            if size is not None and (type(size) is not int or size != converted[-1].get("n_out")):
                raise ModelFileError(f"{where}: dropout size must be the size of the layer before it "
                                     f"({converted[-1].get('n_out')}); got {brief(size)}")
            converted[-1]["dropout"] = float(rate)
        else:
            raise ModelFileError(f"{where}: kind must be 'dense' or 'dropout'; got {brief(entry)}")
    return converted


def _description_problem(meta: dict, network: Network) -> str | None:
    """What is wrong with the fields of a description that other parts of nnet read, or None."""
    k = data.n_answers(network.n_outputs)
    classes = meta.get("classes")
    if network.task == "regression":
        k, classes = network.n_outputs, meta.get("targets")
    if classes is not None and not (isinstance(classes, list) and len(classes) == k and all(isinstance(c, str) for c in classes)):
        name = "targets" if network.task == "regression" else "classes"
        return f"{name} must be a list of {k} strings, one per answer of the {network.n_outputs}-output network; got {brief(classes)}"
    model_input = meta.get("input")
    if model_input is not None:
        if not isinstance(model_input, dict):
            return f"input must be an object (shape, preprocessing); got {brief(model_input)}"
        shape = model_input.get("shape")
        if shape is not None and not (
            isinstance(shape, list) and shape and all(type(s) is int and s > 0 for s in shape)
            and math.prod(shape) == network.n_inputs
        ):
            return f"input shape must be a list of positive integers whose product is the {network.n_inputs} inputs; got {brief(shape)}"
    for key in ("scores", "training", "dataset"):
        if meta.get(key) is not None and not isinstance(meta[key], dict):
            return f"{key} must be an object; got {brief(meta[key])}"
    if meta.get("history") is not None:
        problem = history_problem(meta["history"])
        if problem:
            return f"history {problem}"
    if not isinstance(meta.get("init", ""), str):
        return f"init must be a name; got {brief(meta['init'])}"
    seed = meta.get("seed")
    if seed is not None and type(seed) is not int and not (isinstance(seed, list) and all(type(s) is int for s in seed)):
        return f"seed must be an integer or null; got {brief(seed)}"
    return None


def history_problem(history) -> str | None:
    """Why ``History.from_dict(history)`` would fail or give nonsense, or None."""
    if not isinstance(history, dict) or not isinstance(history.get("epochs", []), list):
        return f"must be an object with a list of epochs; got {brief(history)}"
    for record in history.get("epochs", []):
        if not isinstance(record, dict) or not all(value is None or type(value) in (int, float) for value in record.values()):
            return f"epochs must be objects of numbers; got {brief(record)}"
    if history.get("best_epoch") is not None and type(history["best_epoch"]) is not int:
        return f"best_epoch must be an integer; got {brief(history['best_epoch'])}"
    try:
        History.from_dict(history)
    except (TypeError, ValueError) as error:
        return f"cannot be read: {error}"
    return None


# -- helpers ---------------------------------------------------------------------------------


def brief(value, limit: int = 80) -> str:
    """``repr(value)``, cut to ``limit`` characters: a hostile file's values go into messages."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 5]}...{text[-2:]}"


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
        code, array = little_endian(name, tensors[name])
        digest.update(f"{name}:{code}:{list(array.shape)};".encode())
        digest.update(memoryview(array).cast("B"))
    return digest.hexdigest()


def _meta_digest(meta: dict) -> str:
    """SHA-256 of the description's canonical JSON, without its own digest field."""
    body = {key: value for key, value in meta.items() if key != "meta_sha256"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    return hashlib.sha256(text.encode("ascii")).hexdigest()
