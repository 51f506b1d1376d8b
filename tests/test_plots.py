"""Tests for nnet.plots: every picture is drawn, saved, and shows what it says it shows."""

import sys
from xml.etree import ElementTree

import numpy as np
import pytest

pytest.importorskip("matplotlib")
from PIL import Image

import nnet
from nnet import metrics, plots


@pytest.fixture(scope="module")
def data():
    (x_train, y_train), (x_test, y_test) = nnet.datasets.load_mnist()
    return (x_train[:3000], y_train[:3000]), (x_test[:500], y_test[:500])


@pytest.fixture(scope="module")
def trained(data):
    (x, y), test = data
    net = nnet.Network([784, 36, 10], activation="relu", cost="cross_entropy", seed=0)
    history = net.fit(x, y, epochs=3, batch_size=32, optimizer="momentum", learning_rate=0.05,
                      validation_data=test, seed=0)
    net.metadata = {"history": history.to_dict(), "classes": [str(i) for i in range(10)]}
    return net, history


@pytest.fixture(scope="module")
def deep(data):
    (x, y), _ = data
    net = nnet.Network([784, 40, 20, 10], activation="sigmoid", cost="cross_entropy", seed=1)
    net.fit(x, y, epochs=1, batch_size=32, optimizer="adam", learning_rate=1e-3, seed=0)
    return net


def assert_png(path, min_side=200):
    """A readable PNG of a sensible size that is not one flat colour."""
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert min(image.size) >= min_side
        pixels = np.asarray(image.convert("L"), dtype=float)
    assert pixels.std() > 5


def assert_svg(path):
    root = ElementTree.parse(path).getroot()
    assert root.tag.endswith("svg")


def image_axes(figure):
    return [axes for axes in figure.axes if axes.images and axes.get_label() != "<colorbar>"]


# -- history ---------------------------------------------------------------------------------


def test_history_from_the_history_and_from_its_dict(trained, tmp_path):
    net, history = trained
    figure = plots.plot_history(history, path=tmp_path / "history.png")
    assert_png(tmp_path / "history.png")
    cost_axes, accuracy_axes = figure.axes[:2]
    for axes in (cost_axes, accuracy_axes):
        lines = [line for line in axes.get_lines() if line.get_label() in ("training", "validation")]
        assert sorted(line.get_label() for line in lines) == ["training", "validation"]
        assert all(len(line.get_xdata()) == 3 for line in lines)
    training = next(line for line in accuracy_axes.get_lines() if line.get_label() == "training")
    np.testing.assert_allclose(training.get_ydata(), 100 * np.array(history.column("train_accuracy")))
    plots.plot_history(net.metadata["history"], path=tmp_path / "history.svg")
    assert_svg(tmp_path / "history.svg")


def test_history_marks_the_epoch_early_stopping_kept():
    records = [
        nnet.EpochRecord(epoch=e, train_cost=1 / e, train_accuracy=0.5 + e / 10, validation_cost=v,
                         validation_accuracy=None if v is None else 0.6 + e / 20, learning_rate=0.1, seconds=1.0)
        for e, v in ((1, 0.9), (2, 0.5), (3, None), (4, 0.7))
    ]
    history = nnet.History(epochs=records, best_epoch=2, stopped_early=True)
    figure = plots.plot_history(history)
    title = figure._suptitle.get_text()
    assert "4 epochs; weights kept from the best epoch, 2: validation accuracy 70.0%, stopped early" in title
    cost_axes = figure.axes[0]
    (validation,) = [line for line in cost_axes.get_lines() if line.get_label() == "validation"]
    assert np.isnan(validation.get_ydata()[2]) and len(validation.get_ydata()) == 4  # the gap stays a gap
    (best,) = [line for line in cost_axes.get_lines() if line.get_label().startswith("best epoch 2")]
    assert list(best.get_xdata()) == [2, 2]
    without = plots.plot_history(nnet.History(epochs=records[:1]))
    assert without._suptitle.get_text() == "Training history: 1 epoch, final validation accuracy 65.0%"


