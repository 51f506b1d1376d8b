"""The lessons' pictures, drawn for your own network with matplotlib.

Each function draws one picture and returns a :class:`matplotlib.figure.Figure`; given
``path=`` it also saves it (PNG or SVG, by the file's suffix, written atomically):

- :func:`plot_history`          cost and accuracy per epoch, training beside validation
- :func:`plot_weights`          the weights into each neuron: "what pixel pattern it picks up on"
- :func:`plot_activations`      one input flowing through: pixels, hidden neurons lit, the answer
- :func:`plot_backprop`         one example backpropagated: cost, target, δ on every layer, and the
                                changes it wants in the first layer's weights
- :func:`plot_confusion_matrix` which digits are taken for which
- :func:`plot_mistakes`         the test images the network gets wrong
- :func:`plot_class_means`      the average image of each class

``PICTURES`` maps the names the CLI uses (``nnet show MODEL WHAT``) to these functions, and
:func:`render` draws any of them from a network and a dataset with one call.

One module per idea: ``history``, ``inside`` (weights, activations), ``learning`` (backprop),
``answers`` (confusion, mistakes), ``means``, on the shared drawing board ``canvas``. matplotlib is optional:
``pip install "nnet[plots]"``.
"""

from __future__ import annotations

import numpy as np

from ..network import Network
from .answers import plot_confusion_matrix, plot_mistakes
from .canvas import FORMATS, save_figure
from .history import plot_history
from .inside import plot_activations, plot_weights
from .learning import plot_backprop
from .means import plot_class_means

__all__ = ["FORMATS", "PICTURES", "plot_activations", "plot_backprop", "plot_class_means", "plot_confusion_matrix",
           "plot_history", "plot_mistakes", "plot_weights", "render", "save_figure"]

#: The pictures by name, as ``nnet show MODEL WHAT`` names them.
PICTURES = {
    "history": plot_history,
    "weights": plot_weights,
    "activations": plot_activations,
    "backprop": plot_backprop,
    "confusion": plot_confusion_matrix,
    "mistakes": plot_mistakes,
    "means": plot_class_means,
}


def render(what: str, network: Network, *, x=None, y=None, classes=None, index: int = 0, layer: int = 0, path=None,
           label: int | None = None, since_start: bool = False):
    """Draw the picture named ``what`` (a key of ``PICTURES``) for ``network``.

    ``history`` reads ``network.metadata["history"]``; ``weights`` draws Dense layer ``layer``
    (``since_start``: its change since training began); ``activations`` feeds ``x[index]``;
    ``backprop`` backpropagates ``x[index]`` towards ``label`` (default ``y[index]``);
    ``confusion``, ``mistakes`` and ``means`` use all of (x, y). ``classes`` defaults to
    ``network.metadata["classes"]``. Returns the Figure.
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
        return plot_weights(network, layer=layer, path=path, since_start=since_start)
    needs = "x" if what == "activations" or (what == "backprop" and label is not None) else "x and y"
    if x is None or (needs != "x" and y is None):
        raise ValueError(f"the {what!r} picture needs data: pass {needs}")
    if what in ("activations", "backprop") and not -len(x) <= index < len(x):
        raise ValueError(f"index must be in 0..{len(x) - 1} (x has {len(x)} samples); got {index}")
    if what == "activations":
        return plot_activations(network, np.asarray(x)[index], path=path, classes=classes)
    if what == "backprop":
        label = int(np.asarray(y)[index]) if label is None else label
        return plot_backprop(network, np.asarray(x)[index], label, path=path, classes=classes)
    if what == "confusion":
        return plot_confusion_matrix(np.asarray(y), network.predict(x), classes=classes, path=path)
    if what == "mistakes":
        return plot_mistakes(network, x, y, classes=classes, path=path)
    return plot_class_means(x, y, classes=classes, path=path)
