"""Networks of any kind of layer as plain data, and model files with convolutional layers.

nnet.layer_kinds builds a layer list from its descriptions (a run's ``layers`` setting, a model
file's layer list): the settings of a built network build the same network again; a bad entry
is refused in one line naming the layer. A model file with conv, pooling, flatten and dropout
layers saves, loads, predicts, evaluates and resumes like any other, and a description that
disagrees with its tensors, or with itself, is refused in one line naming the layer."""

from __future__ import annotations

import json

import numpy as np
import pytest

import nnet
from nnet import layer_kinds
from nnet.checkpoints import load_checkpoint, save_checkpoint
from nnet.serialization import load, save
from test_serialization import assert_same_network, refused, rewrite

SETTINGS = [
    {"kind": "conv2d", "out_channels": 3, "kernel_size": 3},
    {"kind": "max_pool2d", "size": 2},
    {"kind": "conv2d", "out_channels": 4, "kernel_size": [2, 2], "padding": 1, "activation": "tanh", "dropout": 0.2},
    {"kind": "avg_pool2d", "size": 2},
    {"kind": "dropout", "rate": 0.1},
    {"kind": "flatten"},
    {"kind": "dense", "n_out": 6, "activation": "leaky_relu", "slope": 0.1, "dropout": 0.3},
    {"kind": "dense", "n_out": 3, "activation": "softmax"},
]
SHAPE = (1, 10, 10)


def network(dtype="float32", seed=0) -> nnet.Network:
    return nnet.Network(layer_kinds.build(SETTINGS, SHAPE, seed=seed, dtype=dtype), cost="cross_entropy")


def images(n=12, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, *SHAPE)).astype(np.float32), rng.integers(0, 3, n)


# -- the layer list ------------------------------------------------------------------------------


def test_the_settings_of_a_built_network_build_it_again():
    net = network()
    settings = layer_kinds.settings_of(net.layers)
    assert settings[0] == {"kind": "conv2d", "out_channels": 3, "kernel_size": [3, 3], "stride": [1, 1],
                           "padding": [0, 0], "activation": "relu", "dropout": 0.0}
    assert settings[4] == {"kind": "dropout", "rate": 0.1} and settings[5] == {"kind": "flatten"}
    again = nnet.Network(layer_kinds.build(json.loads(json.dumps(settings)), SHAPE, seed=0), cost="cross_entropy")
    assert again.describe() == net.describe()
    np.testing.assert_array_equal(again.parameters, net.parameters)  # the same seed draws the same weights
    assert net.sizes == [100, 192, 48, 100, 16, 16, 16, 6, 3]


def test_auto_init_follows_each_layers_activation():
    layers = layer_kinds.build([{"kind": "conv2d", "out_channels": 64, "kernel_size": 5},
                                {"kind": "conv2d", "out_channels": 64, "kernel_size": 5, "activation": "sigmoid"}],
                               (1, 28, 28), seed=0)
    he, normal = layers[0].W.std(), layers[1].W.std()
    assert he == pytest.approx(np.sqrt(2 / 25), rel=0.05) and normal == pytest.approx(1.0, rel=0.05)


@pytest.mark.parametrize(("entries", "message"), [
    ([{"kind": "conv3d"}], "layers\\[0\\]: kind must be one of dense, conv2d, max_pool2d, avg_pool2d, flatten, dropout; "
                           "got 'conv3d'"),
    (["conv"], "layers\\[0\\]: kind must be one of .*got 'conv', not an object"),
    ([], "layers must be a list of layer descriptions such as"),
    ([{"kind": "conv2d", "out_channels": 4}], "layer 0 \\(conv2d\\): a conv2d layer's description lacks kernel_size"),
    ([{"kind": "max_pool2d", "size": 2, "pool": 3}], "layer 0 \\(max_pool2d\\): .* has unknown keys pool"),
    ([{"kind": "conv2d", "out_channels": 0, "kernel_size": 3}], "layer 0 \\(conv2d\\): Conv2D out_channels must be"),
    ([{"kind": "conv2d", "out_channels": 2, "kernel_size": 3, "activation": "swish"}], "unknown activation 'swish'"),
    ([{"kind": "flatten"}, {"kind": "conv2d", "out_channels": 2, "kernel_size": 3}],
     "layer 1 \\(conv2d\\): Conv2D takes feature maps of shape \\(channels, height, width\\)"),
    ([{"kind": "dropout", "rate": 1.5}], "layer 0 \\(dropout\\): dropout rate must be a number in \\[0, 1\\)"),
])
def test_a_bad_entry_is_refused_in_one_line_naming_the_layer(entries, message):
    with pytest.raises(ValueError, match=message) as caught:
        layer_kinds.build(entries, SHAPE)
    assert "\n" not in str(caught.value)