def test_history_without_epochs_is_an_error():
    with pytest.raises(ValueError, match="no training history to plot"):
        plots.plot_history(nnet.History())
    with pytest.raises(TypeError, match="must be a nnet History"):
        plots.plot_history([1, 2, 3])


# -- weights ---------------------------------------------------------------------------------


@pytest.mark.parametrize("max_neurons, tiles", [(64, 36), (16, 16), (5, 5)])
def test_weights_draw_one_tile_per_neuron(trained, tmp_path, max_neurons, tiles):
    net, _ = trained
    figure = plots.plot_weights(net, layer=0, max_neurons=max_neurons, path=tmp_path / "w.png")
    assert_png(tmp_path / "w.png")
    drawn = image_axes(figure)
    assert len(drawn) == tiles
    first = drawn[0].images[0]
    np.testing.assert_array_equal(first.get_array(), net.layers[0].W[0].reshape(28, 28))
    low, high = first.get_clim()
    assert low == pytest.approx(-high)  # a diverging scale centred at zero
    assert drawn[3].get_title() == "neuron 3"


def test_weights_of_a_deeper_layer_are_a_heat_map(deep, tmp_path):
    figure = plots.plot_weights(deep, layer=1, path=tmp_path / "w1.svg")
    assert_svg(tmp_path / "w1.svg")
    (axes,) = image_axes(figure)
    assert axes.images[0].get_array().shape == (20, 40)


def test_weights_of_inputs_that_are_not_an_image_are_a_heat_map(tmp_path):
    net = nnet.Network([30, 7, 3], seed=0)
    figure = plots.plot_weights(net, layer=0, path=tmp_path / "w.png")
    assert_png(tmp_path / "w.png")
    (axes,) = image_axes(figure)
    np.testing.assert_array_equal(axes.images[0].get_array(), net.layers[0].W)
    low, high = axes.images[0].get_clim()
    assert high == pytest.approx(np.abs(net.layers[0].W).max()) and low == pytest.approx(-high)
    assert axes.get_title().startswith("Weights into hidden 1 (layer=0)")


def test_weights_layer_out_of_range(deep):
    with pytest.raises(ValueError, match=r"layer must be in 0\.\.2 \(the network has 3 Dense layers\); got 3"):
        plots.plot_weights(deep, layer=3)


# -- activations -----------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["trained", "deep"])
def test_activations_one_panel_per_layer_and_the_answer_marked(which, request, data, tmp_path):
    net = request.getfixturevalue(which)
    net = net[0] if isinstance(net, tuple) else net
    _, (x_test, _) = data
    figure = plots.plot_activations(net, x_test[0], path=tmp_path / "a.png")
    assert_png(tmp_path / "a.png")
    labels = [axes.get_label() for axes in figure.axes if axes.get_label().startswith("layer ")]
    assert [axes.get_label() for axes in figure.axes if axes.get_label() == "input"] == ["input"]
    assert labels == [f"layer {i} (hidden {i + 1})" for i in range(len(net.sizes) - 2)] + [
        f"layer {len(net.sizes) - 2} (output)"
    ]
    output_axes = next(axes for axes in figure.axes if axes.get_label().endswith("(output)"))
    answers = [index for index, bar in enumerate(output_axes.patches) if bar.get_gid() == "answer"]
    assert answers == [int(net.predict(x_test[:1])[0])]
    np.testing.assert_allclose([bar.get_width() for bar in output_axes.patches], net.forward(x_test[:1])[0], rtol=1e-6)


def test_activations_light_each_hidden_neuron_by_its_activation(deep, data):
    _, (x_test, _) = data
    figure = plots.plot_activations(deep, x_test[5].reshape(28, 28))
    trace = deep.forward(x_test[5], record=True)
    hidden = [axes for axes in figure.axes if axes.get_label().startswith("layer ") and "(hidden" in axes.get_label()]
    assert len(hidden) == 2
    for axes, a in zip(hidden, trace.activations[1:-1]):
        (neurons,) = axes.collections
        np.testing.assert_allclose(neurons.get_array(), a[0], rtol=1e-6)
        assert neurons.get_clim() == (0.0, 1.0)  # sigmoid: black = 0, white = 1


