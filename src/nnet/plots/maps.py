"""Inside a convolutional network (the book's chapter 6): the filters a layer slides over the
image, the feature maps one image lights, and what augmentation does to the training digits."""

from __future__ import annotations

import numpy as np

from ..network import Network
from . import canvas

#: The kinds of layer whose output is feature maps, (channels, height, width).
MAP_KINDS = ("conv2d", "max_pool2d", "avg_pool2d", "dropout")


def conv_layers(network: Network) -> list[int]:
    """The indices of the network's convolutional layers."""
    return [index for index, layer in enumerate(network.layers) if layer.kind == "conv2d"]


def plot_filters(network: Network, layer: int | None = None, path=None, max_filters: int = 32, max_maps: int = 8):
    """The filters of one convolutional layer (by default the first): the weights W[f, c] each
    feature map f slides over input map c, one kh x kw tile each, red where a bright pixel
    excites the map's neuron, blue where it inhibits it (one colour scale, centred at 0).

    A first layer on grey images has one input map: a tile per filter, the pattern it looks for.
    A deeper layer draws a row per filter, a column per input map (the first ``max_maps``).
    Raises ValueError for a layer that is not convolutional.
    """
    convolutions = conv_layers(network)
    if not convolutions:
        raise ValueError("this network has no convolutional layer: filters are a conv2d layer's (see weights for dense)")
    layer = convolutions[0] if layer is None else layer
    if layer not in convolutions:
        raise ValueError(f"layer {layer} is not convolutional; filters are drawn for layers {convolutions}")
    W = network.layers[layer].W
    filters, maps = min(len(W), max_filters), min(W.shape[1], max_maps)
    limit = float(np.abs(W[:filters, :maps]).max()) or 1.0
    rows, columns = canvas.grid(filters) if maps == 1 else (filters, maps)
    figure = canvas.figure(0.9 * columns + 1.6, 0.95 * rows + 1.0)
    tiles = figure.subplots(rows, columns, squeeze=False)
    for position, axes in enumerate(tiles.flat):
        f, c = (position, 0) if maps == 1 else divmod(position, maps)
        if f >= filters:
            axes.set_axis_off()
            continue
        image = axes.imshow(W[f, c], cmap=canvas.WEIGHT_COLORS, vmin=-limit, vmax=limit, interpolation="nearest")
        canvas.frame(axes)
        if maps == 1:
            axes.set_title(f"map {f}", fontsize=7)
        elif c == 0:
            axes.set_ylabel(f"map {f}", fontsize=7)
        if maps > 1 and f == 0:
            axes.set_title(f"from {c}", fontsize=7)
    bar = figure.colorbar(image, ax=tiles, shrink=0.6, aspect=30)
    bar.set_label("weight  (red: a bright pixel here excites, blue: inhibits)")
    kh, kw = W.shape[2:]
    some = "" if filters == len(W) and maps == W.shape[1] else f" (the first {filters} of {len(W)} maps, {maps} of {W.shape[1]} inputs)"
    figure.suptitle(f"The {kh}x{kw} filters of {canvas.layer_title(network, layer)} (layer={layer}): "
                    f"shared weights, one set per feature map{some}")
    return canvas.finish(figure, path)


