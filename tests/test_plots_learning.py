"""The pictures of learning: one example backpropagated (``nnet show MODEL backprop``), the weights'
change since the start, a confusion matrix whose colour shows the mistakes, and hidden layers of
any size drawn big enough to see each neuron."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("matplotlib")
from matplotlib import colormaps  # noqa: E402

import nnet  # noqa: E402
from nnet import plots, runs  # noqa: E402
from nnet.cli import main  # noqa: E402
from nnet.plots import canvas  # noqa: E402
from nnet.plots.inside import NEURON_INCHES  # noqa: E402


@pytest.fixture(scope="module")
def data():
    (x, y), (x_test, y_test) = nnet.datasets.load_mnist()
    return (x[:2000], y[:2000]), (x_test[:300], y_test[:300])


@pytest.fixture(scope="module")
def lesson(data):
    """The lessons' network trained through nnet.runs, its start kept for the oracle."""
    (x, y), test = data
    settings = runs.resolve({"epochs": 1, "validation": 0, "hidden": [16, 12]}, preset="lesson")
    network = runs.build_network(settings, 784, 10)
    start = [layer.W.copy() for layer in network.layers]
    trainer = runs.build_trainer(network, settings)
    trainer.run(x, y)
    network.metadata = runs.metadata(settings, network, classes=[str(k) for k in range(10)], input_shape=[28, 28],
                                     dataset={"name": "mnist"}, history=trainer.history)
    return network, start


def test_backprop_draws_the_librarys_deltas_target_and_wanted_changes(lesson, data, tmp_path):
    network, _ = lesson
    _, (x_test, y_test) = data
    figure = plots.plot_backprop(network, x_test[3], 5, path=tmp_path / "b.png")
    trace = network.backprop(x_test[3:4], [5], record=True)
    assert f"C = {trace.cost:.4g}" in figure.get_suptitle() and "should be 5" in figure.get_suptitle()
    hidden = [axes for axes in figure.axes if axes.get_label().startswith("layer ") and "(hidden" in axes.get_label()]
    assert [axes.get_label() for axes in hidden] == ["layer 0 (hidden 1)", "layer 1 (hidden 2)"]
    for axes, delta in zip(hidden, trace.deltas[:-1]):
        (neurons,) = axes.collections
        np.testing.assert_allclose(neurons.get_array(), delta[0], rtol=1e-6)
        low, high = neurons.get_clim()
        assert low == pytest.approx(-high) and high == pytest.approx(np.abs(delta).max(), rel=1e-6)
    output = next(axes for axes in figure.axes if axes.get_label().endswith("(output)"))
    np.testing.assert_allclose([bar.get_width() for bar in output.patches], trace.output[0], rtol=1e-6)
    marks = output.collections[0].get_offsets()[:, 0]
    assert list(marks) == [1.0 if k == 5 else 0.0 for k in range(10)]  # what we want: the target
    tiles = [axes for axes in figure.axes if axes.images and axes.get_title().startswith("hidden 1, neuron")]
    strongest = np.argsort(-np.abs(trace.deltas[0][0]), kind="stable")[: len(tiles)]
    assert len(tiles) == plots.learning.GRADIENT_TILES
    for axes, j in zip(tiles, strongest):
        assert axes.get_title().startswith(f"hidden 1, neuron {j}\n")
        np.testing.assert_allclose(axes.images[0].get_array(), -trace.gradients[0][0][j].reshape(28, 28), rtol=1e-5)
    with pytest.raises(ValueError, match=r"label must be an answer in 0\.\.9; got 10"):
        plots.plot_backprop(network, x_test[3], 10)
    with pytest.raises(ValueError, match="shows one input of 784 values"):
        plots.plot_backprop(network, x_test[:2], 1)


def test_weights_since_start_are_the_change_from_the_rebuilt_start(lesson, tmp_path):
    network, start = lesson
    figure = plots.plot_weights(network, layer=0, since_start=True, max_neurons=8, path=tmp_path / "s.png")
    tiles = [axes for axes in figure.axes if axes.images and axes.get_label() != "<colorbar>"]
    for j, axes in enumerate(tiles):
        np.testing.assert_allclose(axes.images[0].get_array(), (network.layers[0].W[j] - start[0][j]).reshape(28, 28),
                                   rtol=1e-5, atol=1e-6)
    assert "changed since training began" in figure.get_suptitle()
    deeper = plots.plot_weights(network, layer=1, since_start=True)
    np.testing.assert_allclose(deeper.axes[0].images[0].get_array(), network.layers[1].W - start[1], atol=1e-6)
    bare = nnet.Network([784, 8, 10], seed=0)
    with pytest.raises(ValueError, match="needs the model's training settings and seed"):
        plots.plot_weights(bare, since_start=True)


def test_the_confusion_matrix_shows_a_few_mistakes_beside_a_big_diagonal():
    y_true = np.repeat(np.arange(3), 1000)
    y_pred = y_true.copy()
    y_pred[:3] = 1  # three 0s taken for 1s
    y_pred[1000:1030] = 2  # thirty 1s taken for 2s
    figure = plots.plot_confusion_matrix(y_true, y_pred, classes=["a", "b", "c"])
    colours = figure.axes[0].images[0].get_array()[..., :3]
    reds = colormaps[plots.answers.ERROR_COLORS]
    np.testing.assert_allclose(colours[1, 2], reds(1.0)[:3])  # the most mistakes: the darkest red
    np.testing.assert_allclose(colours[0, 1], reds(3 / 30)[:3])  # three mistakes: visibly coloured
    assert colours[0, 1].min() < 0.95 and np.all(colours[2, 0] == 1.0)  # none: white
    assert all(colours[k, k][1] > colours[k, k][0] for k in range(3))  # the diagonal: green
    assert "33 mistakes" in figure.axes[0].get_title()


@pytest.mark.parametrize("hidden", [30, 128, 1024])
def test_hidden_layers_of_any_size_are_drawn_big_enough_to_see_each_neuron(hidden, data):
    _, (x_test, _) = data
    network = nnet.Network([784, hidden, 10], seed=0)
    figure = plots.plot_activations(network, x_test[0])
    figure.canvas.draw()
    axes = next(axes for axes in figure.axes if axes.get_label() == "layer 0 (hidden 1)")
    rows, columns = (hidden, 1) if hidden <= canvas.STRIP_LIMIT else canvas.grid(hidden)
    box = axes.get_window_extent()
    per_neuron = min(box.width / columns, box.height / rows)
    assert per_neuron >= 0.6 * NEURON_INCHES * canvas.DPI, (per_neuron, box)  # ~11 px or more each


def test_nnet_show_backprop_and_since_start(lesson, data, tmp_path, capsys):
    network, _ = lesson
    _, (x_test, y_test) = data
    model = nnet.save(network, tmp_path / "lesson.safetensors")
    archive = tmp_path / "digits.npz"
    np.savez(archive, x_train=x_test[:100], y_train=y_test[:100], x_test=x_test, y_test=y_test)
    out = tmp_path / "learn.png"
    assert main(["show", str(model), "backprop", "--digit", "8", "--label", "3", "--dataset", str(archive),
                 "--out", str(out)]) == 0
    assert out.stat().st_size > 10_000
    assert main(["show", str(model), "weights", "--since-start", "--out", str(tmp_path / "since.png")]) == 0
    capsys.readouterr()
    assert main(["show", str(model), "backprop", "--image", str(out), "--out", str(tmp_path / "x.png")]) == 1
    assert "needs --label" in capsys.readouterr().err