def test_activations_take_one_input(trained, data):
    net, _ = trained
    _, (x_test, _) = data
    with pytest.raises(ValueError, match="shows one input of 784 values"):
        plots.plot_activations(net, x_test[:2])


# -- confusion, mistakes, means -----------------------------------------------------------------


def test_confusion_matrix_cells_are_the_counts(trained, data, tmp_path):
    net, _ = trained
    _, (x_test, y_test) = data
    predicted = net.predict(x_test)
    figure = plots.plot_confusion_matrix(y_test, predicted, path=tmp_path / "c.png")
    assert_png(tmp_path / "c.png")
    counts = metrics.confusion_matrix(y_test, predicted, 10)
    texts = [int(text.get_text()) for text in figure.axes[0].texts]
    assert np.array_equal(np.array(texts).reshape(10, 10), counts)
    assert f"{100 * np.trace(counts) / counts.sum():.1f}% right of 500" in figure.axes[0].get_title()
    colours = figure.axes[0].images[0].get_array()[..., :3]
    texts = np.array([text.get_color() for text in figure.axes[0].texts], dtype=object).reshape(10, 10)
    luminance = colours @ np.array([0.299, 0.587, 0.114])
    assert all(texts[counts > 0][luminance[counts > 0] < 0.5] == "white")  # readable on every cell
    assert all(texts[counts > 0][luminance[counts > 0] >= 0.5] == "black")


def test_mistakes_are_exactly_the_wrong_ones(trained, data, tmp_path):
    net, _ = trained
    _, (x_test, y_test) = data
    wrong = np.flatnonzero(net.predict(x_test) != y_test)
    assert 0 < len(wrong)
    figure = plots.plot_mistakes(net, x_test, y_test, max_images=8, path=tmp_path / "m.png")
    assert_png(tmp_path / "m.png")
    titles = [axes.get_title() for axes in image_axes(figure)]
    assert len(titles) == min(8, len(wrong))
    first = wrong[0]
    assert titles[0].startswith(f"true {y_test[first]} /\npredicted {net.predict(x_test[first:first + 1])[0]} (")
    assert f"{len(wrong)} of 500 inputs wrong" in figure._suptitle.get_text()


def test_no_mistakes_is_a_picture_that_says_so(trained, data, tmp_path):
    net, _ = trained
    _, (x_test, y_test) = data
    right = net.predict(x_test) == y_test
    figure = plots.plot_mistakes(net, x_test[right][:20], y_test[right][:20], path=tmp_path / "none.png")
    assert "No mistakes: all 20 inputs" in figure.texts[0].get_text()


def test_class_means_are_the_average_images(data, tmp_path):
    (x, y), _ = data
    figure = plots.plot_class_means(x, y, path=tmp_path / "means.png")
    assert_png(tmp_path / "means.png")
    tiles = image_axes(figure)
    assert len(tiles) == 10
    counts = np.bincount(y, minlength=10)
    assert [axes.get_title() for axes in tiles] == [f"{c}  ({counts[c]} images)" for c in range(10)]
    np.testing.assert_allclose(tiles[3].images[0].get_array(), x[y == 3].reshape(-1, 28, 28).mean(axis=0))


def test_class_means_need_a_name_per_class(data):
    (x, y), _ = data
    with pytest.raises(ValueError, match=r"y has labels up to 9, but classes names only 3: \['a', 'b', 'c'\]"):
        plots.plot_class_means(x[:50], y[:50], classes=["a", "b", "c"])  # labels go up to 9


# -- saving and the one entry point ------------------------------------------------------------