def test_stored_parameters_are_checked_before_anything_is_built():
    with pytest.raises(ValueError, match=r"layer 0 \(conv2d\): its W has shape \(3, 1, 5, 5\), but a conv2d layer of "
                                         r"this description has W of shape \(3, 1, 3, 3\)"):
        layer_kinds.build(SETTINGS[:1], SHAPE, parameters=[{"W": np.zeros((3, 1, 5, 5)), "b": np.zeros(3)}])


# -- model files ------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_conv_model_saves_and_loads_the_same_network(tmp_path, dtype):
    net = network(dtype)
    x, y = images()
    net.fit(x, y, epochs=1, batch_size=4, seed=0)
    again = load(save(net, tmp_path / "conv.safetensors"))
    assert again.describe() == net.describe()
    assert [type(layer) for layer in again.layers] == [type(layer) for layer in net.layers]
    assert again.parameters.tobytes() == net.parameters.tobytes()
    np.testing.assert_array_equal(again.forward(x), net.forward(x))
    np.testing.assert_array_equal(again.predict(x), net.predict(x))
    assert again.evaluate(x, y) == net.evaluate(x, y)
    assert again.metadata["input"]["shape"] == list(SHAPE)


def test_a_dense_network_still_loads_as_it_did(tmp_path):
    net = nnet.Network([6, 5, 3], dropout=0.2, seed=0)
    assert_same_network(net, load(save(net, tmp_path / "dense.safetensors")))


def test_a_conv_run_resumed_from_its_checkpoint_ends_where_the_uninterrupted_run_does(tmp_path):
    x, y = images(20)
    whole = network()
    nnet.Trainer(whole, "momentum", epochs=3, batch_size=6, seed=4).run(x, y)
    first = network()
    trainer = nnet.Trainer(first, "momentum", epochs=1, batch_size=6, seed=4)
    trainer.run(x, y)
    save_checkpoint(first, trainer.checkpoint(), tmp_path / "checkpoint.safetensors")
    resumed, checkpoint = load_checkpoint(tmp_path / "checkpoint.safetensors")
    again = nnet.Trainer(resumed, "momentum", epochs=3, batch_size=6, seed=4)
    again.restore(checkpoint)
    again.run(x, y)
    assert resumed.parameters.tobytes() == whole.parameters.tobytes()


def edit_layer(index, **changes):
    return lambda meta: meta["layers"][index].update(changes)


