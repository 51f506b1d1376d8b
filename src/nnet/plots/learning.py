"""How the network learns from one example: its cost, the target beside the output, the error
δ = ∂C/∂z of every neuron, and the changes this example wants in the first layer's weights.

The picture of the lessons' backpropagation for one input (``net.backprop(x, [label],
record=True)``): the output layer shows what we got (bars) against what we want (the target
marks) and the desired nudge of each output (y - a); every hidden layer shows its neurons'
δ, red where raising z would raise the cost, blue where it would lower it; and for the hidden
neurons with the largest |δ|, the desired change of their incoming weights (-∂C/∂w, the
example's pixels times -δ): which pixels' weights this example wants changed, and which way.
"""

from __future__ import annotations

import numpy as np

from ..data import n_answers
from ..network import Network
from . import canvas

#: How many first-layer neurons' desired weight changes the picture shows.
GRADIENT_TILES = 6


def plot_backprop(network: Network, x, label: int, path=None, classes=None, tiles: int = GRADIENT_TILES):
    """One example backpropagated: cost, target, δ on every layer, desired weight changes.

    Parameters
    ----------
    x : array of shape (n_inputs,), (28, 28) or (1, n_inputs)
        ONE input, floats or uint8 pixels.
    label : int
        The answer it should give (the target is its one-hot row).
    classes : list of str, optional
        Output names; default the network's.
    tiles : int
        How many first-layer neurons' desired weight changes to draw (those with the largest |δ|).

    Raises ValueError for more than one input or a label out of range.
    """
    x = np.asarray(x)
    if x.size != network.n_inputs:
        raise ValueError(f"plot_backprop shows one input of {network.n_inputs} values; got x of shape {x.shape} (pass x[i])")
    names = canvas.class_names(classes, n_answers(network.n_outputs), network)
    if isinstance(label, bool) or not isinstance(label, (int, np.integer)) or not 0 <= label < len(names):
        raise ValueError(f"label must be an answer in 0..{len(names) - 1}; got {label!r}")
    learner = network.copy()
    for layer in learner.layers:  # the lessons' backprop: no dropout masks
        layer.dropout = 0.0
    trace = learner.backprop(x.reshape(1, -1), np.array([label]), record=True)
    target = learner.examples(x.reshape(1, -1), np.array([label])).targets[0]
    shape = canvas.image_shape(network) if network.layers[0].n_in == network.n_inputs else None
    hidden = network.layers[:-1]
    show_tiles = shape is not None and len(hidden) > 0 and tiles > 0
    widths = [3] + [_width(layer.n_out) for layer in hidden] + [3.5]
    height = max(4.6, min(12.0, 0.16 * max([layer.n_out for layer in hidden if layer.n_out <= canvas.STRIP_LIMIT],
                                           default=0) + 1.8))
    figure = canvas.figure(sum(widths) * 1.15 + 1, height + (2.0 if show_tiles else 0.0))
    rows = figure.subfigures(2 if show_tiles else 1, 1, height_ratios=[height, 2.0] if show_tiles else None,
                             squeeze=False)[:, 0]
    panels = rows[0].subplots(1, len(widths), width_ratios=widths)
    _draw_input(panels[0], trace.activations[0][0], shape)
    for index in range(len(hidden)):
        _draw_deltas(rows[0], panels[index + 1], trace.deltas[index][0], index, canvas.layer_title(network, index))
    _draw_output(panels[-1], trace.output[0], target, label, names, network)
    if show_tiles:
        _draw_wanted_changes(rows[1], trace, shape, min(tiles, hidden[0].n_out))
    figure.suptitle(f"One example backpropagated: it should be {names[label]}; "
                    f"its cost C = {trace.cost:.4g} ({network.cost.name.replace('_', '-')})")
    return canvas.finish(figure, path)


def _width(n: int) -> float:
    return 1.1 if n <= canvas.STRIP_LIMIT else 2.6


def _draw_input(axes, pixels: np.ndarray, shape):
    axes.set_label("input")
    if shape is None:
        pixels, shape = pixels.reshape(-1, 1), (len(pixels), 1)
    axes.imshow(pixels.reshape(shape), cmap=canvas.BRIGHTNESS, vmin=0, vmax=max(1.0, float(pixels.max())),
                aspect="equal" if shape[1] > 1 else "auto")
    axes.set_title(f"the example\n{pixels.size} pixels")
    canvas.frame(axes)