def test_save_figure_checks_the_suffix_and_leaves_no_temporary_file(trained, tmp_path):
    net, _ = trained
    figure = plots.plot_weights(net, max_neurons=4)
    with pytest.raises(ValueError, match=r"must end in one of \.png, \.svg \(got '\.jpg'\)"):
        plots.save_figure(figure, tmp_path / "w.jpg")
    plots.save_figure(figure, tmp_path / "w.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.png"]
    with pytest.raises(FileNotFoundError, match="nowhere"):
        plots.save_figure(figure, tmp_path / "nowhere" / "w.png")


def test_without_matplotlib_the_error_says_how_to_install_it(monkeypatch, data):
    (x, y), _ = data
    for name in [name for name in sys.modules if name == "matplotlib" or name.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    with pytest.raises(ImportError, match=r'pip install "nnet\[plots\]"'):
        plots.plot_class_means(x[:20], y[:20])


@pytest.mark.parametrize("suffix", ["png", "svg"])
@pytest.mark.parametrize("what", sorted(set(plots.PICTURES) - {"filters", "feature-maps", "augment"}))  # (test_plots_maps)
def test_render_every_picture(trained, data, tmp_path, what, suffix):
    net, _ = trained
    _, (x_test, y_test) = data
    figure = plots.render(what, net, x=x_test, y=y_test, index=3, path=tmp_path / f"{what}.{suffix}")
    assert (assert_png if suffix == "png" else assert_svg)(tmp_path / f"{what}.{suffix}") is None
    assert figure.get_suptitle() or figure.axes[0].get_title()  # every picture says what it is


def test_render_errors(trained, data):
    net, _ = trained
    _, (x_test, _y_test) = data
    with pytest.raises(ValueError, match="unknown picture 'loss'; choose one of: history, weights, activations"):
        plots.render("loss", net)
    with pytest.raises(ValueError, match="the 'confusion' picture needs data: pass x and y"):
        plots.render("confusion", net, x=x_test)
    with pytest.raises(ValueError, match=r"index must be in 0\.\.499"):
        plots.render("activations", net, x=x_test, index=500)
    bare = nnet.Network([784, 8, 10], cost="cross_entropy", seed=0)
    with pytest.raises(ValueError, match="this model has no training history"):
        plots.render("history", bare)


def test_class_names_come_from_the_model(trained, data):
    net, _ = trained
    _, (x_test, y_test) = data
    named = net.copy()
    words = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    named.metadata = {**net.metadata, "classes": words}
    figure = plots.plot_activations(named, x_test[0])
    output_axes = next(axes for axes in figure.axes if axes.get_label().endswith("(output)"))
    assert [label.get_text() for label in output_axes.get_yticklabels()] == words
    figure = plots.plot_mistakes(named, x_test, y_test)
    first = np.flatnonzero(named.predict(x_test) != y_test)[0]
    assert image_axes(figure)[0].get_title().startswith(f"true {words[y_test[first]]} /")
    figure = plots.render("confusion", named, x=x_test, y=y_test)  # render passes them on
    assert [label.get_text() for label in figure.axes[0].get_xticklabels()] == words


def test_a_network_with_one_output_neuron(data, tmp_path):
    # one sigmoid output answers "is it a 1?": the bar is labelled with class 1's name
    (x, y), _ = data
    ones = (y == 1).astype(np.int64)
    net = nnet.Network([784, 8, 1], activation="relu", output="sigmoid", cost="cross_entropy", seed=0)
    net.fit(x[:600], ones[:600], epochs=1, batch_size=32, optimizer="adam", learning_rate=1e-2, seed=0)
    figure = plots.render("activations", net, x=x, index=int(np.flatnonzero(ones)[0]), path=tmp_path / "one.png")
    assert_png(tmp_path / "one.png")
    output_axes = next(axes for axes in figure.axes if axes.get_label().endswith("(output)"))
    assert [label.get_text() for label in output_axes.get_yticklabels()] == ["1?"]
    plots.render("mistakes", net, x=x[:200], y=ones[:200], path=tmp_path / "mistakes.png")
    plots.render("confusion", net, x=x[:200], y=ones[:200], path=tmp_path / "confusion.png")
    assert_png(tmp_path / "confusion.png")
