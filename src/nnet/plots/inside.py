"""Inside the network: the weights into each neuron ("what pixel pattern it picks up on"), or their
change since training began, and one input flowing through every layer, hidden layers of any
size drawn big enough to see each neuron."""

from __future__ import annotations

import math

import numpy as np

from ..data import n_answers
from ..network import Network
from . import canvas

def plot_weights(network: Network, layer: int = 0, path=None, max_neurons: int = 64, since_start: bool = False):
    """The weights into each neuron of one Dense layer, or how they changed since training began.

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
    since_start : bool
        Draw ``W - W_start``: the change since training began, where a neuron's learned strokes
        show even when its random start hides them. The start is rebuilt from the model's training
        settings (:func:`initial_weights`).

    Raises ValueError when ``layer`` is out of range, or ``since_start`` for a model whose start
    cannot be rebuilt.
    """
    n_layers = len(network.layers)
    if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)) or not 0 <= layer < n_layers:
        raise ValueError(f"layer must be in 0..{n_layers - 1} (the network has {n_layers} Dense layers); got {layer!r}")
    if max_neurons < 1:
        raise ValueError(f"max_neurons must be a positive integer; got {max_neurons!r}")
    if network.layers[layer].kind != "dense":
        raise ValueError(f"layer {layer} is a {network.layers[layer].kind} layer: weights are a dense layer's "
                         f"(a conv2d layer's are drawn by filters)")
    W = network.layers[layer].W
    if since_start:
        W = W.astype(np.float64) - initial_weights(network, layer)
    shape = canvas.image_shape(network) if layer == 0 else None
    if shape is None:
        return canvas.finish(_weight_heat_map(network, layer, W, since_start), path)
    shown = min(len(W), max_neurons)
    limit = float(np.abs(W[:shown]).max()) or 1.0
    rows, columns = canvas.grid(shown)
    figure = canvas.figure(1.25 * columns + 1.2, 1.35 * rows + 0.8)
    tiles = figure.subplots(rows, columns, squeeze=False)
    for j, axes in enumerate(tiles.flat):
        if j >= shown:
            axes.set_axis_off()
            continue
        image = axes.imshow(W[j].reshape(shape), cmap=canvas.WEIGHT_COLORS, vmin=-limit, vmax=limit)
        axes.set_title(f"neuron {j}", fontsize=8)
        canvas.frame(axes)
    bar = figure.colorbar(image, ax=tiles, shrink=0.6, aspect=30)
    bar.set_label("change since the start  (red: grew, blue: shrank)" if since_start
                  else "weight  (red: ink here excites the neuron, blue: inhibits it)")
    some = "" if shown == len(W) else f" (the first {shown} of {len(W)})"
    into = f"{canvas.layer_title(network, layer)} (layer={layer})"
    figure.suptitle(
        (f"How the weights into {into} changed since training began\n" if since_start else
         f"Weights into {into} from the {shape[0]}×{shape[1]} pixels\n") + f"one tile per neuron{some}"
    )
    return canvas.finish(figure, path)


def initial_weights(network: Network, layer: int) -> np.ndarray:
    """Layer ``layer``'s W as training began, float64: the network rebuilt from its model's
    training settings (sizes, activations, init and seed build the same initial weights).

    Raises ValueError for a model without those settings or seed (one not saved by ``nnet train``
    or the lab), or whose settings build another shape.
    """
    from .. import runs

    settings = network.metadata.get("training") if isinstance(network.metadata, dict) else None
    if not isinstance(settings, dict) or settings.get("seed") is None:
        raise ValueError("the change since the start needs the model's training settings and seed (as nnet train and "
                         "the lab save them) to rebuild its initial weights; this model has none")
    try:
        start = runs.build_network({**runs.DEFAULTS, **settings}, network.n_inputs, network.n_outputs)
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"cannot rebuild this model's initial weights from its training settings: {error}") from None
    if start.sizes != network.sizes:
        raise ValueError(f"this model's training settings build a network of sizes {start.sizes}, not its own "
                         f"{network.sizes}: its initial weights cannot be rebuilt")
    return start.layers[layer].W.astype(np.float64)


