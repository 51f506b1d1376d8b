"""What every side-by-side measurement shares: the pause before a timed run, MNIST's pixels as
the floats every library is given, and the initial weights every library starts from."""

from __future__ import annotations

import numpy as np

N_TRAIN = 60_000  # seconds per epoch are per 60,000 MNIST training images
SETTLE_SECONDS = 0.3  # pause before each timed run, so the last library's idle threads stop spinning


def floats(pixels: np.ndarray) -> np.ndarray:
    """uint8 pixels as float32 in [0, 1], in one pass."""
    return np.multiply(pixels, np.float32(1.0 / 255.0), dtype=np.float32)


def weights_of(network) -> list[tuple[np.ndarray, np.ndarray]]:
    """Copies of every learned layer's (W, b): the initial weights every library starts from."""
    return [(layer.W.copy(), layer.b.copy()) for layer in network.layers if layer.parameters]
