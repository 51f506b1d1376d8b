"""ONNX export, checked by running the graph in onnxruntime: its outputs against nnet's own to
1e-5, for an MNIST model (uint8 pixels in), a table classifier (missing numbers imputed in the
graph), a regressor (targets' units) and every activation."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import nnet  # noqa: E402
from nnet import Network  # noqa: E402

TOLERANCE = 1e-5
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def run(path, x):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [output.name for output in session.get_outputs()]
    return dict(zip(names, session.run(None, {"input": x})))


def test_an_mnist_model_takes_uint8_pixels(tmp_path):
    (x_train, y_train), (x_test, _) = nnet.datasets.load_mnist()
    net = Network([784, 64, 10], activation="relu", output="softmax", cost="cross_entropy", seed=0)
    net.fit(x_train[:3000], y_train[:3000], epochs=1, batch_size=32, optimizer="adam", learning_rate=1e-3, seed=0)
    path = nnet.export_onnx(net, tmp_path / "mnist.onnx")
    x = x_test[:500]
    out = run(path, x)
    np.testing.assert_allclose(out["probabilities"], net.forward(x), rtol=TOLERANCE, atol=TOLERANCE)
    np.testing.assert_array_equal(out["label"], net.predict(x))
    model = onnx.load(path)
    assert "uint8 pixels" in model.doc_string
    assert json.loads({p.key: p.value for p in model.metadata_props}["nnet.classes"]) == [str(i) for i in range(10)]


def table(seed, n=300):
    rng = np.random.default_rng(seed)
    size, weight = rng.normal(10, 3, n), rng.normal(0, 1, n)
    colour = rng.choice(np.array(["red", "green", "blue"], dtype=object), n)
    label = np.where((colour == "red") | (size > 12), "big", "small")
    size[rng.random(n) < 0.1] = np.nan
    X = np.empty((n, 3), dtype=object)
    X[:, 0], X[:, 1], X[:, 2] = size, colour, weight
    return X, label, size, weight


def graph_inputs(model, X, size, weight):
    """What the caller gives the graph: numbers raw (NaN for missing), text one-hot encoded."""
    columns = [column["name"] for column in model.preprocessing_.columns]
    x = model.preprocessing_.inputs(nnet.tables.as_table(X, columns), model.network_.dtype)
    names = model.preprocessing_.input_names
    x[:, names.index("x0")] = size
    x[:, names.index("x2")] = weight
    return x


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_table_classifier_imputes_and_standardises_in_the_graph(tmp_path, dtype):
    from nnet.sklearn import NNetClassifier

    X, y, size, weight = table(0)
    model = NNetClassifier(hidden_layer_sizes=(32, 16), activation="tanh", max_iter=50, random_state=0, dtype=dtype).fit(X, y)
    path = nnet.export_onnx(model, tmp_path / "table.onnx")
    X_new, _, size_new, weight_new = table(1, n=100)
    out = run(path, graph_inputs(model, X_new, size_new, weight_new))
    np.testing.assert_allclose(out["probabilities"], model.predict_proba(X_new), rtol=TOLERANCE, atol=TOLERANCE)
    np.testing.assert_array_equal(model.classes_[out["label"]], model.predict(X_new))
    properties = {p.key: p.value for p in onnx.load(path).metadata_props}
    assert json.loads(properties["nnet.inputs"]) == ["x0", "x1=blue", "x1=green", "x1=red", "x2"]
    assert json.loads(properties["nnet.fills"]) == {"x1": model.preprocessing_.columns[1]["fill"]}
    assert "Left to the caller: the text columns x1 arrive one-hot encoded" in onnx.load(path).doc_string


def test_a_regressor_answers_in_the_targets_units(tmp_path):
    from nnet.sklearn import NNetRegressor

    rng = np.random.default_rng(2)
    X = rng.normal(size=(300, 4))
    Y = np.column_stack([X @ [3.0, -2.0, 0.0, 1.0] * 50 + 1000, X[:, 0] ** 2])
    X[rng.random(X.shape) < 0.05] = np.nan
    model = NNetRegressor(hidden_layer_sizes=(32,), max_iter=50, random_state=0).fit(X, Y)
    path = nnet.export_onnx(model, tmp_path / "regressor.onnx")
    out = run(path, X)
    np.testing.assert_allclose(out["values"], model.predict(X), rtol=TOLERANCE, atol=TOLERANCE * 1000)


@pytest.mark.parametrize("hidden", ["sigmoid", "tanh", "relu", "leaky_relu", "identity"])
def test_every_activation_and_a_single_output_neuron(tmp_path, hidden):
    activation = nnet.activations.LeakyReLU(0.2) if hidden == "leaky_relu" else hidden
    net = Network([5, 7, 1], activation=activation, output="sigmoid", seed=1)
    x = np.random.default_rng(3).normal(size=(50, 5)).astype(np.float32)
    out = run(nnet.export_onnx(net, tmp_path / "net.onnx"), x)
    np.testing.assert_allclose(out["probabilities"], net.forward(x), rtol=TOLERANCE, atol=TOLERANCE)
    np.testing.assert_array_equal(out["label"], net.predict(x))


def test_a_plain_regression_network(tmp_path):
    net = Network([3, 4, 2], activation="relu", output="identity", seed=0)
    x = np.random.default_rng(4).normal(size=(20, 3)).astype(np.float32)
    out = run(nnet.export_onnx(net, tmp_path / "r.onnx"), x)
    np.testing.assert_allclose(out["values"], net.predict(x), rtol=TOLERANCE, atol=TOLERANCE)


def test_without_onnx_one_line_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r'exporting to ONNX needs the onnx package: pip install "nnet\[onnx\]"'):
        nnet.export_onnx(Network([2, 2]), tmp_path / "x.onnx")
    assert not (tmp_path / "x.onnx").exists()


def test_a_conv_network_exports_with_its_maps(tmp_path, dtype="float32"):
    """Conv (padded, strided), max and average pooling (padded), dropout, flatten, dense: the
    graph answers as nnet does, from uint8 pixels. (float32: onnxruntime's CPU provider has no
    float64 convolution.)"""
    from nnet import layer_kinds

    entries = [{"kind": "dropout", "rate": 0.1}, {"kind": "conv2d", "out_channels": 4, "kernel_size": 5, "activation": "relu"},
               {"kind": "max_pool2d", "size": 3, "stride": 2, "padding": 1},
               {"kind": "conv2d", "out_channels": 6, "kernel_size": 3, "stride": 2, "padding": 1, "activation": "tanh"},
               {"kind": "avg_pool2d", "size": 2, "padding": 1}, {"kind": "flatten"},
               {"kind": "dense", "n_out": 12, "activation": "relu", "dropout": 0.3},
               {"kind": "dense", "n_out": 10, "activation": "softmax"}]
    net = Network(layer_kinds.build(entries, (1, 28, 28), seed=0, dtype=dtype), cost="cross_entropy")
    (x_train, y_train), (x_test, _) = nnet.datasets.load_mnist()
    net.fit(x_train[:500], y_train[:500], epochs=1, batch_size=50, seed=0)
    net.metadata = {"input": {"shape": [28, 28], "preprocessing": "uint8 pixels / 255"}}
    path = nnet.export_onnx(net, tmp_path / "conv.onnx")
    out = run(path, x_test[:200])
    np.testing.assert_allclose(out["probabilities"], net.forward(x_test[:200]), rtol=TOLERANCE, atol=TOLERANCE)
    np.testing.assert_array_equal(out["label"], net.predict(x_test[:200]))
