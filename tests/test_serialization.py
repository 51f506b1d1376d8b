"""Model files: round trips, metadata, every kind of bad file, safetensors interop, checkpoints,
atomic writes."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import re
import struct
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnet
from nnet import _safetensors, activations, optimizers, serialization
from nnet._safetensors import write_safetensors
from nnet.checkpoints import load_checkpoint, save_checkpoint
from nnet.history import History
from nnet.serialization import FORMAT_VERSION, ModelFileError, load, load_with_tensors, read_safetensors, save
from nnet.training import Trainer

ALL_ACTIVATIONS = sorted(activations.ACTIVATIONS)


# -- helpers -------------------------------------------------------------------------------


def inputs(n_inputs: int, n: int = 7, dtype="float32", seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 2, size=(n, n_inputs)).astype(dtype)


def assert_same_network(a: nnet.Network, b: nnet.Network) -> None:
    """Same structure, bit-equal parameters, and the same answers."""
    assert b.sizes == a.sizes
    assert b.dtype == a.dtype
    assert b.cost.name == a.cost.name
    assert [type(layer) for layer in b.layers] == [type(layer) for layer in a.layers]
    for left, right in zip(a.layers, b.layers):
        assert right.activation.name == left.activation.name
        assert repr(right.activation) == repr(left.activation)  # LeakyReLU shows its slope
        assert right.dropout == left.dropout
        for symbol in ("W", "b"):
            mine, theirs = getattr(left, symbol), getattr(right, symbol)
            assert theirs.dtype == mine.dtype and theirs.shape == mine.shape
            assert theirs.tobytes() == mine.tobytes(), symbol
    assert b.parameters.tobytes() == a.parameters.tobytes()
    x = inputs(a.n_inputs, dtype=a.dtype)
    assert np.array_equal(b.forward(x), a.forward(x))
    assert np.array_equal(b.predict(x), a.predict(x))


def saved(tmp_path, network=None, name="model.safetensors", **metadata) -> Path:
    network = network if network is not None else nnet.Network([6, 5, 3], seed=0)
    return save(network, tmp_path / name, metadata=metadata or None)


def rewrite(path: Path, *, tensors=None, edit=None, sign: bool = True, text=None) -> Path:
    """Rewrite a model file after changing its tensors (a function of the dict) and/or its
    description (``edit(meta)`` in place); ``sign`` recomputes the digests, as a forger would,
    so that the check under test, not the digest, has to catch the change."""
    stored, container = read_safetensors(path)
    meta = json.loads(container["nnet"])
    if tensors is not None:
        stored = tensors(dict(stored))
    if edit is not None:
        edit(meta)
    if sign:
        meta["data_sha256"] = serialization._digest(stored)
        meta.pop("meta_sha256", None)
        meta["meta_sha256"] = canonical_sha256(meta)
    write_safetensors(path, stored, {**container, "nnet": text if text is not None else json.dumps(meta)})
    return path


def canonical_sha256(meta: dict) -> str:
    """The documented meta digest, computed independently of nnet."""
    body = {key: value for key, value in meta.items() if key != "meta_sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def refused(path: Path, problem: str):
    """pytest.raises for a ModelFileError whose message names the file, then the problem."""
    return pytest.raises(ModelFileError, match=re.escape(str(path)) + ".*" + problem)


def raw_file(tmp_path, header: dict, data: bytes, name="raw.safetensors") -> Path:
    text = json.dumps(header).encode()
    path = tmp_path / name
    path.write_bytes(struct.pack("<Q", len(text)) + text + data)
    return path


# -- round trips ---------------------------------------------------------------------------

ARCHITECTURES = {
    "lessons": dict(sizes=[12, 6, 4]),
    "relu_softmax_dropout": dict(sizes=[12, 8, 6, 4], activation="relu", output="softmax", cost="cross_entropy", dropout=0.3),
    "one_output": dict(sizes=[12, 5, 1], activation="tanh", output="sigmoid", cost="cross_entropy"),
    "float64_regression": dict(sizes=[12, 7, 2], activation="tanh", output="identity", dtype="float64"),
    "mixed_hidden": dict(sizes=[12, 5, 4, 3, 2], activation=["relu", "leaky_relu", "sigmoid"], output="softmax", cost="cross_entropy"),
    "no_hidden": dict(sizes=[12, 3]),
}


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_load_of_save_is_the_same_network(tmp_path, name):
    arguments = dict(ARCHITECTURES[name])
    network = nnet.Network(arguments.pop("sizes"), **arguments, seed=1)
    loaded = load(save(network, tmp_path / "m.safetensors"))
    assert_same_network(network, loaded)
    assert [layer.dropout for layer in loaded.layers].count(0.3) == (2 if "dropout" in ARCHITECTURES[name] else 0)
    assert loaded.describe() == network.describe()


@pytest.mark.parametrize("name", ALL_ACTIVATIONS)
def test_every_activation_survives_a_round_trip(tmp_path, name):
    network = nnet.Network([5, 4, 3], activation=name, output=name, cost="quadratic", seed=2)
    assert_same_network(network, load(save(network, tmp_path / "m.safetensors")))


def test_float64_stays_float64(tmp_path):
    network = nnet.Network([4, 3, 2], dtype="float64", seed=0)
    tensors, _ = read_safetensors(save(network, tmp_path / "m.safetensors"))
    assert {array.dtype for array in tensors.values()} == {np.dtype(np.float64)}
    loaded = load(tmp_path / "m.safetensors")
    assert loaded.dtype == np.float64 and loaded.parameters.dtype == np.float64


def test_leaky_relu_keeps_its_slope(tmp_path):
    network = nnet.Network([3, 4, 2], activation="leaky_relu", seed=0)
    network.layers[0].activation = activations.LeakyReLU(0.3)
    path = save(network, tmp_path / "m.safetensors")
    assert json.loads(read_safetensors(path)[1]["nnet"])["layers"][0]["slope"] == pytest.approx(0.3)
    loaded = load(path)
    assert loaded.layers[0].activation.slope == pytest.approx(0.3)
    x = -np.abs(inputs(3))  # negative inputs: where the slope shows
    assert np.array_equal(loaded.forward(x), network.forward(x))
    assert not np.allclose(nnet.Network([3, 4, 2], activation="leaky_relu", seed=0).forward(x), network.forward(x))


@settings(max_examples=30, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 6), min_size=2, max_size=5),
    names=st.lists(st.sampled_from(ALL_ACTIVATIONS), min_size=4, max_size=4),
    slope=st.floats(0.001, 0.999),
    dropout=st.sampled_from([0.0, 0.25, 0.5]),
    dtype=st.sampled_from(["float32", "float64"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_property_load_of_save_predicts_identically(sizes, names, slope, dropout, dtype, seed):
    hidden = names[: len(sizes) - 2]
    dropout = dropout if hidden else 0.0  # dropout acts after hidden layers
    network = nnet.Network(sizes, activation=hidden, output=names[-1], dropout=dropout, dtype=dtype, seed=seed)
    for layer in network.layers:
        if layer.activation.name == "leaky_relu":
            layer.activation = activations.LeakyReLU(slope)
    with tempfile.TemporaryDirectory() as folder:
        loaded = load(save(network, Path(folder) / "m.safetensors"))
    assert_same_network(network, loaded)
    assert loaded.seed == seed


# -- metadata ------------------------------------------------------------------------------


def test_metadata_round_trip(tmp_path):
    network = nnet.Network([6, 5, 3], seed=4)
    history = History(seed=4).to_dict()
    history["epochs"] = [
        {"epoch": 1, "train_cost": 0.5, "train_accuracy": 0.8, "validation_cost": None,
         "validation_accuracy": None, "learning_rate": 0.1, "seconds": 0.25},
    ]
    facts = {
        "classes": ["cat", "dog", "émeu"],
        "input": {"shape": [2, 3], "preprocessing": "none"},
        "training": {"epochs": 1, "hidden": [5], "optimizer": "sgd"},
        "history": history,
        "scores": {"test": {"accuracy": 0.75, "cost": 0.125}},
        "dataset": {"name": "toy", "train": 10},
        "note": {"nested": [1, 2.5, "three", None, True]},
    }
    loaded = load(save(network, tmp_path / "m.safetensors", metadata=facts))
    for key, value in facts.items():
        assert loaded.metadata[key] == value, key
    assert loaded.class_names == ["cat", "dog", "émeu"]
    assert History.from_dict(loaded.metadata["history"]).epochs[0].train_cost == pytest.approx(0.5)
    meta = loaded.metadata
    assert meta["format"] == "nnet" and meta["format_version"] == FORMAT_VERSION == 2
    assert meta["nnet_version"] == nnet.__version__
    assert meta["cost"] == "quadratic" and meta["dtype"] == "float32" and meta["seed"] == 4 and meta["init"] == "auto"
    assert [entry["kind"] for entry in meta["layers"]] == ["dense", "dense"]


def test_defaults_name_every_answer_even_of_a_one_output_network(tmp_path):
    meta = load(saved(tmp_path, nnet.Network([4, 1], seed=0))).metadata
    assert meta["classes"] == ["0", "1"]
    assert meta["input"]["shape"] == [4]


def test_a_loaded_network_saves_again(tmp_path):
    first = load(saved(tmp_path, classes=["a", "b", "c"]))
    again = load(save(first, tmp_path / "again.safetensors"))
    assert again.metadata["classes"] == ["a", "b", "c"]
    assert_same_network(first, again)


def test_the_meta_digest_is_the_sha256_of_the_canonical_description(tmp_path):
    meta = json.loads(read_safetensors(saved(tmp_path))[1]["nnet"])
    assert meta["meta_sha256"] == canonical_sha256(meta)


def test_init_function_and_numpy_seed_can_be_saved(tmp_path):
    def my_init(rng, n_out, n_in):
        return rng.normal(size=(n_out, n_in)), np.zeros(n_out)

    network = nnet.Network([4, 3, 2], init=my_init, seed=7)
    network.seed = np.int64(7)  # as a caller may set it
    loaded = load(save(network, tmp_path / "m.safetensors"))
    assert loaded.init == "my_init" and loaded.seed == 7 and type(loaded.seed) is int
    network.init, network.seed = (lambda rng, n_out, n_in: None), None
    assert load(save(network, tmp_path / "m.safetensors")).seed is None


@pytest.mark.parametrize(
    "metadata, problem",
    [
        ({"classes": ["a", "b"]}, "classes must be a list of 3 strings"),
        ({"classes": [0, 1, 2]}, "classes must be a list of 3 strings"),
        ({"input": {"shape": [2, 2]}}, "product is the 6 inputs"),
        ({"history": {"epochs": [{"epoch": 1}]}}, "history cannot be read"),
        ({"scores": [0.9]}, "scores must be an object"),
        ({"scores": {"test": float("nan")}}, "finite numbers"),
        ({"when": object()}, "JSON-serialisable"),
    ],
)
def test_save_refuses_metadata_that_load_would_refuse(tmp_path, metadata, problem):
    with pytest.raises(ValueError, match=problem):
        saved(tmp_path, **metadata)
    assert not (tmp_path / "model.safetensors").exists()


def test_save_refuses_extra_tensors_with_names_nnet_does_not_read(tmp_path):
    network = nnet.Network([4, 2], seed=0)
    for name in ("layers.0.W", "layers.7.W", "junk"):
        with pytest.raises(ValueError, match="names must start with one of"):
            save(network, tmp_path / "m.safetensors", extra_tensors={name: np.zeros(3)})


# -- bad files: the container --------------------------------------------------------------


@pytest.mark.parametrize("where", ["length field", "header", "data start", "data middle", "last byte"])
def test_truncated_file(tmp_path, where):
    path = saved(tmp_path)
    blob = path.read_bytes()
    (header_length,) = struct.unpack("<Q", blob[:8])
    cut = {
        "length field": 5,
        "header": 8 + header_length // 2,
        "data start": 8 + header_length + 3,
        "data middle": 8 + header_length + (len(blob) - 8 - header_length) // 2,
        "last byte": len(blob) - 1,
    }[where]
    path.write_bytes(blob[:cut])
    with refused(path, "truncated"):
        load(path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.safetensors"
    path.write_bytes(b"")
    with refused(path, "not a safetensors file.*0 bytes"):
        load(path)


def test_random_bytes(tmp_path):
    path = tmp_path / "noise.safetensors"
    path.write_bytes(np.random.default_rng(5).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with refused(path, "not a safetensors file"):
        load(path)


def test_a_png_is_not_a_model(tmp_path):
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (28, 28), 255).save(buffer, format="PNG")
    path = tmp_path / "digit.png"
    path.write_bytes(buffer.getvalue())
    with refused(path, "not a safetensors file"):
        load(path)


def test_missing_file_and_folder(tmp_path):
    with refused(tmp_path / "nothing.safetensors", "no such model file"):
        load(tmp_path / "nothing.safetensors")
    with refused(tmp_path, "is a folder"):
        load(tmp_path)


def test_header_not_json(tmp_path):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(struct.pack("<Q", 8) + b"not json")
    with refused(path, r"header \(bytes 8 to 16\) is not valid JSON"):
        load(path)


def test_header_not_an_object(tmp_path):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(struct.pack("<Q", 8) + b"[1,2,3] ")
    with refused(path, "header must be a JSON object; got list"):
        load(path)


def test_header_metadata_not_strings(tmp_path):
    path = raw_file(tmp_path, {"__metadata__": {"format": 1}}, b"")
    with refused(path, "__metadata__ must map strings to strings"):
        read_safetensors(path)


def entry(dtype="F32", shape=(2,), offsets=(0, 8)):
    return {"dtype": dtype, "shape": list(shape), "data_offsets": list(offsets)}


@pytest.mark.parametrize(
    "header, size, problem",
    [
        ({"a": entry(), "b": entry(offsets=(4, 12))}, 12, r"tensor 'b' starts at byte 4 .* expected 8 \(gap or overlap\)"),
        ({"a": entry(), "b": entry(offsets=(12, 20))}, 20, r"tensor 'b' starts at byte 12 .* expected 8 \(gap or overlap\)"),
        ({"a": entry(offsets=(4, 12))}, 12, r"tensor 'a' starts at byte 4 of the data section; expected 0"),
        ({"a": entry()}, 12, "4 unexpected bytes after the last tensor"),
        ({"a": entry(dtype="BF16", offsets=(0, 4))}, 4, r"tensor 'a': dtype 'BF16' is not one of"),
        ({"a": entry(shape=(3,))}, 8, r"tensor 'a': data_offsets \[0, 8\] do not fit: shape \[3\] of F32 needs 12 bytes"),
        ({"a": entry(offsets=(8, 0))}, 8, r"tensor 'a': data_offsets \[8, 0\] do not fit"),
        ({"a": entry(shape=(True, 2))}, 8, "shape must be a list of non-negative integers"),
        ({"a": entry(offsets=(0, 8.0))}, 8, r"data_offsets must be \[begin, end\]"),
        ({"a": {"dtype": "F32", "shape": [2]}}, 8, r"tensor 'a': expected \{dtype, shape, data_offsets\}"),
    ],
)
def test_bad_tensor_entries(tmp_path, header, size, problem):
    path = raw_file(tmp_path, header, bytes(size))
    with refused(path, problem):
        read_safetensors(path)


def test_a_huge_claimed_shape_does_not_overflow(tmp_path):
    path = raw_file(tmp_path, {"a": entry(shape=(2**40, 2**40))}, bytes(8))
    with refused(path, "do not fit"):
        read_safetensors(path)


# -- bad files: the nnet description -------------------------------------------------------


@pytest.mark.parametrize("library", ["nnet", "safetensors"])
def test_a_safetensors_file_that_is_not_an_nnet_model(tmp_path, library):
    path = tmp_path / "other.safetensors"
    tensors = {"weight": np.ones((2, 3), np.float32)}
    if library == "safetensors":
        pytest.importorskip("safetensors.numpy").save_file(tensors, str(path), metadata={"format": "pt"})
    else:
        write_safetensors(path, tensors, {})
    with refused(path, r"a safetensors file, but not an nnet model \(no nnet metadata\)"):
        load(path)


def test_metadata_missing(tmp_path):
    path = saved(tmp_path)
    tensors, _ = read_safetensors(path)
    write_safetensors(path, tensors, {"format": "nnet"})
    with refused(path, "not an nnet model"):
        load(path)


@pytest.mark.parametrize(
    "text, problem",
    [
        ("{not json", "the nnet metadata is not valid JSON"),
        ('{"format_version": 1, "x": NaN}', "the nnet metadata is not valid JSON: NaN"),
        ('{"format_version": 1, "x": 1e999}', "the nnet metadata is not valid JSON: 1e999 is out of range"),
        ("[1, 2]", "the nnet metadata must be a JSON object"),
        ("{}", "the nnet metadata has no format_version"),
        ('{"format_version": true}', "the nnet metadata has no format_version"),
        ('{"format_version": 0}', "format_version must be >= 1; got 0"),
    ],
)
def test_description_unreadable(tmp_path, text, problem):
    path = rewrite(saved(tmp_path), text=text, sign=False)
    with refused(path, problem):
        load(path)


ALTERATIONS = {
    "classes": lambda meta: meta.update(classes=["x", "y", "z"]),
    "cost": lambda meta: meta.update(cost="cross_entropy"),
    "layer size": lambda meta: meta["layers"][0].update(n_out=4),
    "activation": lambda meta: meta["layers"][1].update(activation="relu"),
    "saved_at": lambda meta: meta.update(saved_at="1999-01-01T00:00:00+00:00"),
    "a new key": lambda meta: meta.update(note="hello"),
    "data digest": lambda meta: meta.update(data_sha256="0" * 64),
    "no meta digest": lambda meta: meta.pop("meta_sha256"),
}


@pytest.mark.parametrize("change", ALTERATIONS)
def test_altered_metadata(tmp_path, change):
    path = rewrite(saved(tmp_path), edit=ALTERATIONS[change], sign=False)
    with refused(path, r"the metadata does not match the digest stored with it \(meta_sha256\): the file was altered"):
        load(path)


def test_altered_tensors(tmp_path):
    def nudge(tensors):
        tensors["layers.0.b"] = tensors["layers.0.b"] + np.float32(1e-3)
        return tensors

    path = rewrite(saved(tmp_path), tensors=nudge, sign=False)
    with refused(path, "the tensors do not match the digest stored with them: the file was altered"):
        load(path)


def test_a_newer_format_version_says_to_upgrade(tmp_path):
    path = rewrite(saved(tmp_path), edit=lambda meta: meta.update(format_version=FORMAT_VERSION + 1), sign=False)
    with refused(path, f"model format version {FORMAT_VERSION + 1} .* reads up to version {FORMAT_VERSION}: upgrade nnet"):
        load(path)


def transposed(tensors):
    tensors["layers.0.W"] = np.ascontiguousarray(tensors["layers.0.W"].T)
    return tensors


def without(name):
    return lambda tensors: {key: value for key, value in tensors.items() if key != name}


def plus(name, array):
    return lambda tensors: {**tensors, name: array}


def poisoned(value):
    def poison(tensors):
        tensors["layers.1.W"] = tensors["layers.1.W"].copy()
        tensors["layers.1.W"][1, 2] = value
        return tensors

    return poison


@pytest.mark.parametrize("sign", [True, False], ids=["re-signed", "unsigned"])
@pytest.mark.parametrize(
    "change, problem",
    [
        (transposed, r"layer 0: tensor 'layers.0.W' has shape \(6, 5\); the layer list says \(5, 6\)"),
        (without("layers.1.b"), "layer 1: tensor 'layers.1.b' is missing"),
        (plus("layers.2.W", np.zeros((2, 3), np.float32)), r"tensors \['layers.2.W'\] belong to no layer"),
        (plus("layers.01.W", np.zeros(1, np.float32)), "tensor 'layers.01.W' is not one nnet writes"),
        (plus("layers.x.W", np.zeros(1, np.float32)), "tensor 'layers.x.W' is not one nnet writes"),
        (plus("junk", np.zeros(1, np.float32)), "tensor 'junk' is not one nnet writes"),
        (poisoned(np.nan), "layer 1: tensor 'layers.1.W' holds NaN or infinite values"),
        (poisoned(np.inf), "layer 1: tensor 'layers.1.W' holds NaN or infinite values"),
        (poisoned(-np.inf), "layer 1: tensor 'layers.1.W' holds NaN or infinite values"),
        (lambda t: {k: v.astype(np.float64) for k, v in t.items()}, "tensor 'layers.0.W' is float64; the model's dtype is float32"),
    ],
)
def test_bad_tensors(tmp_path, change, problem, sign):
    path = rewrite(saved(tmp_path), tensors=change, sign=sign)
    with refused(path, problem):
        load(path)


def layer(index, **changes):
    return lambda meta: meta["layers"][index].update(changes)


def top(**changes):
    return lambda meta: meta.update(changes)


@pytest.mark.parametrize(
    "edit, problem",
    [
        (top(layers=[]), "the nnet metadata has no layer list"),
        (top(dtype="float16"), "dtype must be float32 or float64; got 'float16'"),
        (top(cost="hinge"), "cost 'hinge' is not one of"),
        (layer(0, kind="conv"), "layer 0: kind must be one of dense, conv2d, max_pool2d, avg_pool2d, flatten, dropout; got 'conv'"),
        (layer(0, n_in=True), "layer 0: n_in and n_out must be positive integers; got True"),
        (layer(0, n_in=6.0), "layer 0: n_in and n_out must be positive integers; got 6.0"),
        (layer(0, n_out=0), "layer 0: n_in and n_out must be positive integers"),
        (layer(0, activation="swish"), "layer 0: activation 'swish' is not one of"),
        (layer(0, activation=["relu"]), r"layer 0: activation \['relu'\] is not one of"),
        (layer(0, slope=0.2), r"layer 0: a sigmoid dense layer has the keys \['activation', 'dropout', 'index', 'kind', "
                              r"'n_in', 'n_out', 'name', 'parameters'\]"),
        (layer(0, activation="leaky_relu"), "layer 0: a leaky_relu dense layer has the keys .*'slope'"),
        (layer(0, activation="leaky_relu", slope=1.5), r"layer 0 \(dense\): leaky_relu slope must be in \(0, 1\); got 1.5"),
        (layer(0, activation="leaky_relu", slope="0.2"), "layer 0: leaky_relu slope must be a number; got '0.2'"),
        (layer(0, activation="leaky_relu", slope=True), "layer 0: leaky_relu slope must be a number; got True"),
        (layer(1, n_in=4), r"layer 1: tensor 'layers.1.W' has shape \(3, 5\); the layer list says \(3, 4\)"),
        (lambda meta: (meta.update(cost="cross_entropy"), meta["layers"][1].update(activation="identity")), "cost 'cross_entropy' needs a 'softmax' output"),
        (top(classes=["a", "b"]), r"classes must be a list of 3 strings, one per answer of the 3-output network; got \['a', 'b'\]"),
        (top(classes=["a", "b", 3]), "classes must be a list of 3 strings"),
        (top(classes="abc"), "classes must be a list of 3 strings"),
        (top(input=[6]), "input must be an object"),
        (top(input={"shape": [2, 2]}), r"input shape must be a list of positive integers whose product is the 6 inputs; got \[2, 2\]"),
        (top(input={"shape": [2, True, 3]}), "input shape must be a list of positive integers"),
        (top(input={"shape": [-2, -3]}), "input shape must be a list of positive integers"),
        (top(input={"shape": []}), "input shape must be a list of positive integers"),
        (top(history=[1]), "history must be an object with a list of epochs"),
        (top(history={"epochs": "abc"}), "history must be an object with a list of epochs"),
        (top(history={"epochs": [{"epoch": 1, "surprise": 2}]}), "history cannot be read"),
        (top(history={"epochs": [{"epoch": "one"}]}), "history epochs must be objects of numbers"),
        (top(history={"epochs": [], "best_epoch": "2"}), "history best_epoch must be an integer"),
        (top(scores=[0.9]), r"scores must be an object; got \[0.9\]"),
        (top(training="sgd"), "training must be an object"),
        (top(dataset="mnist"), "dataset must be an object"),
        (top(init=3), "init must be a name"),
        (top(seed="seven"), "seed must be an integer or null"),
    ],
)
def test_bad_description_fields(tmp_path, edit, problem):
    path = rewrite(saved(tmp_path), edit=edit, sign=True)
    with refused(path, problem):
        load(path)


def test_layers_that_do_not_fit_together(tmp_path):
    narrower = lambda tensors: {**tensors, "layers.1.W": np.zeros((3, 4), np.float32)}  # noqa: E731
    path = rewrite(saved(tmp_path), tensors=narrower, edit=layer(1, n_in=4))
    with refused(path, "layer 1 takes 4 inputs but layer 0 has 5 neurons"):
        load(path)


@pytest.mark.parametrize(
    "change, problem",
    [
        (dict(dropout=1.0), r"layer 0 \(dense\): dropout rate must be a number in \[0, 1\); got 1.0"),
        (dict(dropout=True), r"layer 0 \(dense\): dropout rate must be a number"),
        (dict(dropout="0.5"), r"layer 0 \(dense\): dropout rate must be a number"),
    ],
)
def test_bad_dropout_rates(tmp_path, change, problem):
    path = rewrite(saved(tmp_path, nnet.Network([6, 5, 3], dropout=0.5, seed=0)), edit=layer(0, **change))
    with refused(path, problem):
        load(path)


def test_the_output_layer_has_no_dropout(tmp_path):
    path = rewrite(saved(tmp_path), edit=layer(1, dropout=0.5))
    with refused(path, "the output layer cannot have dropout"):
        load(path)


# -- files of format version 1 (nnet 0.1.0), where dropout was an entry of the layer list ------------

VERSION_1 = Path(__file__).parent / "data" / "model-v1.safetensors"


def test_a_version_1_file_loads_with_dropout_as_its_layers_rate(tmp_path):
    network = load(VERSION_1)
    assert network.metadata["format_version"] == 1
    assert [layer.dropout for layer in network.layers] == [0.25, 0.25, 0.0]
    assert [layer.activation.name for layer in network.layers] == ["leaky_relu", "tanh", "softmax"]
    assert network.layers[0].activation.slope == pytest.approx(0.3)
    # the same answers as the nnet 0.1.0 that wrote it
    recorded = np.load(Path(__file__).parent / "data" / "model-v1-io.npz")
    np.testing.assert_array_equal(network.forward(recorded["x"]), recorded["output"])
    # ... written back as version 2, with the same network
    again = load(save(network, tmp_path / "v2.safetensors"))
    assert again.metadata["format_version"] == FORMAT_VERSION
    assert_same_network(network, again)


def version_1_file(tmp_path) -> Path:
    path = tmp_path / "v1.safetensors"
    path.write_bytes(VERSION_1.read_bytes())
    return path


@pytest.mark.parametrize(
    "change, problem",
    [
        (dict(rate=1.0), r"layer list entry 1: dropout rate must be a number in \[0, 1\); got 1.0"),
        (dict(rate=True), "layer list entry 1: dropout rate must be a number"),
        (dict(rate="0.5"), "layer list entry 1: dropout rate must be a number"),
        (dict(size=7), r"layer list entry 1: dropout size must be the size of the layer before it \(5\); got 7"),
        (dict(size=5.0), "layer list entry 1: dropout size must be the size of the layer before it"),
        (dict(size=True), "layer list entry 1: dropout size must be the size of the layer before it"),
        (dict(extra=1), r"layer list entry 1: a dropout layer has the keys \['kind', 'rate', 'size'\]"),
    ],
)
def test_bad_dropout_entries_of_version_1(tmp_path, change, problem):
    path = rewrite(version_1_file(tmp_path), edit=layer(1, **change))
    with refused(path, problem):
        load(path)


def test_a_version_1_dropout_without_a_size_still_loads(tmp_path):
    path = rewrite(version_1_file(tmp_path), edit=layer(1, size=None))
    assert load(path).layers[0].dropout == pytest.approx(0.25)


def test_a_forged_but_valid_file_loads(tmp_path):
    """The re-signing helper itself is right: the checks above fail for their own reasons."""
    path = rewrite(saved(tmp_path), edit=top(note="signed"))
    assert load(path).metadata["note"] == "signed"


# -- interop with the safetensors package --------------------------------------------------


def test_safetensors_reads_what_nnet_writes(tmp_path):
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    safe_open = pytest.importorskip("safetensors").safe_open
    network = nnet.Network([6, 5, 4, 3], activation="relu", output="softmax", cost="cross_entropy", seed=3)
    path = save(network, tmp_path / "m.safetensors")
    theirs = safetensors_numpy.load_file(str(path))
    assert sorted(theirs) == ["layers.0.W", "layers.0.b", "layers.1.W", "layers.1.b", "layers.2.W", "layers.2.b"]
    for index, dense in enumerate(network.layers):
        for symbol in ("W", "b"):
            array = theirs[f"layers.{index}.{symbol}"]
            assert array.dtype == dense.dtype and array.tobytes() == getattr(dense, symbol).tobytes()
    with safe_open(str(path), framework="numpy") as file:
        metadata = file.metadata()
    assert metadata["format"] == "nnet" and json.loads(metadata["nnet"])["cost"] == "cross_entropy"


def test_nnet_reads_what_safetensors_writes(tmp_path):
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    network = nnet.Network([6, 5, 3], dtype="float64", seed=3)
    ours = save(network, tmp_path / "ours.safetensors")
    tensors, container = read_safetensors(ours)
    theirs = tmp_path / "theirs.safetensors"
    safetensors_numpy.save_file(tensors, str(theirs), metadata=container)
    assert_same_network(network, load(theirs))


# -- checkpoints ---------------------------------------------------------------------------


def tiny_data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6)).astype(np.float32)
    return x, (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0)


def trained_trainer(epochs=2):
    network = nnet.Network([6, 5, 3], activation="relu", output="softmax", cost="cross_entropy", dropout=0.2, seed=0)
    trainer = Trainer(network, optimizers.get("adam"), epochs=epochs, batch_size=8, early_stopping=3, seed=11)
    x, y = tiny_data()
    trainer.run(x, y, validation_data=tiny_data(10, seed=1))
    return trainer


def test_checkpoint_round_trip(tmp_path):
    trainer = trained_trainer()
    checkpoint = trainer.checkpoint()
    assert checkpoint["best_parameters"] is not None and np.isfinite(checkpoint["best_cost"])
    path = save_checkpoint(trainer.network, checkpoint, tmp_path / "c.safetensors", metadata={"training": {"epochs": 2}})
    network, loaded = load_checkpoint(path)
    assert_same_network(trainer.network, network)
    assert network.metadata["training"] == {"epochs": 2}
    stored, original = loaded["optimizer"], checkpoint["optimizer"]
    assert stored["name"] == "adam" and stored["steps"] == original["steps"] > 0
    assert stored["hyperparameters"] == original["hyperparameters"]
    assert sorted(stored["arrays"]) == sorted(original["arrays"]) and stored["arrays"]
    for name, array in original["arrays"].items():
        assert stored["arrays"][name].dtype == array.dtype and stored["arrays"][name].tobytes() == array.tobytes(), name
    assert loaded["best_parameters"].tobytes() == checkpoint["best_parameters"].tobytes()
    assert loaded["best_cost"] == pytest.approx(checkpoint["best_cost"], rel=0, abs=0)
    assert loaded["history"] == checkpoint["history"]
    for key in ("next_epoch", "seed", "epochs_without_improvement"):
        assert loaded[key] == checkpoint[key], key


def test_checkpoint_with_infinite_best_cost_and_no_best_parameters(tmp_path):
    network = nnet.Network([6, 5, 3], seed=0)
    checkpoint = Trainer(network, optimizers.get("momentum"), seed=1).checkpoint()
    assert checkpoint["best_cost"] == float("inf") and checkpoint["best_parameters"] is None
    _, loaded = load_checkpoint(save_checkpoint(network, checkpoint, tmp_path / "c.safetensors"))
    assert loaded["best_cost"] == float("inf") and loaded["best_parameters"] is None
    assert loaded["optimizer"]["arrays"]["velocity"].tobytes() == checkpoint["optimizer"]["arrays"]["velocity"].tobytes()


def test_a_resumed_run_ends_with_the_same_weights(tmp_path):
    x, y = tiny_data()
    straight = trained_trainer(epochs=3).network
    half = trained_trainer(epochs=1)
    network, checkpoint = load_checkpoint(save_checkpoint(half.network, half.checkpoint(), tmp_path / "c.safetensors"))
    nnet.fit(network, x, y, epochs=3, batch_size=8, optimizer="adam", early_stopping=3,
             validation_data=tiny_data(10, seed=1), resume=checkpoint)
    assert network.parameters.tobytes() == straight.parameters.tobytes()


def test_a_plain_model_is_not_a_checkpoint(tmp_path):
    path = saved(tmp_path)
    with refused(path, "a model file, but not a training checkpoint"):
        load_checkpoint(path)


@pytest.fixture
def checkpoint_file(tmp_path):
    trainer = trained_trainer(epochs=1)
    return save_checkpoint(trainer.network, trainer.checkpoint(), tmp_path / "c.safetensors")


def state(**changes):
    return lambda meta: meta["checkpoint"].update(changes)


@pytest.mark.parametrize(
    "tensors, edit, problem",
    [
        (without("optimizer.m"), None, "checkpoint tensor 'optimizer.m' is missing"),
        (plus("optimizer.extra", np.zeros(3, np.float32)), None, r"tensors \['optimizer.extra'\] are not part of the checkpoint"),
        (plus("trainer.best_parameters", np.zeros(3, np.float32)), None, r"'trainer.best_parameters' has shape \(3,\); the network has \(53,\)"),
        (lambda t: {**t, "optimizer.v": np.full_like(t["optimizer.v"], np.nan)}, None, "checkpoint tensor 'v' holds NaN"),
        (None, state(next_epoch="2"), "checkpoint next_epoch must be an integer >= 0; got '2'"),
        (None, state(seed=None), "checkpoint seed must be an integer"),
        (None, state(best_cost="low"), "checkpoint best_cost must be a number or null"),
        (None, state(optimizer={"name": "adam"}), r"checkpoint optimizer must hold a name, steps \(an integer >= 0\) and a list of array names"),
        (None, state(history={"epochs": [{"epoch": 1}]}), "checkpoint history cannot be read"),
        (None, state(augment={"shift": "2"}), "checkpoint augment must be null or an object of numbers named shift"),
        (None, state(augment={"spin": 2}), "checkpoint augment must be null or an object of numbers named"),
        (None, state(augment={"sigma": 0}), r"checkpoint augment: sigma must be a finite number in the range \(0.0, inf\)"),
    ],
)
def test_bad_checkpoints(checkpoint_file, tensors, edit, problem):
    path = rewrite(checkpoint_file, tensors=tensors, edit=edit)
    with refused(path, problem):
        load_checkpoint(path)


def test_load_with_tensors_returns_the_extra_tensors(checkpoint_file):
    network, extra = load_with_tensors(checkpoint_file)
    assert sorted(extra) == ["optimizer.m", "optimizer.v", "trainer.best_parameters"]
    assert load(checkpoint_file).sizes == network.sizes  # a checkpoint is also a model


# -- atomic writes -------------------------------------------------------------------------


def failing_after(n_bytes: int):
    """An atomic_file whose writes raise once ``n_bytes`` have gone through."""
    real = _safetensors.atomic_file

    class Breaking:
        def __init__(self, file):
            self.file, self.written = file, 0

        def write(self, data):
            data = bytes(data)
            room = n_bytes - self.written
            if room < len(data):
                self.file.write(data[: max(room, 0)])
                self.file.flush()
                raise OSError(28, "No space left on device")
            self.written += len(data)
            return self.file.write(data)

    @contextlib.contextmanager
    def atomic(path):
        with real(path) as file:
            yield Breaking(file)

    return atomic


@pytest.mark.parametrize("n_bytes", [0, 4, 100, 1000])
def test_a_failed_save_leaves_the_previous_file_and_no_temporary(tmp_path, monkeypatch, n_bytes):
    path = saved(tmp_path, classes=["a", "b", "c"])
    before = path.read_bytes()
    monkeypatch.setattr(_safetensors, "atomic_file", failing_after(n_bytes))
    with pytest.raises(OSError, match="No space left"):
        save(nnet.Network([6, 5, 3], seed=9), path)
    with pytest.raises(OSError, match="No space left"):
        save_checkpoint(trained_trainer(1).network, trained_trainer(1).checkpoint(), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]
    assert load(path).metadata["classes"] == ["a", "b", "c"]


def test_a_failed_first_save_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(_safetensors, "atomic_file", failing_after(100))
    with pytest.raises(OSError):
        saved(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_version_1_checkpoint_resumes(tmp_path):
    network, checkpoint = load_checkpoint(Path(__file__).parent / "data" / "checkpoint-v1.safetensors")
    assert checkpoint["next_epoch"] == 3 and checkpoint["optimizer"]["name"] == "momentum"
    assert [layer.dropout for layer in network.layers] == [0.25, 0.25, 0.0]
    x = np.random.default_rng(0).random((40, 6)).astype(np.float32)
    y = np.random.default_rng(1).integers(0, 3, 40)
    history = network.fit(x, y, epochs=4, batch_size=8, optimizer="momentum", resume=checkpoint, seed=2)
    assert [record.epoch for record in history.epochs] == [1, 2, 3, 4]
    assert np.isfinite(network.parameters).all()
