"""The lessons' pictures, drawn for your own network with matplotlib.

Each function draws one picture and returns a :class:`matplotlib.figure.Figure`; given
``path=`` it also saves it (PNG or SVG, by the file's suffix, written atomically):

- :func:`plot_history`          cost and accuracy per epoch, training beside validation
- :func:`plot_weights`          the weights into each neuron: "what pixel pattern it picks up on"
- :func:`plot_activations`      one input flowing through: pixels, hidden neurons lit, the answer
- :func:`plot_confusion_matrix` which digits are taken for which
- :func:`plot_mistakes`         the test images the network gets wrong
- :func:`plot_class_means`      the average image of each class

``PICTURES`` maps the names the CLI uses (``nnet show MODEL WHAT``) to these functions, and
:func:`render` draws any of them from a network and a dataset with one call.

The figures are built on :class:`matplotlib.figure.Figure` directly, never through pyplot's
global state, so they can be drawn from several threads at once (a web server, say).
matplotlib is optional: ``pip install "nnet[plots]"``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from . import metrics
from ._atomic import atomic_file
from .images import IMAGE_SIDE
from .network import Network
from .training import History

#: File suffix -> the format matplotlib writes.
FORMATS = {".png": "png", ".svg": "svg"}
DPI = 110
WEIGHT_COLORS = "RdBu_r"  # red: positive weight (ink there excites), blue: negative (inhibits)
BRIGHTNESS = "gray"  # neurons and pixels: black = 0 (off), white = 1 (lit), as in the lessons
COUNT_COLORS = "Blues"
ANSWER_COLOR, OTHER_COLOR = "#d62728", "#9ecae1"
STRIP_LIMIT = 32  # hidden layers with more neurons than this are drawn as a grid, not a strip


def _matplotlib():
    """The matplotlib package, imported on first use: it is an optional dependency."""
    try:
        import matplotlib
        import matplotlib.figure
    except ImportError as error:
        raise ImportError(
            'nnet.plots draws with matplotlib, which is not installed; install it with: pip install "nnet[plots]"'
        ) from error
    return matplotlib


def _figure(width: float, height: float):
    return _matplotlib().figure.Figure(figsize=(width, height), layout="constrained")


def save_figure(figure, path) -> Path:
    """Save ``figure`` to ``path``: PNG or SVG by the suffix, via a temporary file and a rename.

    Raises ValueError for any other suffix, FileNotFoundError when the folder does not exist.
    """
    path = Path(path)
    file_format = FORMATS.get(path.suffix.lower())
    if file_format is None:
        raise ValueError(
            f"cannot save a picture as {path.name!r}: the file name must end in one of "
            f"{', '.join(FORMATS)} (got {path.suffix or 'no suffix'!r})"
        )
    with atomic_file(path) as file:
        figure.savefig(file, format=file_format, dpi=DPI)
    return path


def _finish(figure, path):
    if path is not None:
        save_figure(figure, path)
    return figure


# -- training ---------------------------------------------------------------------------------


def plot_history(history, path=None):
    """Cost and accuracy per epoch: two panels, training beside validation.

    Parameters
    ----------
    history : History, or its dict form (``History.to_dict()``, as ``network.metadata["history"]``)
    path : str or Path, optional
        Save the picture there (.png or .svg).

    Raises ValueError when there is no history or it has no epochs.
    """
    if isinstance(history, dict):
        history = History.from_dict(history)
    if not isinstance(history, History):
        raise TypeError(f"history must be a nnet History or its dict form; got {type(history).__name__}")
    if not history.epochs:
        raise ValueError("no training history to plot: the history has no epochs")
    epochs = history.column("epoch")
    figure = _figure(10, 4)
    cost_axes, accuracy_axes = figure.subplots(1, 2)
    for axes, name, scale, label in (
        (cost_axes, "cost", 1, "cost C (lower is better)"),
        (accuracy_axes, "accuracy", 100, "accuracy, % right (higher is better)"),
    ):
        for part, style in (("train", "o-"), ("validation", "s--")):
            values = history.column(f"{part}_{name}")
            if all(value is None for value in values):
                continue
            values = [math.nan if value is None else value * scale for value in values]
            axes.plot(epochs, values, style, label="training" if part == "train" else "validation", markersize=4)
        if history.best_epoch is not None:
            axes.axvline(history.best_epoch, color="gray", linestyle=":", label=f"best epoch {history.best_epoch} (kept)")
        axes.set(title=name.capitalize(), xlabel="epoch", ylabel=label)
        axes.xaxis.get_major_locator().set_params(integer=True)
        axes.grid(alpha=0.3)
        axes.legend()
    summary = f"{len(epochs)} epoch{'s' if len(epochs) > 1 else ''}"
    kept, which = history.epochs[-1], ", final"
    if history.best_epoch is not None and 1 <= history.best_epoch <= len(history.epochs):
        kept = history.epochs[history.best_epoch - 1]  # early stopping put this epoch's weights back
        which = f"; weights kept from the best epoch, {kept.epoch}:"
    if kept.validation_accuracy is not None:
        summary += f"{which} validation accuracy {100 * kept.validation_accuracy:.1f}%"
    else:
        summary += f"{which} training accuracy {100 * kept.train_accuracy:.1f}%"
    if history.stopped_early:
        summary += ", stopped early"
    figure.suptitle(f"Training history: {summary}")
    return _finish(figure, path)


# -- inside the network -------------------------------------------------------------------------


def plot_weights(network: Network, layer: int = 0, path=None, max_neurons: int = 64):
    """The weights into each neuron of one Dense layer.

    When the layer's inputs are an image (the first layer of a 784-input network), each neuron's
    row ``W[j]`` (784,) is drawn as a 28×28 tile: red where ink excites the neuron, blue where it
    inhibits it, the pixel pattern it picks up on. Tiles share one colour scale centred at zero.
    Any other layer's W, (n_out, n_in), is drawn as one heat map.

    Parameters
    ----------
    layer : int
        Which Dense layer, counting from 0 (the first hidden layer).
    max_neurons : int
        Draw at most this many tiles (the first neurons).

    Raises ValueError when ``layer`` is out of range.
    """
    n_layers = len(network.dense_layers)
    if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)) or not 0 <= layer < n_layers:
        raise ValueError(f"layer must be in 0..{n_layers - 1} (the network has {n_layers} Dense layers); got {layer!r}")
    if max_neurons < 1:
        raise ValueError(f"max_neurons must be a positive integer; got {max_neurons!r}")
    W = network.dense_layers[layer].W
    shape = _image_shape(network) if layer == 0 else None
    if shape is None:
        return _finish(_weight_heat_map(network, layer), path)
    shown = min(len(W), max_neurons)
    limit = float(np.abs(W[:shown]).max()) or 1.0
    rows, columns = _grid(shown)
    figure = _figure(1.25 * columns + 1.2, 1.35 * rows + 0.8)
    tiles = figure.subplots(rows, columns, squeeze=False)
    for j, axes in enumerate(tiles.flat):
        if j >= shown:
            axes.set_axis_off()
            continue
        image = axes.imshow(W[j].reshape(shape), cmap=WEIGHT_COLORS, vmin=-limit, vmax=limit)
        axes.set_title(f"neuron {j}", fontsize=8)
        _frame(axes)
    bar = figure.colorbar(image, ax=tiles, shrink=0.6, aspect=30)
    bar.set_label("weight  (red: ink here excites the neuron, blue: inhibits it)")
    some = "" if shown == len(W) else f" (the first {shown} of {len(W)})"
    figure.suptitle(
        f"Weights into {_layer_name(network, layer)} (layer={layer}) from the {shape[0]}×{shape[1]} "
        f"pixels, one tile per neuron{some}"
    )
    return _finish(figure, path)


def _weight_heat_map(network: Network, layer: int):
    W = network.dense_layers[layer].W
    n_out, n_in = W.shape
    limit = float(np.abs(W).max()) or 1.0
    figure = _figure(min(3 + 0.25 * n_in, 12), min(2 + 0.25 * n_out, 10))
    axes = figure.subplots()
    image = axes.imshow(W, cmap=WEIGHT_COLORS, vmin=-limit, vmax=limit, aspect="auto", interpolation="nearest")
    into = _layer_name(network, layer)
    axes.set(
        title=f"Weights into {into} (layer={layer}): W[j, k], {n_out} neurons × {n_in} inputs",
        xlabel=f"input k: neuron k of {_layer_name(network, layer - 1)}" if layer else "input k",
        ylabel=f"neuron j of {into}",
    )
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.yaxis.get_major_locator().set_params(integer=True)
    figure.colorbar(image, ax=axes, label="weight W[j, k]  (red: excites, blue: inhibits)")
    return figure


def plot_activations(network: Network, x, path=None, classes=None):
    """One input flowing through the network, left to right.

    Panels: the input image (28×28); each hidden layer's neurons as circles lit by their
    activation (a column, or a grid for more than 32 neurons, neuron 0 at the top left; black = 0,
    or -1 for tanh; white = 1, or the layer's largest when that is more); the output layer as bars, one per class, with the answer
    in red and its probability (its activation, for an output that is not softmax).

    Parameters
    ----------
    x : array of shape (n_inputs,), (28, 28) or (1, n_inputs)
        ONE input, floats or uint8 pixels.
    classes : list of str, optional
        Output names; default ``network.metadata["classes"]``, else "0", "1", ...
    """
    x = np.asarray(x)
    if x.size != network.n_inputs:
        raise ValueError(
            f"plot_activations shows one input of {network.n_inputs} values; got x of shape {x.shape} (pass x[i])"
        )
    trace = network.forward(x.reshape(1, -1), record=True)
    names = _class_names(classes, max(network.n_outputs, 2), network)
    hidden = network.dense_layers[:-1]
    widths = [3] + [1 if layer.n_out <= STRIP_LIMIT else 2.5 for layer in hidden] + [3]
    figure = _figure(sum(widths) * 1.2 + 1, 4.2)
    panels = figure.subplots(1, len(widths), width_ratios=widths)
    _draw_input(panels[0], trace.activations[0][0], _image_shape(network))
    for index, layer in enumerate(hidden, start=1):
        _draw_neurons(figure, panels[index], trace.activations[index][0], index, layer.activation.name)
    answer = int(network.predict(trace.activations[0])[0])
    _draw_output(panels[-1], trace.output[0], answer, names, network)
    figure.suptitle("One input through the network: each layer's activations a = σ(W a + b)")
    return _finish(figure, path)


def _draw_input(axes, pixels: np.ndarray, shape):
    axes.set_label("layer 0 (input)")
    if shape is None:
        pixels, shape = pixels.reshape(-1, 1), (len(pixels), 1)
    low, high = (0.0, 1.0) if 0 <= pixels.min() and pixels.max() <= 1 else (pixels.min(), pixels.max())
    axes.imshow(pixels.reshape(shape), cmap=BRIGHTNESS, vmin=low, vmax=high, aspect="equal" if shape[1] > 1 else "auto")
    axes.set_xticks([])
    axes.set_yticks([])
    axes.set_title(f"input\n{pixels.size} pixels")
    _frame(axes)


def _draw_neurons(figure, axes, a: np.ndarray, index: int, activation: str):
    """Hidden layer ``index``'s neurons as circles, lit by their activations a (n,)."""
    _matplotlib()
    from matplotlib.collections import EllipseCollection

    axes.set_label(f"layer {index} (hidden)")
    n = a.size
    low = -1.0 if activation == "tanh" else min(0.0, float(a.min()))
    high = 1.0 if activation in ("sigmoid", "tanh") else max(float(a.max()), 1.0)
    rows, columns = (n, 1) if n <= STRIP_LIMIT else _grid(n)
    row, column = np.divmod(np.arange(n), columns)
    neurons = EllipseCollection(
        0.8, 0.8, 0.0, units="xy", offsets=np.column_stack([column, row]), offset_transform=axes.transData,
        cmap=BRIGHTNESS, edgecolors="0.45", linewidths=0.6,
    )
    neurons.set_array(a)
    neurons.set_clim(low, high)
    axes.add_collection(neurons)
    axes.set(xlim=(-0.6, columns - 0.4), ylim=(rows - 0.4, -0.6), aspect="equal", xticks=[])
    if columns == 1:
        step = 1 if n <= 12 else 5
        axes.set_yticks(range(0, n, step), [str(j) for j in range(0, n, step)], fontsize=7)
        axes.set_ylabel("neuron j", fontsize=8)
    else:
        axes.set_yticks([])
    for spine in axes.spines.values():
        spine.set_visible(False)
    axes.set_title(f"hidden layer {index}\n{n} {activation}")
    figure.colorbar(neurons, ax=axes, location="bottom", shrink=0.9, aspect=8, label="activation a")


def _draw_output(axes, a: np.ndarray, answer: int, names, network: Network):
    axes.set_label(f"layer {len(network.dense_layers)} (output)")
    n = a.size
    bars = axes.barh(range(n), a, color=OTHER_COLOR)
    lit = answer if n > 1 else 0
    bars[lit].set_color(ANSWER_COLOR)
    bars[lit].set_gid("answer")
    softmax = network.output_activation.name == "softmax"
    value = f"{100 * a[lit]:.1f}%" if softmax else f"a = {a[lit]:.2f}"
    for j, length in enumerate(a):
        text = f" {100 * length:.0f}%" if softmax else f" {length:.2f}"
        axes.text(max(length, 0), j, text, va="center", fontsize=7, color="black" if j == lit else "dimgray")
    axes.set_yticks(range(n), names if n > 1 else [f"{names[1]}?"])  # one neuron: is it class 1?
    middle, half = (n - 1) / 2, max(n, 5) / 2  # a few outputs keep the bars' usual thickness
    axes.set_ylim(middle + half, middle - half)  # class 0 at the top
    top = max(1.0, float(a.max()))
    axes.set_xlim(min(0.0, float(a.min())), top * 1.15)
    if top == 1.0:
        axes.set_xticks([0, 0.25, 0.5, 0.75, 1])
    axes.set_xlabel("probability" if softmax else f"activation ({network.output_activation.name})")
    axes.set_title(f"output: the answer is\n{names[answer]} ({value})", color=ANSWER_COLOR)


# -- how good are the answers -------------------------------------------------------------------


def plot_confusion_matrix(y_true, y_pred, classes=None, path=None):
    """Which classes are taken for which: counts[i, j] = samples of class i predicted as j.

    ``y_true`` and ``y_pred`` are int labels (n,); the diagonal holds the right answers. Each
    cell shows its count; the title gives the accuracy.
    """
    n_classes = len(classes) if classes is not None else None
    counts = metrics.confusion_matrix(y_true, y_pred, n_classes)
    k = len(counts)
    names = _class_names(classes, k)
    accuracy = np.trace(counts) / counts.sum()
    figure = _figure(2.5 + 0.55 * k, 1.8 + 0.5 * k)
    axes = figure.subplots()
    image = axes.imshow(counts, cmap=COUNT_COLORS, vmin=0, interpolation="nearest")
    dark = counts.max() / 2
    for i in range(k):
        for j in range(k):
            color = "white" if counts[i, j] > dark else ("black" if counts[i, j] else "lightgray")
            axes.text(j, i, str(counts[i, j]), ha="center", va="center", color=color, fontsize=8 if k <= 12 else 6)
    axes.set_xticks(range(k), names)
    axes.set_yticks(range(k), names)
    axes.set(xlabel="predicted label", ylabel="true label")
    axes.set_title(f"Confusion matrix: {100 * accuracy:.1f}% right of {counts.sum()}")
    figure.colorbar(image, ax=axes, label="samples", shrink=0.8)
    return _finish(figure, path)


def plot_mistakes(network: Network, x, y, classes=None, path=None, max_images: int = 36):
    """The inputs the network gets wrong, each labelled "true 4 / predicted 9 (87%)".

    ``x`` (n, 784) or (n, 28, 28), ``y`` int labels (n,). Shows the first ``max_images``
    mistakes in a grid; with none, a figure that says so.
    """
    inputs = network.as_inputs(x)
    _, labels = network.as_targets(y, len(inputs))
    shape = _image_shape(network)
    if shape is None:
        raise ValueError(f"plot_mistakes draws inputs as images; {network.n_inputs} inputs are not a square image")
    output = network.predict_proba(inputs)
    predicted = network.predict(inputs)
    wrong = np.flatnonzero(predicted != labels)
    names = _class_names(classes, max(network.n_outputs, 2), network)
    if not len(wrong):
        figure = _figure(6, 2)
        figure.text(0.5, 0.5, f"No mistakes: all {len(labels)} inputs are classified right.", ha="center", va="center", fontsize=13)
        return _finish(figure, path)
    shown = wrong[:max_images]
    rows, columns = _grid(len(shown))
    figure = _figure(1.45 * columns + 0.3, 1.6 * rows + 0.7)
    tiles = figure.subplots(rows, columns, squeeze=False)
    softmax = network.output_activation.name == "softmax"
    for tile, axes in enumerate(tiles.flat):
        axes.set_axis_off()
        if tile >= len(shown):
            continue
        i = shown[tile]
        axes.imshow(inputs[i].reshape(shape), cmap=BRIGHTNESS, vmin=0, vmax=1)
        score = output[i, predicted[i]] if output.shape[1] > 1 else output[i, 0]
        value = f"{100 * score:.0f}%" if softmax else f"output {score:.2f}"
        axes.set_title(f"true {names[labels[i]]} /\npredicted {names[predicted[i]]} ({value})", fontsize=8)
    some = "" if len(shown) == len(wrong) else f", the first {len(shown)} shown"
    how_sure = "its probability" if softmax else "its output neuron's activation"
    figure.suptitle(
        f"Mistakes: {len(wrong)} of {len(labels)} inputs wrong{some}\n"
        f"each: the true label, the network's answer and {how_sure}",
        fontsize=11,
    )
    return _finish(figure, path)


# -- the data -----------------------------------------------------------------------------------


def plot_class_means(x, y, classes=None, path=None):
    """The average input image of each class: what a "typical" 0, 1, ... 9 looks like.

    ``x`` (n, 784) or (n, 28, 28), uint8 pixels or floats; ``y`` int labels (n,).
    """
    x, y = np.asarray(x), np.asarray(y)
    if y.ndim != 1 or len(y) != len(x) or not len(y):
        raise ValueError(f"x and y must hold the same number (> 0) of samples; got shapes {x.shape} and {y.shape}")
    if y.dtype.kind not in "iu" or y.min() < 0:
        raise ValueError(f"y must hold int labels 0..k-1; got dtype {y.dtype}")
    shape = x.shape[1:] if x.ndim == 3 else _square(x.shape[-1] if x.ndim == 2 else 0)
    if shape is None:
        raise ValueError(f"plot_class_means draws images; x of shape {x.shape} does not hold square images")
    k = len(classes) if classes is not None else int(y.max()) + 1
    if y.max() >= k:
        raise ValueError(f"y has labels up to {y.max()}, but classes names only {k}: {list(classes)}")
    names = _class_names(classes, k)
    images = x.reshape(len(x), *shape).astype(np.float64)
    means = [images[y == c].mean(axis=0) if (y == c).any() else np.zeros(shape) for c in range(k)]
    top = max(max(float(mean.max()) for mean in means), 1e-12)  # the brightest mean is white
    rows, columns = _grid(k)
    figure = _figure(1.6 * columns + 1.2, 1.8 * rows + 0.6)
    tiles = figure.subplots(rows, columns, squeeze=False)
    for c, axes in enumerate(tiles.flat):
        axes.set_axis_off()
        if c >= k:
            continue
        image = axes.imshow(means[c], cmap=BRIGHTNESS, vmin=0, vmax=top)
        axes.set_title(f"{names[c]}  ({int(np.count_nonzero(y == c))} images)", fontsize=9)
    scale = " (0-255)" if x.dtype == np.uint8 else ""
    figure.colorbar(image, ax=tiles, shrink=0.7, label=f"mean pixel value{scale}")
    figure.suptitle("The average image of each class")
    return _finish(figure, path)


# -- one entry point ----------------------------------------------------------------------------

#: The pictures by name, as ``nnet show MODEL WHAT`` names them.
PICTURES = {
    "history": plot_history,
    "weights": plot_weights,
    "activations": plot_activations,
    "confusion": plot_confusion_matrix,
    "mistakes": plot_mistakes,
    "means": plot_class_means,
}


def render(what: str, network: Network, *, x=None, y=None, classes=None, index: int = 0, layer: int = 0, path=None):
    """Draw the picture named ``what`` (a key of ``PICTURES``) for ``network``.

    ``history`` reads ``network.metadata["history"]``; ``weights`` draws Dense layer ``layer``;
    ``activations`` feeds ``x[index]``; ``confusion``, ``mistakes`` and ``means`` use all of
    (x, y). ``classes`` defaults to ``network.metadata["classes"]``. Returns the Figure.
    """
    if what not in PICTURES:
        raise ValueError(f"unknown picture {what!r}; choose one of: {', '.join(PICTURES)}")
    classes = classes if classes is not None else network.class_names
    if what == "history":
        history = network.metadata.get("history")
        if not history:
            raise ValueError("this model has no training history (it is saved by `nnet train` and nnet.save after fit)")
        return plot_history(history, path=path)
    if what == "weights":
        return plot_weights(network, layer=layer, path=path)
    needs = "x" if what == "activations" else "x and y"
    if x is None or (what != "activations" and y is None):
        raise ValueError(f"the {what!r} picture needs data: pass {needs}")
    if what == "activations":
        if not -len(x) <= index < len(x):
            raise ValueError(f"index must be in 0..{len(x) - 1} (x has {len(x)} samples); got {index}")
        return plot_activations(network, np.asarray(x)[index], path=path, classes=classes)
    if what == "confusion":
        return plot_confusion_matrix(np.asarray(y), network.predict(x), classes=classes, path=path)
    if what == "mistakes":
        return plot_mistakes(network, x, y, classes=classes, path=path)
    return plot_class_means(x, y, classes=classes, path=path)


# -- helpers ------------------------------------------------------------------------------------


def _grid(n: int) -> tuple[int, int]:
    """(rows, columns) for n tiles: near square, with the fewest empty cells."""
    side = math.ceil(math.sqrt(n))
    columns = min(range(side, side + 3), key=lambda c: (-(-n // c) * c - n, c))
    return -(-n // columns), columns


def _layer_name(network: Network, layer: int) -> str:
    """Dense layer ``layer`` (from 0) in the lessons' words: "hidden layer 1" ... "the output layer"."""
    return "the output layer" if layer == len(network.dense_layers) - 1 else f"hidden layer {layer + 1}"


def _frame(axes) -> None:
    """No ticks, a thin grey frame: an image tile."""
    axes.set_xticks([])
    axes.set_yticks([])
    for spine in axes.spines.values():
        spine.set_edgecolor("0.6")


def _square(size: int) -> tuple[int, int] | None:
    side = math.isqrt(size)
    return (side, side) if size > 1 and side * side == size else None


def _image_shape(network: Network) -> tuple[int, int] | None:
    """The input image's (height, width), from the model's metadata, else a square of n_inputs."""
    shape = (network.metadata.get("input") or {}).get("shape")
    if isinstance(shape, list) and len(shape) == 2 and shape[0] * shape[1] == network.n_inputs:
        return tuple(shape)
    if network.n_inputs == IMAGE_SIDE * IMAGE_SIDE:
        return IMAGE_SIDE, IMAGE_SIDE
    return None


def _class_names(classes, k: int, network: Network | None = None) -> list[str]:
    """``classes`` as k names; when None, the network's (``Network.class_names``) or "0", "1"..."""
    if classes is None:
        return network.class_names if network is not None else [str(c) for c in range(k)]
    if len(classes) != k:
        raise ValueError(f"classes must name all {k} classes; got {len(classes)}: {list(classes)}")
    return [str(name) for name in classes]
