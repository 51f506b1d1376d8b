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
- :func:`plot_filters`          a convolutional layer's filters, the shared weights of its maps
- :func:`plot_feature_maps`     one image through a convolutional network's feature maps
- :func:`plot_augmentation`     what an augmentation does to a few digits

``PICTURES`` maps the names the CLI uses (``nnet show MODEL WHAT``) to these functions, and
:func:`render` draws any of them from a network and a dataset with one call.

One module per idea: ``history``, ``inside`` (weights, activations), ``learning`` (backprop),
``answers`` (confusion, mistakes), ``means``, ``maps`` (filters, feature maps, augmentation), on
the shared drawing board ``canvas``. matplotlib is optional:
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
from .maps import plot_augmentation, plot_feature_maps, plot_filters
from .means import plot_class_means

__all__ = ["FORMATS", "PICTURES", "plot_activations", "plot_augmentation", "plot_backprop", "plot_class_means",
           "plot_confusion_matrix", "plot_feature_maps", "plot_filters", "plot_history", "plot_mistakes", "plot_weights",
           "render", "save_figure"]

#: The pictures by name, as ``nnet show MODEL WHAT`` names them.
PICTURES = {
    "history": plot_history,
    "weights": plot_weights,
    "activations": plot_activations,
    "backprop": plot_backprop,
    "confusion": plot_confusion_matrix,
    "mistakes": plot_mistakes,
    "means": plot_class_means,
    "filters": plot_filters,
    "feature-maps": plot_feature_maps,
    "augment": plot_augmentation,
}


def render(what: str, network: Network, *, x=None, y=None, classes=None, index: int = 0, layer: int | None = 0,
           path=None, label: int | None = None, since_start: bool = False, augmentation=None):
    """Draw the picture named ``what`` (a key of ``PICTURES``) for ``network``.

    ``history`` reads ``network.metadata["history"]``; ``weights`` draws Dense layer ``layer``
    (``since_start``: its change since training began), ``filters`` conv layer ``layer`` (None:
    the first); ``activations`` and ``feature-maps`` feed ``x[index]``; ``augment`` distorts
    ``x[index:index + 5]`` by ``augmentation``; ``backprop`` backpropagates ``x[index]``
    towards ``label`` (default ``y[index]``);
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
        return plot_weights(network, layer=layer or 0, path=path, since_start=since_start)
    if what == "filters":
        return plot_filters(network, layer=layer, path=path)
    one = what in ("activations", "feature-maps", "augment") or (what == "backprop" and label is not None)
    if x is None or (not one and y is None):
        raise ValueError(f"the {what!r} picture needs data: pass {'x' if one else 'x and y'}")
    if what in ("activations", "backprop", "feature-maps", "augment") and not -len(x) <= index < len(x):
        raise ValueError(f"index must be in 0..{len(x) - 1} (x has {len(x)} samples); got {index}")
    if what == "activations":
        return plot_activations(network, np.asarray(x)[index], path=path, classes=classes)
    if what == "feature-maps":
        return plot_feature_maps(network, np.asarray(x)[index], path=path)
    if what == "augment":
        if augmentation is None:
            raise ValueError("the 'augment' picture needs an augmentation (nnet.augment.Augmentation)")
        rows = slice(index % len(x), index % len(x) + 5)
        return plot_augmentation(np.asarray(x)[rows], augmentation, path=path,
                                 labels=None if y is None else np.asarray(y)[rows], classes=classes)
    if what == "backprop":
        label = int(np.asarray(y)[index]) if label is None else label
        return plot_backprop(network, np.asarray(x)[index], label, path=path, classes=classes)
    if what == "confusion":
        return plot_confusion_matrix(np.asarray(y), network.predict(x), classes=classes, path=path)
    if what == "mistakes":
        return plot_mistakes(network, x, y, classes=classes, path=path)
    return plot_class_means(x, y, classes=classes, path=path)