@pytest.mark.parametrize(("edit", "problem"), [
    (edit_layer(0, kernel_size=[5, 5]), r"layer 0 \(conv2d\): its W has shape \(3, 1, 3, 3\), but a conv2d layer of "
                                         r"this description has W of shape \(3, 1, 5, 5\)"),
    (edit_layer(2, out_channels=5), r"layer 2 \(conv2d\): its W has shape \(4, 3, 2, 2\), but .* \(5, 3, 2, 2\)"),
    (edit_layer(2, in_channels=2), r"layer 2 \(conv2d\): in_channels 2 does not describe the layer its settings and "
                                    r"tensors build \(3\)"),
    (edit_layer(1, output_shape=[3, 5, 5]), r"layer 1 \(max_pool2d\): output_shape \[3, 5, 5\] does not describe"),
    (edit_layer(3, stride=[1, 1]), r"layer 3 \(avg_pool2d\): output_shape \[4, 2, 2\] does not describe the layer "
                                    r"its settings and tensors build \(\[4, 4, 4\]\)"),
    (edit_layer(4, rate=2.0), r"layer 4 \(dropout\): dropout rate must be a number in \[0, 1\); got 2.0"),
    (edit_layer(5, secret="x"), r"layer 5 \(flatten\): a flatten layer's description has unknown keys secret"),
    (edit_layer(0, kind="conv3d"), r"layer 0: kind must be one of .*got 'conv3d'"),
    (edit_layer(1, stride="two"), r"layer 1 \(max_pool2d\): MaxPool2D stride must be a positive integer"),
    (lambda meta: meta.update(input_shape=[1, 0, 10]), r"input_shape must be 1 to 3 positive integers"),
    (lambda meta: meta.update(input_shape=[1, 12, 12]), r"layer 0 \(conv2d\): input_shape \[1, 10, 10\] does not "
                                                        r"describe the layer its settings and tensors build \(\[1, 12, 12\]\)"),
])
def test_a_conv_description_that_disagrees_is_refused_in_one_line_naming_the_layer(tmp_path, edit, problem):
    path = rewrite(save(network(), tmp_path / "conv.safetensors"), edit=edit, sign=True)
    with refused(path, problem) as caught:
        load(path)
    assert "\n" not in str(caught.value)


def test_a_conv_tensor_of_another_shape_is_refused(tmp_path):
    def smaller(tensors):
        tensors["layers.0.W"] = np.zeros((3, 1, 2, 2), np.float32)
        return tensors

    path = rewrite(save(network(), tmp_path / "conv.safetensors"), tensors=smaller, sign=True)
    with refused(path, r"layer 0 \(conv2d\): its W has shape \(3, 1, 2, 2\)"):
        load(path)


def test_a_batch_of_another_size_in_between_changes_nothing():
    """The receptive fields kept in the cache, each led by a 1 (the bias's input): a smaller batch
    (the last of an epoch) in between must not leave the next full batch without its 1s."""
    layer = nnet.convolution.Conv2D(1, 3, 3, input_shape=(1, 8, 8), seed=0)
    assert not layer.channels_last  # the layout in which the 1s could move
    x = np.random.default_rng(0).random((6, 1, 8, 8)).astype(np.float32)
    alone = layer.forward(x, cache={})
    cache: dict = {}
    layer.forward(x, cache=cache)
    layer.forward(x[:2] * 7, cache=cache)
    np.testing.assert_array_equal(layer.forward(x, cache=cache), alone)


def test_prediction_and_evaluation_of_wide_maps_go_in_smaller_slices(monkeypatch):
    """A conv layer's output is wide (Nielsen's first: 11,520 numbers a sample): predict and
    evaluate feed fewer rows at once, so their memory stays bounded, with the same answers."""
    net = network()
    x, y = images(40)
    assert net._slice_rows == min(nnet.network.EVALUATION_BATCH, nnet.network.EVALUATION_NUMBERS // 192)
    whole, scores = net.forward(x), net.evaluate(x, y)
    monkeypatch.setattr(nnet.network, "EVALUATION_NUMBERS", 192 * 7)  # slices of 7 rows
    net = network()  # the same network, built under the smaller bound
    assert net._slice_rows == 7
    np.testing.assert_allclose(net.forward(x), whole, rtol=1e-6, atol=1e-7)
    assert net.evaluate(x, y).cost == pytest.approx(scores.cost, rel=1e-5)
    assert net.evaluate(x, y).accuracy == scores.accuracy


def test_a_conv_network_from_nnets_own_names_builds_each_layer_on_the_one_below():
    import nnet

    net = nnet.Network([nnet.Conv2D(1, 4, 5, input_shape=(1, 28, 28)), nnet.MaxPool2D(2), nnet.Dropout(0.1),
                        nnet.Flatten(), nnet.Dense(4 * 12 * 12, 10, "softmax")], cost="cross_entropy")
    assert net.sizes == [784, 4 * 24 * 24, 4 * 12 * 12, 4 * 12 * 12, 4 * 12 * 12, 10]
    assert [layer["kind"] for layer in net.describe()["layers"]] == [
        "conv2d", "max_pool2d", "dropout", "flatten", "dense"]
    assert nnet.Augmentation.parse("affine").rotation == 10.0
