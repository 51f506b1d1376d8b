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
from .windows import scratch

#: Source coordinates are computed in this precision (exact for whole pixels, 1e-5 of a pixel
#: otherwise: far below what bilinear reading can show).
COORDINATE = np.float32

#: Simard et al.'s elastic distortion for MNIST: σ = 4 pixels, α = 34.
SIMARD_SIGMA, SIMARD_ALPHA = 4.0, 34.0

#: The Gaussian that smooths the displacement field is cut off this many σ from its centre.
GAUSSIAN_REACH = 4.0

#: The uniform numbers drawn for each image's affine map: its rotation, shear, zoom, and shift
#: down and across.
AFFINE_DRAWS = 5


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

    @classmethod
    def parse(cls, text: str) -> Augmentation:
        """An augmentation from its written form, as ``nnet train --augment`` takes it: settings
        and recipes (:data:`RECIPES`) separated by commas, each over the ones before it::

            shift=2,rotation=10       settings by name (pixels, degrees, a fraction of the size)
            elastic                   Simard et al.'s elastic distortion (alpha=34, sigma=4)
            affine,elastic            two recipes together; affine,rotation=5 changes one value
            none                      no augmentation
        """
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"augment must name recipes ({', '.join(RECIPES)}) or settings such as shift=2,rotation=10; "
                             f"got {text!r}")
        values: dict[str, float] = {}
        for item in (part.strip() for part in text.split(",")):
            name, equals, value = item.partition("=")
            name = name.strip().lower()
            if not equals and name in RECIPES:
                if name == "none":
                    values.clear()
                values.update(RECIPES[name].settings(changed=True))
                continue
            if not equals or name not in SETTINGS:
                raise ValueError(f"augment: {item!r} is neither a recipe ({', '.join(RECIPES)}) nor a setting "
                                 f"name=value ({', '.join(SETTINGS)})")
            try:
                values[name] = float(value)
            except ValueError:
                raise ValueError(f"augment: {name} must be a number; got {value.strip()!r}") from None
        return cls(**values)

    def settings(self, changed: bool = False) -> dict[str, float]:
        """The six settings by name (only those that differ from the defaults with ``changed``):
        what a run's settings and a checkpoint keep."""
        every = {name: float(getattr(self, name)) for name in SETTINGS}
        return {name: value for name, value in every.items() if value != DEFAULT_SETTINGS[name]} if changed else every

    @property
    def setting(self) -> dict[str, float] | None:
        """What a run's ``augment`` setting keeps (:mod:`nnet.runs`): the settings, None for an
        augmentation that moves nothing."""
        return None if self.is_identity else self.settings()

    def __str__(self) -> str:
        """The written form :meth:`parse` reads, such as ``shift=2,rotation=10``: the settings
        that differ from the defaults, and sigma with alpha (``none`` for none)."""
        shown = {**self.settings(changed=True), **({"sigma": self.sigma} if self.alpha else {})}
        return ",".join(f"{name}={value:g}" for name, value in shown.items()) or "none"

    @property
    def is_identity(self) -> bool:
        """True when it moves nothing (every setting 0)."""
        return not (self.shift or self.rotation or self.scale or self.shear or self.alpha)

    def __call__(self, images: np.ndarray, rng: np.random.Generator, out: np.ndarray | None = None,
                 dtype=np.float32, scale: float = 1.0, cache: dict | None = None) -> np.ndarray:
        """The images (n, H, W) or (n, C, H, W), distorted: floats of ``dtype`` (into ``out``
        if given) times ``scale``, each image moved by its own random draw from ``rng``.
        ``cache``: a dict kept from batch to batch, where the working arrays are reused (see
        :func:`resample`).

        ``rng`` is asked only for blocks of uniform numbers, one block per image in the order of
        the images (``rng.random(out=...)`` with one row per image): first the affine map's
        AFFINE_DRAWS numbers, then, with ``alpha``, the elastic field's. So a part of the batch
        can draw exactly its images' numbers (:class:`nnet.distributed.ShardRandom`)."""
        images = _images(images)
        cache = {} if cache is None else cache
        n, (height, width) = len(images), images.shape[-2:]
        rows, cols = affine_grid(n, (height, width), *self.draw(n, rng, cache), cache=cache)
        if self.alpha:  # the elastic displacement adds to the affine map's source coordinates
            dy, dx = elastic_displacement(n, (height, width), rng, self.alpha, self.sigma, cache=cache)
            rows += dy
            cols += dx
        return resample(images, rows, cols, out=out, dtype=dtype, scale=scale, cache=cache)

    def draw(self, n: int, rng: np.random.Generator, cache: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The affine maps of n images: ``(matrices (n, 2, 2), translations (n, 2))`` acting on
        (row, column) coordinates, from AFFINE_DRAWS uniform numbers per image drawn from ``rng``."""
        uniform = rng.random(out=scratch({} if cache is None else cache, "draws", (n, AFFINE_DRAWS), np.float64))
        uniform *= 2.0
        uniform -= 1.0  # U[-1, 1), each column scaled by its setting's largest value
        turn, slant_by, zoom_by, down, across = uniform.T
        angle, shear = np.radians(turn * self.rotation), np.radians(slant_by * self.shear)
        zoom = 1.0 + zoom_by * self.scale
        translation = np.stack([down * self.shift, across * self.shift], axis=1)
        cos, sin = np.cos(angle), np.sin(angle)
        # (row, column) coordinates, rows pointing down: rotate ∘ zoom ∘ shear (x += tan(shear) y)
        rotate = np.stack([np.stack([cos, sin], -1), np.stack([-sin, cos], -1)], 1)
        slant = np.zeros((n, 2, 2))
        slant[:, 0, 0] = slant[:, 1, 1] = 1.0
        slant[:, 1, 0] = np.tan(shear)
        matrices = rotate @ slant * zoom[:, None, None]
        return matrices, translation


#: The settings of an :class:`Augmentation`, in order, and their defaults.
SETTINGS = ("shift", "rotation", "scale", "shear", "alpha", "sigma")
DEFAULT_SETTINGS = {name: float(getattr(Augmentation, name)) for name in SETTINGS}

#: Named augmentations, for ``nnet train --augment NAME`` (they combine: ``affine,elastic``).
RECIPES = {
    "none": Augmentation(),
    "shifts": Augmentation(shift=2.0),  # the book's one-pixel shifts, drawn afresh and between pixels
    "affine": Augmentation(shift=2.0, rotation=10.0, scale=0.1, shear=10.0),
    "elastic": Augmentation(alpha=SIMARD_ALPHA, sigma=SIMARD_SIGMA),  # Simard et al. 2003
}


def affine_grid(n: int, shape: tuple[int, int], matrices: np.ndarray, translations: np.ndarray,
                cache: dict | None = None):
    """Where each output pixel of n images comes from under the content maps
    ``p' = M (p - c) + c + t`` about the centre c: ``(rows, cols)``, float32 (n, H, W) each.

    ``matrices`` (n, 2, 2) and ``translations`` (n, 2) act on (row, column) coordinates; the
    identity and zero give every pixel its own place, ``t = (0, 1)`` moves the content one
    pixel to the right. The source of p' is ``M⁻¹ (p' - c - t) + c``: per image, two numbers
    times the pixel's offset from the centre, plus one.
    """
    cache = {} if cache is None else cache
    height, width = shape
    centre = np.array([(height - 1) / 2.0, (width - 1) / 2.0])
    m = np.asarray(matrices, np.float64)
    inverse = np.stack([m[:, 1, 1], -m[:, 0, 1], -m[:, 1, 0], m[:, 0, 0]], -1).reshape(n, 2, 2)
    inverse /= (m[:, 0, 0] * m[:, 1, 1] - m[:, 0, 1] * m[:, 1, 0])[:, None, None]
    start = centre - np.einsum("nij,nj->ni", inverse, np.asarray(translations, np.float64))  # (n, 2)
    down = (np.arange(height, dtype=COORDINATE) - COORDINATE(centre[0]))[:, None]  # (H, 1)
    across = (np.arange(width, dtype=COORDINATE) - COORDINATE(centre[1]))[None, :]  # (1, W)
    grids = []
    for axis, name in enumerate(("rows", "cols")):
        a, b, c = (v.astype(COORDINATE)[:, None, None] for v in (inverse[:, axis, 0], inverse[:, axis, 1], start[:, axis]))
        grid = scratch(cache, name, (n, height, width), COORDINATE)
        np.multiply(b, across, out=grid)
        grid += a * down
        grid += c
        grids.append(grid)
    return grids[0], grids[1]


def elastic_displacement(n: int, shape: tuple[int, int], rng: np.random.Generator, alpha: float, sigma: float,
                         cache: dict | None = None):
    """Simard et al.'s random displacement field for n images: uniform numbers in [-1, 1) at
    every pixel, smoothed by a Gaussian of ``sigma`` pixels and multiplied by ``alpha``.
    Returns ``(dy, dx)``, float32 (n, H, W) each.

    The smoothing is separable, ``G_rows @ field @ G_colsᵀ`` with ``G[i, k]`` the Gaussian
    weight of pixel k seen from pixel i (beyond the image the field counts as 0), and linear:
    for u uniform in [0, 1), the field 2u - 1 smooths to ``2 G u Gᵀ - G 1 Gᵀ``. Each product is
    one matrix product for the whole batch: along the rows of every image, then along the
    columns of every image, read transposed (so the result is too: (dy, dx) are views)."""
    cache = {} if cache is None else cache
    height, width = shape
    # one block per image, (dy, dx): drawn in the order of the images (see Augmentation.__call__)
    field = rng.random(out=scratch(cache, "field", (n, 2, height, width), COORDINATE), dtype=COORDINATE)
    across, down = _gaussian_matrix(width, sigma, cache), _gaussian_matrix(height, sigma, cache)
    along_rows = scratch(cache, "along_rows", (2 * n, height, width), COORDINATE)
    np.matmul(field.reshape(2 * n * height, width), across.T, out=along_rows.reshape(2 * n * height, width))
    columns = scratch(cache, "columns", (2 * n, width, height), COORDINATE)
    np.copyto(columns, along_rows.transpose(0, 2, 1))
    smooth = scratch(cache, "smooth", (n, 2, width, height), COORDINATE)  # each plane transposed
    np.matmul(columns.reshape(2 * n * width, height), down.T * COORDINATE(2.0 * alpha),
              out=smooth.reshape(2 * n * width, height))
    smooth -= (down.sum(axis=1)[:, None] * across.sum(axis=1)[None, :]).T * COORDINATE(alpha)  # α G 1 Gᵀ
    return smooth[:, 0].transpose(0, 2, 1), smooth[:, 1].transpose(0, 2, 1)


def _gaussian_matrix(size: int, sigma: float, cache: dict) -> np.ndarray:
    """(size, size) float32: row i holds the Gaussian weights exp(-(i - k)² / 2σ²) / (σ √(2π))
    of the pixels k within GAUSSIAN_REACH σ of i (kept in ``cache``)."""
    key = ("gaussian", size, sigma)
    if key not in cache:
        distance = np.subtract.outer(np.arange(size), np.arange(size)).astype(np.float64)
        weights = np.exp(-0.5 * (distance / sigma) ** 2) / (sigma * np.sqrt(2.0 * np.pi))
        weights[np.abs(distance) > GAUSSIAN_REACH * sigma] = 0.0
        cache[key] = weights.astype(COORDINATE)
    return cache[key]


def resample(images: np.ndarray, rows: np.ndarray, cols: np.ndarray, out: np.ndarray | None = None,
             dtype=np.float32, scale: float = 1.0, cache: dict | None = None) -> np.ndarray:
    """Bilinear resampling: output pixel (s, i, j) is image s read at the point
    (rows[s, i, j], cols[s, i, j]), 0 outside the image.

    images : (n, H, W) or (n, C, H, W), uint8 or floats (the channels are moved alike)
    rows, cols : (n, H', W') floats, source coordinates of every output pixel (usually H' = H
        and W' = W)
    out : optional, where the result goes
    scale : every value is multiplied by it on the way (the data path's 1/255 for pixels)
    cache : optional dict, kept from batch to batch: the working arrays live there and are
        reused (arrays made and freed at every batch cost page faults, more than the work)
    Returns floats of ``dtype``, (n, H', W') or (n, C, H', W').

    The images are framed by one pixel of zeros, and a point beyond the frame reads the frame.
    The point (y, x) lies in the square of the four pixels around it, top-left (⌊y⌋, ⌊x⌋), and
    takes their values weighted by its distances (y - ⌊y⌋, x - ⌊x⌋) to them: four gathers from
    the flattened batch, and a few array operations, for every image at once.
    """
    images, dtype = _images(images), np.dtype(dtype)
    cache = {} if cache is None else cache
    n, height, width = len(images), images.shape[-2], images.shape[-1]
    planes = images.size // (n * height * width)
    framed = scratch(cache, "framed", (n, planes, height + 2, width + 2), dtype, fill=0.0)
    inside = framed[..., 1:-1, 1:-1]  # the frame stays 0
    np.multiply(images.reshape(n, planes, height, width), dtype.type(scale), out=inside)
    stride = width + 2
    points = rows.size // n
    y, x, top, left = (scratch(cache, name, (n, points), COORDINATE) for name in ("y", "x", "top", "left"))
    # a point beyond the frame is moved onto it: there every pixel it reads is 0
    np.clip(rows.reshape(n, points), -1.0, height, out=y)
    np.clip(cols.reshape(n, points), -1.0, width, out=x)
    np.minimum(np.floor(y, out=top), height - 1, out=top)
    np.minimum(np.floor(x, out=left), width - 1, out=left)
    y -= top  # the weights of the lower and the right pixels, in [0, 1]
    x -= left
    top += 1.0  # the top-left pixel of the square, inside its frame (exact below 2**24)
    top *= stride
    top += left
    top += 1.0
    index = scratch(cache, "index", (n, planes, points), np.intp)
    np.copyto(index, top[:, None, :], casting="unsafe")
    index += _plane_starts(n, planes, (height + 2) * stride)
    flat = framed.reshape(-1)
    corners = [scratch(cache, name, index.shape, dtype) for name in ("upper_left", "upper_right", "lower_left", "lower_right")]
    for corner, step in zip(corners, (0, 1, stride - 1, 1)):  # to the next corner: right, down-left, right
        index += step
        flat.take(index, out=corner)
    upper_left, upper_right, lower_left, lower_right = corners
    across, down = x[:, None, :], y[:, None, :]
    upper_right -= upper_left
    upper_right *= across
    upper_left += upper_right  # the upper pair, read at x
    lower_right -= lower_left
    lower_right *= across
    lower_left += lower_right  # the lower pair, read at x
    lower_left -= upper_left
    lower_left *= down
    upper_left += lower_left  # between the two pairs, read at y
    value = upper_left.reshape(*images.shape[:-2], *rows.shape[1:])
    if out is None:
        return value.copy()
    np.copyto(out, value)
    return out


def _plane_starts(n: int, planes: int, size: int) -> np.ndarray:
    """Where each framed image plane starts in the flattened batch, (n, planes, 1)."""
    return (np.arange(n * planes, dtype=np.intp) * size).reshape(n, planes, 1)


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
