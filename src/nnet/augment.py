"""Data augmentation: new training images from old ones, by moving their pixels.

A digit shifted by a pixel, turned a few degrees, a little larger or slanted, or written with a
slightly wobbly hand is still the same digit. Showing the network such variations of its
training images, drawn afresh for every minibatch, teaches it what does not matter, and is the
step of the book's ladder from 99.06% to 99.37% (the training set expanded by one-pixel
shifts), and beyond it in Simard et al. (2003): 99.3% for a fully connected network trained on
elastically distorted digits.

Every transformation here is a map from each output pixel (i, j) to the point (y, x) of the
input image it shows; the output pixel takes the input's value there, read between pixels by
bilinear interpolation (0 outside the image: the black background). For a minibatch all the
maps are built at once, as arrays of source coordinates of shape (n, H, W), and the whole batch
is resampled in one pass of array operations (:func:`resample`): no loop over images.

affine (:func:`affine_grid`)
    Each image drawn its own shift (pixels), rotation and shear (degrees) and scale, applied
    about the image centre. The grid holds where each output pixel comes from:
    ``source = M⁻¹ (p - c - t) + c``, for the content map ``p' = M (p - c) + c + t``.
elastic (:func:`elastic_displacement`, Simard et al. 2003)
    A displacement field of random numbers in [-1, 1] at every pixel, smoothed by a Gaussian of
    width ``sigma`` pixels (as two small matrix products per batch) and scaled by ``alpha``:
    the digit's strokes bend smoothly, as different hands would write them.

:class:`Augmentation` draws both from a numpy Generator for a whole minibatch (the same seed,
the same images); :func:`expand_by_shifts` is the book's fixed expansion of a training set.
Images are (n, H, W) or (n, C, H, W) (channels moved alike), uint8 pixels or floats; what comes
out is floats (float32 unless asked), in the units that came in: the network's data path scales
them as it scales pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import checks

#: Simard et al.'s elastic distortion for MNIST: σ = 4 pixels, α = 34.
SIMARD_SIGMA, SIMARD_ALPHA = 4.0, 34.0

#: The Gaussian that smooths the displacement field is cut off this many σ from its centre.
GAUSSIAN_REACH = 4.0


@dataclass(frozen=True)
class Augmentation:
    """Random distortions of a minibatch of images, each image drawn its own.

    Parameters
    ----------
    shift : float
        Largest shift, in pixels, in each direction: drawn from U(-shift, shift).
    rotation : float
        Largest rotation, in degrees: U(-rotation, rotation).
    scale : float
        Largest change of size, a fraction: the zoom is drawn from U(1 - scale, 1 + scale).
    shear : float
        Largest shear angle, in degrees (horizontal lines stay, verticals lean): U(-shear, shear).
    alpha : float
        Strength of the elastic distortion, in pixels (0: none; Simard et al. use 34 on MNIST).
    sigma : float
        Smoothness of the elastic distortion, in pixels (Simard et al.: 4).

    Examples
    --------
    >>> augment = Augmentation(shift=2, rotation=10, alpha=34, sigma=4)
    >>> images = np.zeros((64, 28, 28), np.uint8)
    >>> augment(images, np.random.default_rng(0)).shape
    (64, 28, 28)
    """

    shift: float = 0.0
    rotation: float = 0.0
    scale: float = 0.0
    shear: float = 0.0
    alpha: float = 0.0
    sigma: float = SIMARD_SIGMA

    def __post_init__(self):
        for name in ("shift", "rotation", "shear", "alpha"):
            checks.number(name, getattr(self, name), minimum=0.0)
        checks.number("scale", self.scale, minimum=0.0, maximum=1.0, open_max=True)
        checks.number("sigma", self.sigma, minimum=0.0, open_min=True)

    @property
    def is_identity(self) -> bool:
        """True when it moves nothing (every setting 0)."""
        return not (self.shift or self.rotation or self.scale or self.shear or self.alpha)

    def __call__(self, images: np.ndarray, rng: np.random.Generator, out: np.ndarray | None = None,
                 dtype=np.float32) -> np.ndarray:
        """The images (n, H, W) or (n, C, H, W), distorted: floats of ``dtype`` (into ``out``
        if given), each image moved by its own random draw from ``rng``."""
        images = _images(images)
        n, (height, width) = len(images), images.shape[-2:]
        rows, cols = affine_grid(n, (height, width), *self.draw(n, rng))
        if self.alpha:
            dy, dx = elastic_displacement(n, (height, width), rng, self.alpha, self.sigma)
            rows += dy
            cols += dx
        return resample(images, rows, cols, out=out, dtype=dtype)

    def draw(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """The affine maps of n images: ``(matrices (n, 2, 2), translations (n, 2))`` acting on
        (row, column) coordinates, drawn from ``rng``."""
        def uniform(limit):
            return rng.uniform(-limit, limit, n)

        angle, shear = np.radians(uniform(self.rotation)), np.radians(uniform(self.shear))
        zoom = 1.0 + uniform(self.scale)
        translation = np.stack([uniform(self.shift), uniform(self.shift)], axis=1)
        cos, sin = np.cos(angle), np.sin(angle)
        # (row, column) coordinates, rows pointing down: rotate ∘ zoom ∘ shear (x += tan(shear) y)
        rotate = np.stack([np.stack([cos, sin], -1), np.stack([-sin, cos], -1)], 1)
        slant = np.zeros((n, 2, 2))
        slant[:, 0, 0] = slant[:, 1, 1] = 1.0
        slant[:, 1, 0] = np.tan(shear)
        matrices = rotate @ slant * zoom[:, None, None]
        return matrices, translation


def affine_grid(n: int, shape: tuple[int, int], matrices: np.ndarray, translations: np.ndarray):
    """Where each output pixel of n images comes from under the content maps
    ``p' = M (p - c) + c + t`` about the centre c: ``(rows, cols)``, float64 (n, H, W) each.

    ``matrices`` (n, 2, 2) and ``translations`` (n, 2) act on (row, column) coordinates; the
    identity and zero give every pixel its own place, ``t = (0, 1)`` moves the content one
    pixel to the right.
    """
    height, width = shape
    centre = np.array([(height - 1) / 2.0, (width - 1) / 2.0])
    grid = np.stack(np.meshgrid(np.arange(height), np.arange(width), indexing="ij"), -1).reshape(-1, 2)  # (HW, 2)
    inverse = np.linalg.inv(np.asarray(matrices, np.float64))  # (n, 2, 2)
    moved = grid[None] - centre - np.asarray(translations, np.float64)[:, None, :]  # (n, HW, 2)
    source = moved @ inverse.transpose(0, 2, 1) + centre
    return source[..., 0].reshape(n, height, width), source[..., 1].reshape(n, height, width)


def elastic_displacement(n: int, shape: tuple[int, int], rng: np.random.Generator, alpha: float, sigma: float):
    """Simard et al.'s random displacement field for n images: uniform numbers in [-1, 1] at
    every pixel, smoothed by a Gaussian of ``sigma`` pixels and multiplied by ``alpha``.
    Returns ``(dy, dx)``, float64 (n, H, W) each.

    The smoothing is separable: ``G_rows @ field @ G_colsᵀ`` with ``G[i, k]`` the Gaussian
    weight of pixel k seen from pixel i (beyond the image the field counts as 0)."""
    height, width = shape
    field = rng.uniform(-1.0, 1.0, (2, n, height, width))
    smooth = _gaussian_matrix(height, sigma) @ field @ _gaussian_matrix(width, sigma).T
    smooth *= alpha
    return smooth[0], smooth[1]


def _gaussian_matrix(size: int, sigma: float) -> np.ndarray:
    """(size, size): row i holds the Gaussian weights exp(-(i - k)² / 2σ²) / (σ √(2π)) of the
    pixels k within GAUSSIAN_REACH σ of i."""
    distance = np.subtract.outer(np.arange(size), np.arange(size)).astype(np.float64)
    weights = np.exp(-0.5 * (distance / sigma) ** 2) / (sigma * np.sqrt(2.0 * np.pi))
    weights[np.abs(distance) > GAUSSIAN_REACH * sigma] = 0.0
    return weights


def resample(images: np.ndarray, rows: np.ndarray, cols: np.ndarray, out: np.ndarray | None = None,
             dtype=np.float32) -> np.ndarray:
    """Bilinear resampling: output pixel (s, i, j) is image s read at the point
    (rows[s, i, j], cols[s, i, j]), 0 outside the image.

    images : (n, H, W) or (n, C, H, W), uint8 or floats (the channels are moved alike)
    rows, cols : (n, H', W') floats, source coordinates of every output pixel (usually H' = H
        and W' = W)
    Returns floats of ``dtype``, (n, H', W') or (n, C, H', W') (into ``out`` if given).

    The image is framed by one pixel of zeros; a coordinate beyond the frame reads the frame.
    Each output pixel is the weighted sum of the four pixels around its source point, gathered
    from the flattened batch with four index arrays.
    """
    images = _images(images)
    n, height, width = len(images), images.shape[-2], images.shape[-1]
    framed = np.zeros((*images.shape[:-2], height + 2, width + 2), dtype)
    framed[..., 1:-1, 1:-1] = images
    # clip into the frame: a point beyond it has zero weight on every pixel of the image
    rows = np.clip(rows, -1.0, height)
    cols = np.clip(cols, -1.0, width)
    top = np.minimum(np.floor(rows), height - 1)
    left = np.minimum(np.floor(cols), width - 1)
    down, right = (rows - top).astype(dtype), (cols - left).astype(dtype)  # weights in [0, 1]
    stride = width + 2
    corner = ((top + 1) * stride + (left + 1)).astype(np.intp)  # index of the top-left pixel in a frame
    planes = framed.reshape(n, -1, (height + 2) * stride)  # (n, C, framed pixels)
    corner = corner.reshape(n, 1, -1)

    def at(offset):
        return np.take_along_axis(planes, corner + offset, axis=2)

    up, left_weight = 1 - down, 1 - right
    flat_down, flat_right = down.reshape(n, 1, -1), right.reshape(n, 1, -1)
    flat_up, flat_left = up.reshape(n, 1, -1), left_weight.reshape(n, 1, -1)
    value = (at(0) * flat_left + at(1) * flat_right) * flat_up
    value += (at(stride) * flat_left + at(stride + 1) * flat_right) * flat_down
    value = value.reshape(*images.shape[:-2], *rows.shape[1:])
    if out is None:
        return value
    np.copyto(out, value)
    return out


def expand_by_shifts(x: np.ndarray, y: np.ndarray, image_shape: tuple[int, int] | None = None):
    """The book's expanded training set: every image, and its copies moved one pixel up, down,
    left and right (the pixels moved out are lost, those moved in are 0). Five times the data.

    x : (n, H, W) or (n, C, H, W) images; or (n, H·W) rows with ``image_shape=(H, W)``
    y : (n,) labels, or (n, k) targets
    Returns ``(x5, y5)``: the originals first, then each shift in turn, as blocks of n, each
    shaped and typed as x and y (labels repeated: a moved digit is the same digit).
    """
    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} samples but y has {len(y)}; expected one label per sample")
    images = x
    if x.ndim == 2:
        if image_shape is None:
            raise ValueError(f"x of shape {x.shape} holds rows: give image_shape=(height, width), such as (28, 28)")
        images = x.reshape(len(x), *image_shape)
    images = _images(images)
    expanded = np.zeros((5, *images.shape), images.dtype)
    expanded[0] = images
    expanded[1, ..., :-1, :] = images[..., 1:, :]  # up
    expanded[2, ..., 1:, :] = images[..., :-1, :]  # down
    expanded[3, ..., :, :-1] = images[..., :, 1:]  # left
    expanded[4, ..., :, 1:] = images[..., :, :-1]  # right
    return expanded.reshape(5 * len(x), *x.shape[1:]), np.concatenate([y] * 5)


def _images(images) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim not in (3, 4) or images.dtype.kind not in "uif" or not images.size:
        raise ValueError(f"images must be numbers of shape (n, height, width) or (n, channels, height, width); "
                         f"got shape {images.shape}, dtype {images.dtype}")
    return images
