"""End to end: `nnet train` past the lessons, on the tiny MNIST cut of test_cli_train.py:
--layers (a conv network as settings), --augment, --expand-shifts, --max-norm, their place in
the model file and the checkpoint, a resumed augmented conv run, and the one-line refusals.
And the written forms themselves (nnet.layer_kinds.parse, nnet.augment.Augmentation.parse)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import nnet
from nnet import layer_kinds, runs
from nnet.augment import RECIPES, Augmentation
from nnet.cli import main
from nnet.serialization import read_safetensors
from test_cli_train import one_error_line, tiny, train  # noqa: F401 - tiny is a fixture

CONV = ["--layers", "conv4x5,maxpool2,conv6x3p1,maxpool2,dropout0.25,24,dropout0.5", "--validation", "100",
        "--epochs", "2", "--batch-size", "32", "--seed", "5", "--quiet"]


def test_a_conv_network_from_the_command_line_is_saved_with_its_settings(tiny, tmp_path, capsys):
    out = tmp_path / "conv.safetensors"
    code, _, err = train(capsys, "--dataset", tiny, *CONV, "--augment", "shifts,rotation=8", "--max-norm", "3",
                         "--out", out)
    assert code == 0, err
    network = nnet.load(out)
    kinds = [layer.kind for layer in network.layers]
    assert kinds == ["conv2d", "max_pool2d", "conv2d", "max_pool2d", "dropout", "flatten", "dense", "dense"]
    assert network.layers[-2].dropout == 0.5 and network.layers[4].dropout == 0.25
    assert network.input_shape == (1, 28, 28) and network.layers[-1].n_out == 10
    training = network.metadata["training"]
    assert training["layers"][0] == {"kind": "conv2d", "out_channels": 4, "kernel_size": 5}
    assert training["augment"] == Augmentation(shift=2, rotation=8).settings() and training["max_norm"] == 3.0
    assert np.linalg.norm(network.layers[0].W.reshape(4, -1), axis=1).max() <= 3.0 * (1 + 1e-5)
    assert network.metadata["scores"]["test"]["accuracy"] > 0.2  # it learned something in two epochs
    code, out_text, _ = train(capsys, "--dataset", tiny, *CONV[:-1], "--json", "--out", tmp_path / "b.safetensors")
    assert json.loads(out_text)["settings"]["layers"][-1] == {"kind": "dense", "n_out": 24, "dropout": 0.5}


def test_the_headline_names_the_layers_and_the_augmentation(tiny, tmp_path, capsys):
    code, _, err = train(capsys, "--dataset", tiny, *CONV[:-1], "--augment", "elastic", "--out", tmp_path / "m.safetensors")
    assert code == 0
    assert "training 784-conv4x5-maxpool2-conv6x3p1-maxpool2-dropout0.25-24-dropout0.5-10 (relu hidden" in err
    assert "augmented (alpha=34,sigma=4)" in err


def test_an_augmented_conv_run_resumed_ends_with_the_weights_of_the_uninterrupted_run(tiny, tmp_path, capsys):
    options = ["--dataset", tiny, *CONV, "--augment", "affine,elastic,alpha=8"]
    straight = tmp_path / "straight.safetensors"
    assert main(["train", *options, "--epochs", "3", "--out", str(straight)]) == 0
    assert main(["train", *options, "--epochs", "1", "--checkpoint-dir", str(tmp_path / "run"),
                 "--out", str(tmp_path / "first.safetensors")]) == 0
    resumed = tmp_path / "resumed.safetensors"
    assert main(["train", "--resume", str(tmp_path / "run"), "--epochs", "3", "--quiet", "--out", str(resumed)]) == 0
    a, _ = read_safetensors(straight)
    b, _ = read_safetensors(resumed)
    assert sorted(a) == sorted(b)
    for key in a:
        assert a[key].tobytes() == b[key].tobytes(), key
    code, _, err = train(capsys, "--resume", str(tmp_path / "run"), "--augment", "shifts", "--out", tmp_path / "x.safetensors")
    assert code == 1 and "--augment" in one_error_line(err) and "conflicts with the checkpoint's augment" in err


def test_expand_shifts_trains_on_five_times_the_images(tiny, tmp_path, capsys):
    code, out, _ = train(capsys, "--dataset", tiny, "--expand-shifts", "--hidden", "16", "--validation", "100",
                         "--epochs", "1", "--json", "--out", tmp_path / "e.safetensors")
    assert code == 0
    result = json.loads(out)
    assert result["dataset"]["train"] == 5 * 500 and result["settings"]["expand_shifts"] is True


@pytest.mark.parametrize(("options", "message"), [
    (["--layers", "conv20,maxpool2"], "argument --layers: layers: cannot read 'conv20'"),
    (["--augment", "spin=3"], "argument --augment: augment: 'spin=3' is neither a recipe"),
    (["--augment", "shift=-1"], "argument --augment: shift must be a finite number in the range"),
    (["--max-norm", "0"], "argument --max-norm: max_norm must be a finite number in the range"),
])
def test_bad_options_are_refused_in_one_line(options, message, capsys):
    code, _, err = train(capsys, *options)
    assert code == 2 and message in err


def test_a_network_that_does_not_fit_its_images_is_one_line(tiny, tmp_path, capsys):
    code, _, err = train(capsys, "--dataset", tiny, "--layers", "conv4x30", "--validation", "100", "--quiet",
                         "--out", tmp_path / "m.safetensors")
    assert code == 1
    assert "layer 0 (conv2d): " in one_error_line(err)


# -- the written forms --------------------------------------------------------------------------


def test_the_written_layer_list_reads_back():
    entries = layer_kinds.parse("dropout0.2,conv20x5,maxpool2,conv40x3p1s2,avgpool2,dropout0.1,100,dropout0.5,50")
    assert entries == [
        {"kind": "dropout", "rate": 0.2},
        {"kind": "conv2d", "out_channels": 20, "kernel_size": 5},
        {"kind": "max_pool2d", "size": 2},
        {"kind": "conv2d", "out_channels": 40, "kernel_size": 3, "padding": 1, "stride": 2},
        {"kind": "avg_pool2d", "size": 2},
        {"kind": "dropout", "rate": 0.1},
        {"kind": "flatten"},
        {"kind": "dense", "n_out": 100, "dropout": 0.5},
        {"kind": "dense", "n_out": 50},
    ]
    assert layer_kinds.written(entries) == "dropout0.2-conv20x5-maxpool2-conv40x3p1s2-avgpool2-dropout0.1-100-dropout0.5-50"
    assert layer_kinds.parse("800,dropout0.5,800") == [{"kind": "dense", "n_out": 800, "dropout": 0.5},
                                                       {"kind": "dense", "n_out": 800}]


def test_the_written_augmentation_reads_back():
    assert Augmentation.parse("affine,elastic") == Augmentation(shift=2, rotation=10, scale=0.1, shear=10, alpha=34)
    assert Augmentation.parse("elastic,alpha=20,sigma=3") == Augmentation(alpha=20, sigma=3)
    assert Augmentation.parse("affine,none,shift=1") == Augmentation(shift=1)
    for recipe in RECIPES.values():
        assert Augmentation.parse(str(recipe)) == recipe
    assert Augmentation.parse("none").setting is None and RECIPES["shifts"].setting["shift"] == 2.0
    with pytest.raises(ValueError, match="augment: rotation must be a number; got 'ten'"):
        Augmentation.parse("rotation=ten")


def test_run_settings_check_layers_and_augmentation():
    assert runs.check_setting("augment", {"shift": 2}) == Augmentation(shift=2).settings()
    with pytest.raises(TypeError):
        runs.check_setting("augment", {"spin": 2})
    with pytest.raises(ValueError, match="layers\\[1\\]: kind must be one of"):
        runs.check_setting("layers", [{"kind": "dense", "n_out": 3}, {"kind": "lstm"}])
    with pytest.raises(ValueError, match="expand_shifts must be true or false"):
        runs.check_setting("expand_shifts", "yes")
    settings = runs.resolve({"layers": layer_kinds.parse("conv2x3,maxpool2,8"), "activation": "tanh"})
    network = runs.build_network(settings, 64, 3, (8, 8))
    assert [layer.activation.name for layer in network.layers] == ["tanh", "identity", "identity", "tanh", "softmax"]
    with pytest.raises(ValueError, match="convolution and pooling layers take images; these 12 inputs are not ones"):
        runs.build_network(settings, 12, 3, None)