def plot_feature_maps(network: Network, x, path=None, max_maps: int = 16):
    """One image through a convolutional network: the image, then the feature maps of every
    layer whose output is maps (convolution, pooling), brightest where the feature was found.
    Each layer is a row of its first ``max_maps`` maps, each map on its own brightness scale
    (black 0, white its largest activation)."""
    x = np.asarray(x)
    if x.size != network.n_inputs:
        raise ValueError(f"plot_feature_maps shows one input of {network.n_inputs} values; got x of shape {x.shape} (pass x[i])")
    shown = [index for index, layer in enumerate(network.layers)
             if layer.kind in MAP_KINDS and len(layer.output_shape) == 3]
    if not shown:
        raise ValueError("this network has no feature maps (no convolution or pooling layer): see activations")
    trace = network.forward(x.reshape(1, *network.input_shape), record=True)
    columns = 1 + min(max_maps, max(network.layers[index].output_shape[0] for index in shown))
    figure = canvas.figure(1.05 * columns + 0.6, 1.25 * len(shown) + 0.9)
    panels = figure.subplots(len(shown), columns, squeeze=False)
    image = trace.activations[0][0].reshape(network.input_shape[-2:]) if x.size == np.prod(network.input_shape[-2:]) else None
    for row, index in enumerate(shown):
        layer, maps = network.layers[index], trace.activations[index + 1][0]
        first = panels[row, 0]
        first.set_axis_off()
        if row == 0 and image is not None:
            first.imshow(image, cmap=canvas.BRIGHTNESS, vmin=0, vmax=max(1.0, float(image.max())))
            first.set_title("input", fontsize=8)
        first.text(0.5, -0.15 if row == 0 else 0.5, f"layer {index}\n{_kind(layer)}", transform=first.transAxes,
                   ha="center", va="top" if row == 0 else "center", fontsize=7)
        for column, axes in enumerate(panels[row, 1:]):
            if column >= min(max_maps, len(maps)):
                axes.set_axis_off()
                continue
            axes.imshow(maps[column], cmap=canvas.BRIGHTNESS, vmin=min(0.0, float(maps[column].min())),
                        vmax=max(float(maps[column].max()), 1e-6), interpolation="nearest")
            canvas.frame(axes)
            axes.set_label(f"layer {index} map {column}")
            if row == 0 or column == 0:
                axes.set_title(f"map {column}", fontsize=7)
    answer = int(network.predict(trace.activations[0])[0])
    figure.suptitle(f"One image through the network's feature maps (the answer: {network.class_names[answer]})")
    return canvas.finish(figure, path)


def _kind(layer) -> str:
    if layer.kind == "conv2d":
        return f"conv {layer.out_channels} {layer.kernel_size[0]}x{layer.kernel_size[1]}"
    if layer.kind == "dropout":
        return f"dropout {layer.dropout:g}"
    return f"{layer.kind[:3]} pool {layer.kernel_size[0]}x{layer.kernel_size[1]}"


def plot_augmentation(images, augmentation, path=None, labels=None, variants: int = 7, seed: int = 0, classes=None):
    """What an augmentation does to a few digits: each row one image, as it is, then
    ``variants`` distortions of it as training would draw them (from ``seed``).

    ``images`` (n, H, W) or (n, H·W) square rows, uint8 pixels or floats; ``augmentation`` an
    :class:`nnet.augment.Augmentation`.
    """
    images = np.asarray(images)
    if images.ndim == 2:
        shape = canvas.square(images.shape[1])
        if shape is None:
            raise ValueError(f"plot_augmentation draws images; rows of {images.shape[1]} values are not square ones")
        images = images.reshape(len(images), *shape)
    if images.ndim != 3 or not len(images):
        raise ValueError(f"images must be (n, height, width); got shape {images.shape}")
    n = len(images)
    moved = augmentation(np.repeat(images, variants, axis=0), np.random.default_rng(seed), dtype=np.float64)
    moved = moved.reshape(n, variants, *images.shape[1:])
    top = float(max(images.max(), 1))
    figure = canvas.figure(1.0 * (variants + 1) + 0.4, 1.1 * n + 0.9)
    tiles = figure.subplots(n, variants + 1, squeeze=False)
    for row in range(n):
        for column, axes in enumerate(tiles[row]):
            picture = images[row] if column == 0 else moved[row, column - 1]
            axes.imshow(picture, cmap=canvas.BRIGHTNESS, vmin=0, vmax=top, interpolation="nearest")
            canvas.frame(axes)
        label = "" if labels is None else f" ({classes[int(labels[row])] if classes else int(labels[row])})"
        tiles[row, 0].set_ylabel(f"image{label}", fontsize=8)
    tiles[0, 0].set_title("as it is", fontsize=8)
    for column in range(1, variants + 1):
        tiles[0, column].set_title(f"drawn {column}", fontsize=8)
    figure.suptitle(f"Augmentation {augmentation}\n(new distortions of each image at every batch)", fontsize=10)
    return canvas.finish(figure, path)
