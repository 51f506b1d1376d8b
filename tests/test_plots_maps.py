"""The pictures of a convolutional network (nnet.plots.maps) and `nnet show` drawing them: the
filters are the layer's weights, the feature maps the trace's activations, the augmentation
picture the images and their distortions from the seed; and the one-line refusals."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("matplotlib")

import nnet
from nnet import layer_kinds, plots
from nnet.augment import Augmentation
from nnet.cli import main
from test_cli_train import one_error_line, tiny  # noqa: F401 - tiny is a fixture
from test_plots import assert_png, image_axes

LAYERS = "conv6x5,maxpool2,conv8x3,maxpool2,24"


@pytest.fixture(scope="module")
def conv():
    entries = layer_kinds.parse(LAYERS) + [{"kind": "dense", "n_out": 10, "activation": "softmax"}]
    entries = [{"activation": "relu", **entry} if entry["kind"] in ("conv2d", "dense") else entry for entry in entries]
    net = nnet.Network(layer_kinds.build(entries, (1, 28, 28), seed=0), cost="cross_entropy")
    (x, y), _ = nnet.datasets.load_mnist()
    net.fit(x[:600], y[:600], epochs=1, batch_size=32, seed=0)
    return net, x[:50], y[:50]


def test_filters_of_the_first_layer_are_its_weights_one_tile_each(conv, tmp_path):
    net, _, _ = conv
    figure = plots.plot_filters(net, path=tmp_path / "filters.png")
    tiles = image_axes(figure)
    assert len(tiles) == 6
    for f, axes in enumerate(tiles):
        np.testing.assert_array_equal(axes.images[0].get_array(), net.layers[0].W[f, 0])
    assert_png(tmp_path / "filters.png")


def test_filters_of_a_deeper_layer_are_a_row_per_map_and_a_column_per_input(conv):
    net, _, _ = conv
    figure = plots.plot_filters(net, layer=2, max_filters=5, max_maps=4)
    tiles = image_axes(figure)
    assert len(tiles) == 5 * 4
    np.testing.assert_array_equal(tiles[4 * 3 + 2].images[0].get_array(), net.layers[2].W[3, 2])
    with pytest.raises(ValueError, match=r"layer 1 is not convolutional; filters are drawn for layers \[0, 2\]"):
        plots.plot_filters(net, layer=1)
    with pytest.raises(ValueError, match="no convolutional layer"):
        plots.plot_filters(nnet.Network([4, 3], seed=0))
    with pytest.raises(ValueError, match="layer 0 is a conv2d layer: weights are a dense layer's"):
        plots.plot_weights(net, layer=0)


def test_feature_maps_are_the_traces_activations(conv, tmp_path):
    net, x, _ = conv
    figure = plots.plot_feature_maps(net, x[3], path=tmp_path / "maps.png", max_maps=4)
    trace = net.forward(x[3:4], record=True)
    for layer in (0, 1, 2, 3):
        for map_index in range(4):
            axes = next(a for a in figure.axes if a.get_label() == f"layer {layer} map {map_index}")
            np.testing.assert_array_equal(axes.images[0].get_array(), trace.activations[layer + 1][0, map_index])
    assert_png(tmp_path / "maps.png")
    with pytest.raises(ValueError, match="shows one input of 784 values"):
        plots.plot_feature_maps(net, x[:2])
    with pytest.raises(ValueError, match="no feature maps"):
        plots.plot_feature_maps(nnet.Network([784, 10], seed=0), x[0])


def test_the_augmentation_picture_is_each_image_then_its_distortions_from_the_seed(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (3, 12, 12)).astype(np.uint8)
    augmentation = Augmentation(shift=2, rotation=10)
    figure = plots.plot_augmentation(images.reshape(3, -1), augmentation, variants=4, seed=9, path=tmp_path / "a.png")
    tiles = image_axes(figure)
    assert len(tiles) == 3 * 5
    expected = augmentation(np.repeat(images, 4, axis=0), np.random.default_rng(9), dtype=np.float64).reshape(3, 4, 12, 12)
    for row in range(3):
        np.testing.assert_array_equal(tiles[5 * row].images[0].get_array(), images[row])
        for column in range(4):
            np.testing.assert_array_equal(tiles[5 * row + 1 + column].images[0].get_array(), expected[row, column])
    assert_png(tmp_path / "a.png")
    with pytest.raises(ValueError, match="rows of 10 values are not square ones"):
        plots.plot_augmentation(np.zeros((2, 10)), augmentation)


@pytest.mark.parametrize("suffix", ["png", "svg"])
@pytest.mark.parametrize("what", ["filters", "feature-maps", "augment"])
def test_render_every_conv_picture(conv, tmp_path, what, suffix):
    from test_plots import assert_svg

    net, x, y = conv
    path = tmp_path / f"{what}.{suffix}"
    figure = plots.render(what, net, x=x, y=y, index=3, layer=None, path=path, augmentation=Augmentation(shift=2))
    assert (assert_png if suffix == "png" else assert_svg)(path) is None
    assert figure.get_suptitle()
    with pytest.raises(ValueError, match="needs an augmentation"):
        plots.render("augment", net, x=x, y=y)


# -- nnet show ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def model(tiny, tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / "conv.safetensors"
    assert main(["train", "--dataset", tiny, "--layers", LAYERS, "--augment", "affine", "--validation", "100",
                 "--epochs", "1", "--quiet", "--out", str(path)]) == 0
    return str(path)


@pytest.mark.parametrize("options", [["filters"], ["filters", "--layer", "2"], ["feature-maps", "--digit", "7"],
                                     ["feature-maps", "--index", "3"], ["augment", "--digit", "4"],
                                     ["augment", "--augment", "elastic"]])
def test_nnet_show_draws_the_conv_pictures(model, tiny, tmp_path, capsys, options):
    out = tmp_path / "picture.png"
    assert main(["show", model, *options, "--dataset", tiny, "--out", str(out)]) == 0
    assert_png(out)
    assert capsys.readouterr().out.strip() == f"saved {out}"


def test_digit_is_the_test_image_as_index_is(model, tiny, tmp_path, capsys):
    by_digit, by_index = tmp_path / "digit.png", tmp_path / "index.png"
    for options, out in ((["--digit", "7"], by_digit), (["--index", "7"], by_index)):
        assert main(["show", model, "feature-maps", *options, "--dataset", tiny, "--out", str(out)]) == 0
    assert by_digit.read_bytes() == by_index.read_bytes()


@pytest.mark.parametrize(("options", "message"), [
    (["filters", "--layer", "1"], "layer 1 is not convolutional; filters are drawn for layers [0, 2]"),
    (["augment", "--augment", "twist=3"], "--augment twist=3: augment: 'twist=3' is neither a recipe"),
    (["feature-maps", "--digit", "1200"], "index must be in 0..199"),
])
def test_nnet_show_refuses_in_one_line(model, tiny, tmp_path, capsys, options, message):
    assert main(["show", model, *options, "--dataset", tiny, "--out", str(tmp_path / "p.png")]) == 1
    assert message in one_error_line(capsys.readouterr().err)


def test_a_model_trained_without_augmentation_asks_for_one(tiny, tmp_path, capsys):
    path = tmp_path / "plain.safetensors"
    assert main(["train", "--dataset", tiny, "--hidden", "8", "--validation", "100", "--epochs", "1", "--quiet",
                 "--out", str(path)]) == 0
    assert main(["show", str(path), "augment", "--dataset", tiny, "--out", str(tmp_path / "p.png")]) == 1
    assert "was trained without augmentation: give --augment SPEC" in one_error_line(capsys.readouterr().err)
