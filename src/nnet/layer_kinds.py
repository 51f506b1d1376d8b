"""The kinds of layer by name, and a layer list built from descriptions.

Every layer describes itself as plain data (:meth:`nnet.Layer.describe`), and its settings,
what builds it again, are that description without what follows from the layer below
(:meth:`nnet.Layer.settings`). One table, :data:`KINDS`, turns a description's ``kind`` back
into its class, whose ``from_description`` builds it on the shape the layer below gives::

    layers = build([{"kind": "conv2d", "out_channels": 20, "kernel_size": 5},
                    {"kind": "max_pool2d", "size": 2},
                    {"kind": "flatten"},
                    {"kind": "dense", "n_out": 100, "activation": "relu"}],
                   input_shape=(1, 28, 28), seed=0)

A run's ``layers`` setting (:mod:`nnet.runs`) and a model file's layer list
(:mod:`nnet.serialization`) are both read here, so a layer has one name and one reading.
"""

from __future__ import annotations

import re

import numpy as np

from .convolution import Conv2D
from .dropout import Dropout
from .layers import Dense, Layer
from .pooling import AvgPool2D, Flatten, MaxPool2D

#: The layer classes, by the ``kind`` their descriptions give.
KINDS: dict[str, type[Layer]] = {kind.kind: kind for kind in (Dense, Conv2D, MaxPool2D, AvgPool2D, Flatten, Dropout)}

#: What a layer list looks like, for the messages.
EXAMPLE = ('[{"kind": "conv2d", "out_channels": 20, "kernel_size": 5}, {"kind": "max_pool2d", "size": 2}, '
           '{"kind": "flatten"}, {"kind": "dense", "n_out": 100, "activation": "relu"}]')


def kind_of(entry) -> type[Layer]:
    """The class of the layer ``entry`` describes; ValueError for an entry without a known kind."""
    kind = entry.get("kind") if isinstance(entry, dict) else None
    if not isinstance(kind, str) or kind not in KINDS:
        shown = repr(kind) if isinstance(entry, dict) else f"{entry!r}, not an object"
        raise ValueError(f"kind must be one of {', '.join(KINDS)}; got {shown}")
    return KINDS[kind]


def check(entries) -> list[dict]:
    """``entries`` if it is a list of layer descriptions of known kinds (what a run's ``layers``
    setting holds); the settings of each are checked when the layers are built."""
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"layers must be a list of layer descriptions such as {EXAMPLE}; got {entries!r}")
    for index, entry in enumerate(entries):
        try:
            kind_of(entry)
        except ValueError as problem:
            raise ValueError(f"layers[{index}]: {problem}") from None
    return entries


def build(entries, input_shape, *, parameters=None, init="auto", seed: int | None = None,
          rng: np.random.Generator | None = None, dtype="float32") -> list[Layer]:
    """The layers ``entries`` describe, in order, each on the output shape of the one before,
    the first on ``input_shape`` (one sample's: ``(784,)``, ``(1, 28, 28)``).

    parameters : list of dict, optional
        Each layer's stored arrays by name (a model file's), checked against the shapes its
        description gives before it is built; else new ones, drawn in order from ``rng`` (or
        ``default_rng(seed)``) by ``init`` (``auto``: by each layer's activation).

    Raises ValueError naming the layer (``layer i (kind)``) and what is wrong with it.
    """
    rng = np.random.default_rng(seed) if rng is None else rng
    layers: list[Layer] = []
    shape = tuple(input_shape)
    for index, entry in enumerate(check(list(entries))):
        kind = kind_of(entry)
        try:
            layer = kind.from_description(entry, shape, parameters=None if parameters is None else parameters[index],
                                          init=init, rng=rng, dtype=dtype)
        except (TypeError, ValueError) as problem:
            raise ValueError(f"layer {index} ({kind.kind}): {problem}") from None
        layers.append(layer)
        shape = layer.output_shape
    return layers


def settings_of(layers) -> list[dict]:
    """Each layer's settings (:meth:`nnet.Layer.settings`): the list :func:`build` reads back."""
    return [layer.settings() for layer in layers]


# -- the written form: nnet train --layers ------------------------------------------------------------

#: How ``nnet train --layers`` writes a layer list (each word one layer, comma-separated).
WRITTEN = """\
conv20x5    a convolution: 20 feature maps, 5x5 filters (conv32x3p1: padding 1; conv8x3s2: stride 2)
maxpool2    max-pooling over 2x2 windows (avgpool2: average pooling)
100         a fully connected layer of 100 neurons (the maps below are flattened first)
dropout0.5  the rate of the layer before it; first, or after pooling, a dropout layer of its own"""

_CONV = re.compile(r"conv(\d+)x(\d+)((?:[ps]\d+)*)")
_POOL = re.compile(r"(max|avg)pool(\d+)")
_DROPOUT = re.compile(r"dropout(0?\.\d+|0)")


def parse(text: str) -> list[dict]:
    """The layer list written as ``conv20x5,maxpool2,conv40x5,maxpool2,100`` (see
    :data:`WRITTEN`): descriptions without activations (the run's ``activation`` fills them
    in). Raises ValueError naming the word it cannot read."""
    entries: list[dict] = []
    for word in (part.strip().lower() for part in str(text).split(",")):
        conv, pool, dropout = _CONV.fullmatch(word), _POOL.fullmatch(word), _DROPOUT.fullmatch(word)
        if conv:
            entry = {"kind": "conv2d", "out_channels": int(conv[1]), "kernel_size": int(conv[2])}
            for option, value in re.findall(r"([ps])(\d+)", conv[3]):
                entry["padding" if option == "p" else "stride"] = int(value)
            entries.append(entry)
        elif pool:
            entries.append({"kind": f"{pool[1]}_pool2d", "size": int(pool[2])})
        elif dropout and entries and entries[-1]["kind"] in ("conv2d", "dense") and "dropout" not in entries[-1]:
            entries[-1]["dropout"] = float(dropout[1])
        elif dropout:
            entries.append({"kind": "dropout", "rate": float(dropout[1])})
        elif word.isdigit():
            if any(entry["kind"] in MAPS for entry in entries) and not any(e["kind"] == "flatten" for e in entries):
                entries.append({"kind": "flatten"})
            entries.append({"kind": "dense", "n_out": int(word)})
        else:
            raise ValueError(f"layers: cannot read {word!r}; write layers such as conv20x5,maxpool2,100,dropout0.5")
    return entries


def written(entries) -> str:
    """A layer list in the written form of :func:`parse` (flatten left implicit): ``conv20x5-maxpool2-100``."""
    words = []
    for entry in entries:
        kind = entry.get("kind")
        if kind == "conv2d":
            size = entry["kernel_size"]
            words.append(f"conv{entry['out_channels']}x{size if isinstance(size, int) else 'x'.join(map(str, size))}"
                         + "".join(f"{key[0]}{entry[key]}" for key in ("padding", "stride")
                                   if isinstance(entry.get(key), int) and entry[key] != (key == "stride")))
        elif kind in ("max_pool2d", "avg_pool2d"):
            size = entry["size"]
            words.append(f"{kind[:3]}pool{size if isinstance(size, int) else 'x'.join(map(str, size))}")
        elif kind == "dense":
            words.append(str(entry["n_out"]))
        elif kind == "dropout":
            words.append(f"dropout{entry['rate']:g}")
        if kind in ("conv2d", "dense") and entry.get("dropout"):
            words.append(f"dropout{entry['dropout']:g}")
    return "-".join(words)


#: The kinds whose samples are feature maps (channels, height, width).
MAPS = ("conv2d", "max_pool2d", "avg_pool2d")