def _draw_deltas(figure, axes, delta: np.ndarray, index: int, name: str):
    """Layer ``index``'s δ as circles on a red/blue scale centred at 0 (its own largest |δ|)."""
    canvas.matplotlib()
    from matplotlib.collections import EllipseCollection

    axes.set_label(f"layer {index} ({name})")
    n = delta.size
    limit = float(np.abs(delta).max()) or 1.0
    rows, columns = (n, 1) if n <= canvas.STRIP_LIMIT else canvas.grid(n)
    row, column = np.divmod(np.arange(n), columns)
    neurons = EllipseCollection(0.82, 0.82, 0.0, units="xy", offsets=np.column_stack([column, row]),
                                offset_transform=axes.transData, cmap=canvas.WEIGHT_COLORS, edgecolors="0.55",
                                linewidths=0.5)
    neurons.set_array(delta)
    neurons.set_clim(-limit, limit)
    axes.add_collection(neurons)
    axes.set(xlim=(-0.6, columns - 0.4), ylim=(rows - 0.4, -0.6), aspect="equal", xticks=[], yticks=[])
    for spine in axes.spines.values():
        spine.set_visible(False)
    axes.set_title(f"{name}: δ = ∂C/∂z\n{n} neurons")
    bar = figure.colorbar(neurons, ax=axes, location="bottom", shrink=0.9, aspect=8)
    bar.set_label("δ (red: raise z, raise C)", fontsize=7)
    bar.ax.tick_params(labelsize=6)


def _draw_output(axes, a: np.ndarray, target: np.ndarray, label: int, names, network: Network):
    axes.set_label(f"layer {len(network.layers) - 1} (output)")
    n = a.size
    bars = axes.barh(range(n), a, color=canvas.OTHER_COLOR, label="what we got: a")
    axes.scatter(target, range(n), marker="|", s=260, color="black", zorder=3, label="what we want: y")
    for j in range(n):
        nudge = target[j] - a[j]
        if abs(nudge) > 0.02:
            axes.annotate("", xy=(a[j] + nudge, j), xytext=(a[j], j),
                          arrowprops={"arrowstyle": "->", "color": canvas.ANSWER_COLOR if nudge > 0 else "#2166ac",
                                      "lw": 1.2})
    bars[label if n > 1 else 0].set_edgecolor("black")
    axes.set_yticks(range(n), names if n > 1 else [f"{names[1]}?"])
    middle, half = (n - 1) / 2, max(n, 5) / 2
    axes.set_ylim(middle + half, middle - half)
    low, high = min(0.0, float(a.min()), float(target.min())), max(1.0, float(a.max()), float(target.max()))
    axes.set_xlim(low, high * 1.08)
    axes.set_xlabel(f"activation ({network.layers[-1].activation.name})")
    axes.legend(loc="lower right", fontsize=7, frameon=False)
    axes.set_title("output: what we got, what we want,\nand the desired nudges y − a (arrows)")


def _draw_wanted_changes(figure, trace, shape, count: int):
    """The first hidden layer's neurons with the largest |δ|: -∂C/∂w of their incoming weights."""
    delta = trace.deltas[0][0]
    chosen = np.argsort(-np.abs(delta), kind="stable")[:count]
    dW = trace.gradients[0][0]
    wanted = -dW[chosen].astype(np.float64)
    limit = float(np.abs(wanted).max()) or 1.0
    axes = figure.subplots(1, count, squeeze=False)[0]
    for tile, j, change in zip(axes, chosen, wanted):
        image = tile.imshow(change.reshape(shape), cmap=canvas.WEIGHT_COLORS, vmin=-limit, vmax=limit)
        tile.set_title(f"hidden 1, neuron {j}\nδ = {delta[j]:.2g}", fontsize=8)
        canvas.frame(tile)
    bar = figure.colorbar(image, ax=list(axes), shrink=0.8, aspect=15)
    bar.set_label("−∂C/∂w (red: up)", fontsize=7)
    figure.suptitle("The changes this example wants in the incoming weights of the first layer's neurons "
                    "with the largest |δ| (its pixels times −δ; one colour scale)", fontsize=9)
