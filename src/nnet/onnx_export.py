"""ONNX export: a trained network, with the preprocessing it can carry, as one ``.onnx`` graph.

``export_onnx(network, path)`` writes a graph any ONNX runtime can run (needs the ``onnx``
package: ``pip install "nnet[onnx]"``)::

    input "input"  (n, n_inputs), the network's float type; or uint8 pixels for an image model
      |  table models: missing numbers (NaN) -> the training median, then (x - mean) / scale
      |  image models: pixels * (1/255)
    Gemm (x Wᵀ + b) and the activation, layer after layer (Sigmoid, Tanh, Relu, LeakyRelu,
    Softmax; identity adds nothing); a convolutional network's rows reshaped to its maps first,
    then Conv, MaxPool, AveragePool and Flatten (dropout is nothing at prediction time)
      |
    classifier:  "probabilities" (n, n_outputs), "label" int64 (n,): the brightest output (a
                 single output neuron: 1 where it exceeds 0.5), an index into the classes
    regression:  "values" (n, n_outputs), in the targets' units (their standardisation undone)

What the graph leaves to the caller, said in the graph's own ``doc_string`` and metadata
(``nnet.inputs``, ``nnet.classes``): a table model's text columns arrive one-hot encoded, one
input per category in the order of ``nnet.inputs`` (``column=category``), a missing cell as its
column's most frequent category (``nnet.fills``), an unseen one as all zeros; and the class names,
which the metadata lists.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ._atomic import atomic_file
from .preprocessing import Preprocessing

#: The ONNX operator set the graph is written for.
OPSET = 17
#: nnet's activations as ONNX operators (identity has none).
OPERATORS = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "Relu", "leaky_relu": "LeakyRelu", "softmax": "Softmax"}


def export_onnx(network, path, *, inputs: str = "auto") -> Path:
    """Write ``network`` (an :class:`nnet.Network`, or a fitted ``nnet.sklearn`` estimator) to
    ``path`` as an ONNX model, atomically; returns the path.

    Parameters
    ----------
    inputs : {"auto", "table", "pixels", "floats"}
        What the graph takes: "table" a table model's columns (its ``metadata["preprocessing"]``
        applied in the graph), "pixels" uint8 pixels (scaled by 1/255 in the graph, as
        ``Network.forward`` does), "floats" the network's inputs as they are. "auto": "table"
        when the network carries a table preprocessing, "pixels" when its input is 28x28
        images, else "floats".
    """
    try:
        import onnx
        from onnx import TensorProto, helper, numpy_helper
    except ImportError:
        raise ImportError('exporting to ONNX needs the onnx package: pip install "nnet[onnx]"') from None
    network = getattr(network, "network_", network)  # an estimator: its network
    meta = network.metadata or {}
    preprocessing = Preprocessing.from_description(meta["preprocessing"]) if meta.get("preprocessing") else None
    kind = _input_kind(inputs, network, preprocessing)
    float_type = TensorProto.DOUBLE if network.dtype == np.float64 else TensorProto.FLOAT
    nodes, initializers = [], []

    def constant(name: str, value) -> str:
        initializers.append(numpy_helper.from_array(np.asarray(value, dtype=network.dtype), name))
        return name

    x = "input"
    input_type = TensorProto.UINT8 if kind == "pixels" else float_type
    if kind == "pixels":
        nodes += [helper.make_node("Cast", [x], ["pixels"], to=float_type),
                  helper.make_node("Mul", ["pixels", constant("pixel_scale", 1.0 / 255.0)], ["scaled"])]
        x = "scaled"
    elif kind == "table":
        fill, mean, scale = _input_vectors(preprocessing)
        nodes += [helper.make_node("IsNaN", [x], ["missing"]),
                  helper.make_node("Where", ["missing", constant("fill", fill), x], ["filled"]),
                  helper.make_node("Sub", ["filled", constant("mean", mean)], ["centred"]),
                  helper.make_node("Div", ["centred", constant("scale", scale)], ["standardised"])]
        x = "standardised"
    if len(network.input_shape) > 1:  # the rows as the first layer's maps
        nodes.append(helper.make_node("Reshape", [x, _int64(initializers, "maps", [-1, *network.input_shape])], ["x0"]))
        x = "x0"
    for index, layer in enumerate(network.layers):
        if layer.kind in ("max_pool2d", "avg_pool2d", "flatten", "dropout"):
            x = _shaping(helper, nodes, layer, x, index)
            continue
        W, b = constant(f"layers.{index}.W", layer.W), constant(f"layers.{index}.b", layer.b)
        z = f"z{index}"
        if layer.kind == "conv2d":
            nodes.append(helper.make_node("Conv", [x, W, b], [z], kernel_shape=list(layer.kernel_size),
                                          strides=list(layer.stride), pads=[*layer.padding, *layer.padding]))
        else:
            nodes.append(helper.make_node("Gemm", [x, W, b], [z], transB=1))
        name = layer.activation.name
        if name == "identity":
            x = z
            continue
        settings = {"alpha": layer.activation.slope} if name == "leaky_relu" else {"axis": 1} if name == "softmax" else {}
        x = f"a{index}"
        nodes.append(helper.make_node(OPERATORS[name], [z], [x], **settings))
    k = network.n_outputs
    outputs = []
    if network.task == "regression":
        target = preprocessing.target if preprocessing is not None else None
        if target:
            nodes += [helper.make_node("Mul", [x, constant("target_scale", target["scale"])], ["unscaled"]),
                      helper.make_node("Add", ["unscaled", constant("target_mean", target["mean"])], ["values"])]
        else:
            nodes.append(helper.make_node("Identity", [x], ["values"]))
        outputs.append(helper.make_tensor_value_info("values", float_type, ["n", k]))
    else:
        nodes.append(helper.make_node("Identity", [x], ["probabilities"]))
        if k == 1:
            nodes += [helper.make_node("Greater", [x, constant("half", [0.5])], ["yes"]),
                      helper.make_node("Cast", ["yes"], ["yes_int"], to=TensorProto.INT64),
                      helper.make_node("Squeeze", ["yes_int", _int64(initializers, "axis_1", [1])], ["label"])]
        else:
            nodes.append(helper.make_node("ArgMax", [x], ["label"], axis=1, keepdims=0))
        outputs += [helper.make_tensor_value_info("probabilities", float_type, ["n", k]),
                    helper.make_tensor_value_info("label", TensorProto.INT64, ["n"])]
    graph = helper.make_graph(nodes, "nnet", [helper.make_tensor_value_info("input", input_type, ["n", network.n_inputs])],
                              outputs, initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="nnet",
                              doc_string=_doc(kind, network, preprocessing))
    helper.set_model_props(model, _properties(network, preprocessing, kind))
    onnx.checker.check_model(model)
    path = Path(path)
    with atomic_file(path) as file:
        file.write(model.SerializeToString())
    return path


def _shaping(helper, nodes: list, layer, x: str, index: int) -> str:
    """The node of a layer without weights: pooling (nnet's padding never wins a max, and counts
    as zeros in an average, as ONNX's does), flatten; dropout passes x on at prediction time."""
    if layer.kind == "dropout":
        return x
    if layer.kind == "flatten":
        nodes.append(helper.make_node("Flatten", [x], [f"a{index}"], axis=1))
        return f"a{index}"
    operator, extra = ("MaxPool", {}) if layer.kind == "max_pool2d" else ("AveragePool", {"count_include_pad": 1})
    nodes.append(helper.make_node(operator, [x], [f"a{index}"], kernel_shape=list(layer.kernel_size),
                                  strides=list(layer.stride), pads=[*layer.padding, *layer.padding], **extra))
    return f"a{index}"


def _input_kind(inputs: str, network, preprocessing) -> str:
    if inputs not in ("auto", "table", "pixels", "floats"):
        raise ValueError(f"inputs must be auto, table, pixels or floats; got {inputs!r}")
    if inputs == "table" and preprocessing is None:
        raise ValueError("inputs='table' needs a network whose metadata holds a table's preprocessing")
    if inputs != "auto":
        return inputs
    if preprocessing is not None:
        return "table"
    images = list(network.input_shape) in ([28, 28], [784], [1, 28, 28]) and "pixels" in str(network.metadata.get("input", {}).get(
        "preprocessing", "uint8 pixels"))
    return "pixels" if images else "floats"


def _input_vectors(preprocessing: Preprocessing) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """fill, mean and scale for each input: a number column's own, and 0, 0, 1 (nothing) for
    the one-hot inputs of a text column."""
    fill, mean, scale = [], [], []
    for column in preprocessing.columns:
        if column["kind"] == "number":
            fill.append(column["fill"])
            mean.append(column["mean"])
            scale.append(column["scale"])
        else:
            width = len(column["categories"])
            fill += [0.0] * width
            mean += [0.0] * width
            scale += [1.0] * width
    return np.array(fill), np.array(mean), np.array(scale)


def _int64(initializers: list, name: str, value) -> str:
    from onnx import numpy_helper

    initializers.append(numpy_helper.from_array(np.asarray(value, dtype=np.int64), name))
    return name


def _doc(kind: str, network, preprocessing) -> str:
    task = "regression: 'values' in the targets' units" if network.task == "regression" else \
        "classification: 'probabilities' and 'label' (an index into nnet.classes)"
    if kind == "table":
        texts = [column["name"] for column in preprocessing.columns if column["kind"] == "text"]
        left = (f" Left to the caller: the text columns {', '.join(texts)} arrive one-hot encoded as listed in "
                f"nnet.inputs (a missing cell as the category in nnet.fills, an unseen one as zeros)." if texts else "")
        return (f"nnet {task}. Input: the table's {network.n_inputs} inputs in the order of nnet.inputs; numbers as "
                f"they are (NaN for missing: imputed and standardised in the graph).{left}")
    if kind == "pixels":
        return f"nnet {task}. Input: uint8 pixels, 0..255 (scaled by 1/255 in the graph)."
    return f"nnet {task}. Input: the network's {network.n_inputs} inputs as floats, as Network.forward takes them."


def _properties(network, preprocessing, kind: str) -> dict:
    meta = network.metadata or {}
    properties = {"nnet.task": network.task, "nnet.input": kind}
    if network.task == "classification":
        properties["nnet.classes"] = json.dumps(network.class_names)
    elif meta.get("targets"):
        properties["nnet.targets"] = json.dumps(meta["targets"])
    if preprocessing is not None:
        properties["nnet.inputs"] = json.dumps(preprocessing.input_names)
        properties["nnet.fills"] = json.dumps({c["name"]: c["fill"] for c in preprocessing.columns if c["kind"] == "text"})
    return properties
