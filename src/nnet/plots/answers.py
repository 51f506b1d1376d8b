"""How good are the answers: the confusion matrix, and the inputs the network gets wrong."""

from __future__ import annotations

import numpy as np

from .. import data, metrics
from ..network import Network
from . import canvas

#: The mistakes (off the diagonal) and the right answers (on it), each on its own scale.
ERROR_COLORS, RIGHT_COLORS = "Reds", "Greens"


def plot_confusion_matrix(y_true, y_pred, classes=None, path=None):
    """Which classes are taken for which: counts[i, j] = samples of class i predicted as j.

    ``y_true`` and ``y_pred`` are int labels (n,). The right answers (the diagonal) are shaded
    green on their own scale; the mistakes are red on theirs, from 0 to the largest mistake
    count, so a cell of 3 mistakes shows even beside a diagonal of 980. Each cell shows its
    count; the title gives the accuracy and the number of mistakes.
    """
    n_classes = len(classes) if classes is not None else None
    counts = metrics.confusion_matrix(y_true, y_pred, n_classes)
    k = len(counts)
    names = canvas.class_names(classes, k)
    accuracy = np.trace(counts) / counts.sum()
    canvas.matplotlib()
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    diagonal = np.eye(k, dtype=bool)
    mistakes = int(counts[~diagonal].sum())
    errors = Normalize(0, max(1, int(counts[~diagonal].max(initial=0))))
    rights = Normalize(0, max(1, int(counts[diagonal].max(initial=0))))
    colours = np.where(diagonal[..., None], colormaps[RIGHT_COLORS](0.15 + 0.45 * rights(counts))[..., :3],
                       colormaps[ERROR_COLORS](errors(counts))[..., :3])
    colours[(counts == 0) & ~diagonal] = 1.0  # no mistake: white
    figure = canvas.figure(2.5 + 0.55 * k, 1.8 + 0.5 * k)
    axes = figure.subplots()
    axes.imshow(colours, interpolation="nearest")
    luminance = colours @ np.array([0.299, 0.587, 0.114])  # light text on dark cells
    for i in range(k):
        for j in range(k):
            color = "lightgray" if counts[i, j] == 0 else ("white" if luminance[i, j] < 0.5 else "black")
            axes.text(j, i, str(counts[i, j]), ha="center", va="center", color=color, fontsize=8 if k <= 12 else 6)
    axes.set_xticks(range(k), names)
    axes.set_yticks(range(k), names)
    axes.set(xlabel="predicted label", ylabel="true label")
    axes.set_title(f"Confusion matrix: {100 * accuracy:.1f}% right of {counts.sum()}, {mistakes} mistakes\n"
                   f"(mistakes red on their own scale; right answers, the diagonal, green)")
    figure.colorbar(ScalarMappable(errors, ERROR_COLORS), ax=axes, label="mistakes in the cell", shrink=0.8)
    return canvas.finish(figure, path)


def plot_mistakes(network: Network, x, y, classes=None, path=None, max_images: int = 36):
    """The inputs the network gets wrong, each labelled "true 4 / predicted 9 (87%)".

    ``x`` (n, 784) or (n, 28, 28), ``y`` int labels (n,). Shows the first ``max_images``
    mistakes in a grid; with none, a figure that says so.
    """
    examples = network.examples(x, y)
    inputs, labels = data.scaled(examples.x, network.dtype), examples.labels
    shape = canvas.image_shape(network)
    if shape is None:
        raise ValueError(f"plot_mistakes draws inputs as images; {network.n_inputs} inputs are not a square image")
    output = network.forward(inputs)
    predicted = data.answers(output)
    wrong = np.flatnonzero(predicted != labels)
    names = canvas.class_names(classes, data.n_answers(network.n_outputs), network)
    if not len(wrong):
        figure = canvas.figure(6, 2)
        figure.text(0.5, 0.5, f"No mistakes: all {len(labels)} inputs are classified right.", ha="center", va="center", fontsize=13)
        return canvas.finish(figure, path)
    shown = wrong[:max_images]
    rows, columns = canvas.grid(len(shown))
    figure = canvas.figure(1.45 * columns + 0.3, 1.6 * rows + 0.7)
    tiles = figure.subplots(rows, columns, squeeze=False)
    softmax = network.layers[-1].activation.name == "softmax"
    for tile, axes in enumerate(tiles.flat):
        axes.set_axis_off()
        if tile >= len(shown):
            continue
        i = shown[tile]
        axes.imshow(inputs[i].reshape(shape), cmap=canvas.BRIGHTNESS, vmin=0, vmax=1)
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
    return canvas.finish(figure, path)