def _weight_heat_map(network: Network, layer: int, W: np.ndarray, since_start: bool):
    n_out, n_in = W.shape
    limit = float(np.abs(W).max()) or 1.0
    figure = canvas.figure(min(3 + 0.25 * n_in, 12), min(2 + 0.25 * n_out, 10))
    axes = figure.subplots()
    image = axes.imshow(W, cmap=canvas.WEIGHT_COLORS, vmin=-limit, vmax=limit, aspect="auto", interpolation="nearest")
    into = canvas.layer_title(network, layer)
    what = "Change since the start of the weights" if since_start else "Weights"
    axes.set(
        title=f"{what} into {into} (layer={layer}): W[j, k], {n_out} neurons × {n_in} inputs",
        xlabel=f"input k: neuron k of {canvas.layer_title(network, layer - 1)}" if layer else "input k",
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
    names = canvas.class_names(classes, n_answers(network.n_outputs), network)
    hidden = network.layers[:-1]
    widths = [3] + [panel_width(layer.n_out) for layer in hidden] + [3]
    figure = canvas.figure(sum(widths) * 1.2 + 1, panel_height([layer.n_out for layer in hidden]))
    panels = figure.subplots(1, len(widths), width_ratios=widths)
    _draw_input(panels[0], trace.activations[0][0], canvas.image_shape(network))
    for index, layer in enumerate(hidden, start=1):
        _draw_neurons(figure, panels[index], trace.activations[index][0], index - 1,
                      canvas.layer_title(network, index - 1), layer.activation.name)
    answer = int(network.predict(trace.activations[0])[0])
    _draw_output(panels[-1], trace.output[0], answer, names, network)
    figure.suptitle("One input through the network: each layer's activations a = σ(W a + b)")
    return canvas.finish(figure, path)


#: Inches per neuron in a drawn layer: enough for each to be seen (a 30-neuron column is ~5 inches).
NEURON_INCHES = 0.17


def panel_width(n: int) -> float:
    """The width share of a layer of n neurons: a column for a small layer, a grid wide enough
    for every neuron to be seen for a large one."""
    return 1.0 if n <= canvas.STRIP_LIMIT else max(2.5, NEURON_INCHES * canvas.grid(n)[1])


def panel_height(sizes: list[int]) -> float:
    """A figure's height, in inches, that shows every neuron of layers of these sizes."""
    rows = [n if n <= canvas.STRIP_LIMIT else canvas.grid(n)[0] for n in sizes]
    return max(4.2, min(14.0, NEURON_INCHES * max(rows, default=0) + 1.6))


def _draw_input(axes, pixels: np.ndarray, shape):
    axes.set_label("input")
    if shape is None:
        pixels, shape = pixels.reshape(-1, 1), (len(pixels), 1)
    low, high = (0.0, 1.0) if 0 <= pixels.min() and pixels.max() <= 1 else (pixels.min(), pixels.max())
    axes.imshow(pixels.reshape(shape), cmap=canvas.BRIGHTNESS, vmin=low, vmax=high, aspect="equal" if shape[1] > 1 else "auto")
    axes.set_xticks([])
    axes.set_yticks([])
    axes.set_title(f"input\n{pixels.size} pixels")
    canvas.frame(axes)


def _draw_neurons(figure, axes, a: np.ndarray, index: int, name: str, activation: str):
    """Hidden layer ``index`` (``name``)'s neurons as circles, lit by their activations a (n,)."""
    canvas.matplotlib()
    from matplotlib.collections import EllipseCollection

    axes.set_label(f"layer {index} ({name})")
    n = a.size
    low = -1.0 if activation == "tanh" else min(0.0, float(a.min()))
    high = 1.0 if activation in ("sigmoid", "tanh") else max(float(a.max()), 1.0)
    rows, columns = (n, 1) if n <= canvas.STRIP_LIMIT else canvas.grid(n)
    row, column = np.divmod(np.arange(n), columns)
    neurons = EllipseCollection(
        0.8, 0.8, 0.0, units="xy", offsets=np.column_stack([column, row]), offset_transform=axes.transData,
        cmap=canvas.BRIGHTNESS, edgecolors="0.45", linewidths=0.6,
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
    axes.set_title(f"{name}\n{n} {activation}")
    figure.colorbar(neurons, ax=axes, location="bottom", shrink=0.9, aspect=8, label="activation a")


def _draw_output(axes, a: np.ndarray, answer: int, names, network: Network):
    axes.set_label(f"layer {len(network.layers) - 1} (output)")
    n = a.size
    bars = axes.barh(range(n), a, color=canvas.OTHER_COLOR)
    lit = answer if n > 1 else 0
    bars[lit].set_color(canvas.ANSWER_COLOR)
    bars[lit].set_gid("answer")
    softmax = network.layers[-1].activation.name == "softmax"
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
    axes.set_xlabel("probability" if softmax else f"activation ({network.layers[-1].activation.name})")
    axes.set_title(f"output: the answer is\n{names[answer]} ({value})", color=canvas.ANSWER_COLOR)
