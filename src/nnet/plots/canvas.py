"""The drawing board the pictures share: matplotlib on first use, figures, colours, saving.

Figures are built on :class:`matplotlib.figure.Figure` directly, never through pyplot's global
state, so they can be drawn from several threads at once (a web server, say).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .._atomic import atomic_file
from ..datasets import IMAGE_SIDE
from ..network import layer_name

#: File suffix -> the format matplotlib writes.
FORMATS = {".png": "png", ".svg": "svg"}
DPI = 110
WEIGHT_COLORS = "RdBu_r"  # red: positive weight (ink there excites), blue: negative (inhibits)
BRIGHTNESS = "gray"  # neurons and pixels: black = 0 (off), white = 1 (lit), as in the lessons
COUNT_COLORS = "Blues"
ANSWER_COLOR, OTHER_COLOR = "#d62728", "#9ecae1"
STRIP_LIMIT = 32  # hidden layers with more neurons than this are drawn as a grid, not a strip


def matplotlib():
    """The matplotlib package, imported on first use: it is an optional dependency."""
    try:
        import matplotlib
        import matplotlib.figure
    except ImportError as error:
        raise ImportError(
            'nnet.plots draws with matplotlib, which is not installed; install it with: pip install "nnet[plots]"'
        ) from error
    return matplotlib


def figure(width: float, height: float):
    return matplotlib().figure.Figure(figsize=(width, height), layout="constrained")


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


def finish(figure, path):
    if path is not None:
        save_figure(figure, path)
    return figure


# -- helpers ------------------------------------------------------------------------------------


def grid(n: int) -> tuple[int, int]:
    """(rows, columns) for n tiles: near square, with the fewest empty cells."""
    side = math.ceil(math.sqrt(n))
    columns = min(range(side, side + 3), key=lambda c: (-(-n // c) * c - n, c))
    return -(-n // columns), columns


def layer_title(network, layer: int) -> str:
    """Layer ``layer`` (from 0) by its name, as everywhere in nnet: "hidden 1" ... "output"."""
    return layer_name(layer, len(network.layers))


def frame(axes) -> None:
    """No ticks, a thin grey frame: an image tile."""
    axes.set_xticks([])
    axes.set_yticks([])
    for spine in axes.spines.values():
        spine.set_edgecolor("0.6")


def square(size: int) -> tuple[int, int] | None:
    side = math.isqrt(size)
    return (side, side) if size > 1 and side * side == size else None


def image_shape(network) -> tuple[int, int] | None:
    """The input image's (height, width), from the model's metadata, else a square of n_inputs."""
    shape = (network.metadata.get("input") or {}).get("shape")
    if isinstance(shape, list) and len(shape) == 2 and shape[0] * shape[1] == network.n_inputs:
        return tuple(shape)
    if network.n_inputs == IMAGE_SIDE * IMAGE_SIDE:
        return IMAGE_SIDE, IMAGE_SIDE
    return None


def class_names(classes, k: int, network=None) -> list[str]:
    """``classes`` as k names; when None, the network's (``Network.class_names``) or "0", "1"..."""
    if classes is None:
        return network.class_names if network is not None else [str(c) for c in range(k)]
    if len(classes) != k:
        raise ValueError(f"classes must name all {k} classes; got {len(classes)}: {list(classes)}")
    return [str(name) for name in classes]
