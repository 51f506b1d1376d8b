"""The data itself: the average image of each class."""

from __future__ import annotations

import numpy as np

from . import canvas

def plot_class_means(x, y, classes=None, path=None):
    """The average input image of each class: what a "typical" 0, 1, ... 9 looks like.

    ``x`` (n, 784) or (n, 28, 28), uint8 pixels or floats; ``y`` int labels (n,).
    """
    x, y = np.asarray(x), np.asarray(y)
    if y.ndim != 1 or len(y) != len(x) or not len(y):
        raise ValueError(f"x and y must hold the same number (> 0) of samples; got shapes {x.shape} and {y.shape}")
    if y.dtype.kind not in "iu" or y.min() < 0:
        raise ValueError(f"y must hold int labels 0..k-1; got dtype {y.dtype}")
    shape = x.shape[1:] if x.ndim == 3 else canvas.square(x.shape[-1] if x.ndim == 2 else 0)
    if shape is None:
        raise ValueError(f"plot_class_means draws images; x of shape {x.shape} does not hold square images")
    k = len(classes) if classes is not None else int(y.max()) + 1
    if y.max() >= k:
        raise ValueError(f"y has labels up to {y.max()}, but classes names only {k}: {list(classes)}")
    names = canvas.class_names(classes, k)
    images = x.reshape(len(x), *shape).astype(np.float64)
    means = [images[y == c].mean(axis=0) if (y == c).any() else np.zeros(shape) for c in range(k)]
    top = max(max(float(mean.max()) for mean in means), 1e-12)  # the brightest mean is white
    rows, columns = canvas.grid(k)
    figure = canvas.figure(1.6 * columns + 1.2, 1.8 * rows + 0.6)
    tiles = figure.subplots(rows, columns, squeeze=False)
    for c, axes in enumerate(tiles.flat):
        axes.set_axis_off()
        if c >= k:
            continue
        image = axes.imshow(means[c], cmap=canvas.BRIGHTNESS, vmin=0, vmax=top)
        axes.set_title(f"{names[c]}  ({int(np.count_nonzero(y == c))} images)", fontsize=9)
    scale = " (0-255)" if x.dtype == np.uint8 else ""
    figure.colorbar(image, ax=tiles, shrink=0.7, label=f"mean pixel value{scale}")
    figure.suptitle("The average image of each class")
    return canvas.finish(figure, path)
