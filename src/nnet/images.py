"""Turn a photo, scan or drawing into an MNIST input, the way the MNIST digits were made.

LeCun, Cortes and Burges describe how MNIST was made (http://yann.lecun.com/exdb/mnist/):
"The original black and white (bilevel) images from NIST were size normalized to fit in a 20x20
pixel box while preserving their aspect ratio. The resulting images contain grey levels as a
result of the anti-aliasing technique used by the normalization algorithm. the images were
centered in a 28x28 image by computing the center of mass of the pixels, and translating the
image so as to position this point at the center of the 28x28 field."

`to_mnist` does the same to any image, in eight steps:

1. Read a file path, encoded file bytes (in one of ``nnet.datasets.image_folder.IMAGE_FORMATS``, the raster
   formats: the decoder is never chosen by content alone), a ``PIL.Image.Image`` or a NumPy array: (H, W) gray,
   (H, W, 2) gray + alpha, (H, W, 3) RGB or (H, W, 4) RGBA, uint8 or float in [0, 1]. A side
   over ``WORKING_SIDE`` is box-averaged down to that size first (JPEGs decode at that scale).
2. Grayscale, float32 in [0, 1] (ITU-R 601 luma, as Pillow's "L"). Transparent pixels are
   background: they take the shade opposite to what is drawn (black strokes on a transparent
   canvas read as black on white).
3. Polarity: the background is the median of a thin border ring; brighter than the midpoint of
   the darkest and brightest 3x3 means, it is dark ink on light and gets inverted, so ink is
   bright on 0 as in MNIST. ``invert=True/False`` overrides the detection.
4. Light denoising: subtract the background and the border's noise floor (~ its 90th
   percentile), clip at 0; anti-aliased edges survive. ``median_filter=True`` first applies a
   3x3 median filter against salt-and-pepper specks.
5. Crop to the ink's bounding box: ink pixels whose 3x3 mean exceeds ``INK_LEVEL`` of the
   brightest 3x3 mean (lone noisy pixels average away), widened over touching ink fainter than
   that but above ``EDGE_LEVEL`` and the noise, so the box holds the anti-aliased edges as MNIST's
   does (a MNIST digit comes through unchanged). No ink at all: ``ImageError``, no guess.
6. Scale the longer side to ``BOX_SIDE`` = 20 keeping the aspect ratio (Lanczos when
   shrinking, bicubic when enlarging), clip at 0, stretch the brightest pixel to full white.
7. Center: put the center of mass at (14, 14) of the 28x28 image (MNIST test digits average
   (13.99, 14.01) in row, column indices), shifting by whole pixels, the 20x20 box kept inside.
8. Return uint8 0..255, white ink on black: shape (784,), or (28, 28) with ``flatten=False``.
"""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Union

import numpy as np

from . import limits
from .datasets.registry import IMAGE_SIDE  # MNIST images are 28x28 ...
from .datasets.image_folder import IMAGE_FORMATS, import_pillow, is_image_file, pillow_reason

if TYPE_CHECKING:
    from PIL.Image import Image as PillowImage

BOX_SIDE = 20  # ... with the digit size-normalized into a 20x20 box
CENTER = IMAGE_SIDE / 2  # where the center of mass goes, in pixel indices (row, column)
MAX_PIXELS = limits.MAX_PIXELS  # larger inputs are refused (decompression bombs)
WORKING_SIDE = 1024  # larger images are box-averaged down to about this side first
INK_LEVEL = 0.4  # ink = 3x3 mean above this fraction of the brightest 3x3 mean
MIN_CONTRAST = 0.08  # brightest 3x3 mean of the ink below this: the image is blank
EDGE_LEVEL = 0.05  # fainter ink next to the box (above the noise) joins it
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R 601-2, as Pillow's "L"

__all__ = ["BOX_SIDE", "IMAGE_SIDE", "MAX_PIXELS", "ImageError", "load_images", "to_mnist"]

ImageInput = Union[str, os.PathLike, bytes, "PillowImage", np.ndarray]


class ImageError(ValueError):
    """An input that cannot become an MNIST digit: unreadable, wrong shape or dtype, blank, huge."""


def to_mnist(
    image: ImageInput, *, invert: bool | None = None, median_filter: bool = False, flatten: bool = True
) -> np.ndarray:
    """Turn one image into an MNIST input: white ink on black, 20x20 box, centered by mass.

    Parameters
    ----------
    image : str or os.PathLike (a file Pillow reads), bytes (an encoded file), PIL.Image.Image,
        or ndarray of shape (H, W), (H, W, 2), (H, W, 3) or (H, W, 4), uint8 or float in [0, 1].
    invert : None detects the polarity; True says the image is dark ink on a light background
        (it is inverted); False says it is already light ink on a dark background.
    median_filter : apply a 3x3 median filter first, against salt-and-pepper noise.
    flatten : return shape (784,) if True, (28, 28) if False.

    Returns
    -------
    ndarray of dtype uint8, shape (784,) or (28, 28), values 0..255 (0 = background).

    Raises
    ------
    ImageError for an unreadable file, a wrong array shape or dtype, NaN, an image over
    MAX_PIXELS pixels, or a blank image. For a file path the message starts with the path.
    """
    try:
        gray = _read(image)  # steps 1-2
        if median_filter:
            gray = _median3(gray)
        ink, noise_floor = _ink(gray, invert)  # steps 3-4
        crop = _crop(ink, noise_floor)  # step 5
        digit = _center(_scale(crop))  # steps 6-7
    except ImageError as error:
        if isinstance(image, (str, os.PathLike)):
            raise ImageError(f"{os.fspath(image)}: {error}") from error
        raise
    digit = np.rint(digit * 255).astype(np.uint8)  # step 8
    return digit.ravel() if flatten else digit


# Steps 1-2: read anything into a float32 (H, W) grayscale array in [0, 1].


def _read(image: ImageInput) -> np.ndarray:
    Image = import_pillow()
    from PIL import ImageOps

    if isinstance(image, np.ndarray):
        _check_shape(image)
        if image.dtype == np.uint8:  # Pillow's C code does the gray, alpha and shrinking fast
            image = _pillow_array(Image.fromarray(image))
        return _reduce(_grayscale(image))
    if isinstance(image, Image.Image):
        try:
            array = _pillow_array(image)
        except ImageError:
            raise
        except Exception as error:  # noqa: BLE001 - a truncated file, a closed image: Pillow raises any kind
            raise ImageError(
                f"cannot convert the PIL image (mode {image.mode}, {image.width}x{image.height}) to "
                f"grayscale: {pillow_reason(error)}"
            ) from error
        return _reduce(_grayscale(array))
    if isinstance(image, (bytes, bytearray, memoryview)):
        source = io.BytesIO(image)
    elif isinstance(image, (str, os.PathLike)):
        source = os.fspath(image)
    else:
        raise ImageError(
            "expected a file path, encoded image bytes, a PIL.Image.Image or a NumPy array; "
            f"got {type(image).__name__}"
        )
    try:  # (Pillow's warnings, of damage it reads past or sizes we refuse below, are not shown)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(source, formats=IMAGE_FORMATS) as opened:
                _check_size(*opened.size)
                factor = _factor(*opened.size)
                if factor > 1:  # JPEG: decode at a reduced scale directly
                    opened.draft(None, (opened.width // factor, opened.height // factor))
                array = _pillow_array(ImageOps.exif_transpose(opened))
    except ImageError:  # ours, from the size check: already clear
        raise
    except FileNotFoundError:
        raise ImageError("no such file") from None
    except IsADirectoryError:
        raise ImageError("is a folder, not an image") from None
    except Image.UnidentifiedImageError:
        raise ImageError(f"cannot read it as an image: not one of the formats nnet reads ({', '.join(IMAGE_FORMATS)})") from None
    except Image.DecompressionBombError as error:
        raise ImageError(f"the image is too large ({error}); the limit is {MAX_PIXELS:,} pixels") from error
    except Exception as error:  # noqa: BLE001 - a damaged file makes Pillow's decoders raise any kind
        raise ImageError(f"cannot read it as an image ({pillow_reason(error)})") from error
    return _reduce(_grayscale(array))


def _check_size(width: int, height: int) -> None:
    if width * height > MAX_PIXELS:  # checked before decoding: no decompression bombs
        raise ImageError(
            f"the image is too large: {width}x{height} = {width * height:,} pixels, "
            f"the limit is {MAX_PIXELS:,}; scale it down first"
        )


def _factor(width: int, height: int) -> int:
    """The box-averaging factor that brings the longer side to WORKING_SIDE or below."""
    return max(1, -(-max(width, height) // WORKING_SIDE))


def _pillow_array(image: PillowImage) -> np.ndarray:
    """A Pillow image as a uint8 (H, W) or (H, W, 2) gray + alpha array (float for 16/32 bit)."""
    _check_size(*image.size)
    if image.mode == "F":
        return np.asarray(image, dtype=np.float32)
    if image.mode.startswith("I"):  # 16- or 32-bit integer gray
        array = np.asarray(image, dtype=np.float32)
        return np.clip(array / (65535 if array.max() > 255 else 255), 0, 1)
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
    if has_alpha and image.mode not in ("RGBA", "LA"):
        image = image.convert("RGBA")  # a palette's transparency becomes an alpha channel
    image = image.convert("LA" if has_alpha else "L")
    factor = _factor(*image.size)
    return np.asarray(image.reduce(factor) if factor > 1 else image)


def _check_shape(array: np.ndarray) -> None:
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (2, 3, 4))):
        raise ImageError(
            "expected an image array of shape (H, W), (H, W, 2), (H, W, 3) or (H, W, 4); "
            f"got shape {array.shape}"
        )
    height, width = array.shape[:2]
    if height * width == 0:
        raise ImageError(f"the image is empty: shape {array.shape} has no pixels")
    _check_size(width, height)


def _grayscale(array: np.ndarray) -> np.ndarray:
    """Validate an image array and return its float32 (H, W) gray in [0, 1], alpha composited."""
    _check_shape(array)
    if array.dtype == np.uint8:
        values = array.astype(np.float32) / 255
    elif array.dtype == np.bool_:
        values = array.astype(np.float32)
    elif np.issubdtype(array.dtype, np.floating):
        values = array.astype(np.float32, copy=False)
        if np.isnan(values).any():
            raise ImageError("the image contains NaN values")
        low, high = float(values.min()), float(values.max())
        if low < 0 or high > 1:
            raise ImageError(
                f"a float image must hold values in [0, 1]; got values from {low:g} to {high:g} "
                "(pass 0..255 data as uint8)"
            )
    else:
        raise ImageError(f"expected an image of dtype uint8 or float in [0, 1]; got dtype {array.dtype}")
    if values.ndim == 2:
        return values
    channels = values.shape[2]
    gray = values[..., 0] if channels == 2 else values[..., :3] @ LUMA
    return gray if channels == 3 else _composite(gray, values[..., -1])


def _composite(gray: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Put a gray image with alpha on the background shade opposite to what is drawn."""
    visible = float(alpha.sum())
    if visible == 0:
        raise ImageError("the image is blank — nothing to read (it is fully transparent)")
    drawn_shade = float((gray * alpha).sum()) / visible
    background = 1.0 if drawn_shade < 0.5 else 0.0
    return gray * alpha + background * (1 - alpha)


def _reduce(gray: np.ndarray) -> np.ndarray:
    """Box-average a (H, W) image by a whole factor until its longer side fits WORKING_SIDE."""
    factor = _factor(gray.shape[1], gray.shape[0])
    if factor == 1:
        return gray
    gray = np.pad(gray, ((0, -gray.shape[0] % factor), (0, -gray.shape[1] % factor)), mode="edge")
    height, width = gray.shape[0] // factor, gray.shape[1] // factor
    return gray.reshape(height, factor, width, factor).mean(axis=(1, 3), dtype=np.float32)


# Steps 3-4: polarity and light denoising.


def _ink(gray: np.ndarray, invert: bool | None) -> tuple[np.ndarray, float]:
    """Ink as float32 (H, W) >= 0 on a 0 background, and the noise floor that was subtracted."""
    ring = max(1, min(gray.shape) // 50)  # border ring width
    border = np.concatenate([gray[:ring], gray[-ring:], gray[:, :ring].T, gray[:, -ring:].T], axis=None)
    background = float(np.median(border))
    if invert is None:
        smooth = _box_mean(gray)
        invert = background > (float(smooth.min()) + float(smooth.max())) / 2
    sign = -1.0 if invert else 1.0
    upper_quartile = float(np.quantile(sign * (border - background), 0.75))  # ink in the ring: top
    noise_floor = max(0.0, 1.9 * upper_quartile)  # ~ the 90th percentile of the border's noise
    return np.clip(sign * (gray - background) - noise_floor, 0, None), noise_floor


def _median3(gray: np.ndarray) -> np.ndarray:
    """3x3 median filter (Pillow's, on float32), for salt-and-pepper noise."""
    Image = import_pillow()
    from PIL import ImageFilter

    return np.asarray(Image.fromarray(gray.astype(np.float32)).filter(ImageFilter.MedianFilter(3)))


def _box_mean(image: np.ndarray) -> np.ndarray:
    """3x3 moving average with edge padding, same shape."""
    padded = np.pad(image, 1, mode="edge")
    rows = padded[:-2] + padded[1:-1] + padded[2:]
    return (rows[:, :-2] + rows[:, 1:-1] + rows[:, 2:]) / 9


# Step 5: crop to the ink.


def _crop(ink: np.ndarray, noise_floor: float) -> np.ndarray:
    """The ink's bounding box, float32 (h, w); ImageError if there is no ink."""
    smooth = _box_mean(ink)
    peak = float(smooth.max())
    if peak < MIN_CONTRAST:
        raise ImageError("the image is blank — nothing to read")
    mask = (smooth > INK_LEVEL * peak) & (ink > 0)
    if not mask.any():  # ink only in pixels around the brightest 3x3 window, none in it
        mask = ink > 0
    rows, columns = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    faint = ink > EDGE_LEVEL + 3 * noise_floor  # 3x the floor: about 4 standard deviations of noise
    top, bottom, left, right = _grow(faint, rows[0], rows[-1] + 1, columns[0], columns[-1] + 1)
    return ink[top:bottom, left:right]


def _grow(faint: np.ndarray, top: int, bottom: int, left: int, right: int) -> tuple[int, int, int, int]:
    """Widen the box [top:bottom, left:right] over faint ink that touches its edge (8-connected)."""
    height, width = faint.shape
    grown = True
    while grown:
        grown = False
        if top > 0 and _touches(faint[top - 1, left:right], faint[top, left:right]):
            top, grown = top - 1, True
        if bottom < height and _touches(faint[bottom, left:right], faint[bottom - 1, left:right]):
            bottom, grown = bottom + 1, True
        if left > 0 and _touches(faint[top:bottom, left - 1], faint[top:bottom, left]):
            left, grown = left - 1, True
        if right < width and _touches(faint[top:bottom, right], faint[top:bottom, right - 1]):
            right, grown = right + 1, True
    return top, bottom, left, right


def _touches(outside: np.ndarray, edge: np.ndarray) -> bool:
    """Whether a line of pixels just outside the box has ink next to ink on the box's edge line."""
    return bool((outside & (edge | np.r_[False, edge[:-1]] | np.r_[edge[1:], False])).any())


# Steps 6-7: scale into the 20x20 box, center by mass in 28x28.


def _scale(crop: np.ndarray) -> np.ndarray:
    """Resize so the longer side is BOX_SIDE, keeping the aspect ratio; peak 1. float32 (h, w)."""
    height, width = crop.shape
    scale = BOX_SIDE / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    Image = import_pillow()
    resample = Image.Resampling.LANCZOS if scale < 1 else Image.Resampling.BICUBIC  # no ringing up
    resized = Image.fromarray(np.ascontiguousarray(crop, dtype=np.float32)).resize(size, resample)
    small = np.clip(np.asarray(resized), 0, None)
    if small.max() <= 0:
        raise ImageError("the image is blank — nothing to read")
    return small / small.max()


def _center(small: np.ndarray) -> np.ndarray:
    """Place a (h, w) image in a float32 (28, 28) one with its center of mass at CENTER."""
    canvas = np.zeros((IMAGE_SIDE, IMAGE_SIDE), dtype=np.float32)
    top, left = _offset(small.sum(axis=1)), _offset(small.sum(axis=0))
    canvas[top : top + small.shape[0], left : left + small.shape[1]] = small
    return canvas


def _offset(profile: np.ndarray) -> int:
    """Whole-pixel offset that puts a profile's center of mass at CENTER, the box kept inside."""
    center_of_mass = float(profile @ np.arange(profile.size)) / float(profile.sum())
    return int(np.clip(round(CENTER - center_of_mass), 0, IMAGE_SIDE - profile.size))


# Many files at once.


def load_images(
    paths: str | os.PathLike | Iterable[str | os.PathLike],
    *,
    invert: bool | None = None,
    median_filter: bool = False,
) -> tuple[np.ndarray, list[Path]]:
    """Read image files and folders into MNIST inputs.

    Parameters
    ----------
    paths : a path or an iterable of paths. A folder stands for the image files directly in it
        (those with an extension in ``nnet.datasets.image_folder.IMAGE_EXTENSIONS``, not hidden ones),
        sorted by name; a file is read whatever its extension.
    invert, median_filter : as in `to_mnist`, for every image.

    Returns
    -------
    images : ndarray of shape (n, 784), dtype uint8, one row per file.
    files : list of n Paths, in the same order.

    Raises
    ------
    ImageError naming the path: a missing path, no image files at all, or any image that
    `to_mnist` refuses (unreadable, blank, too large).
    """
    paths = [Path(paths)] if isinstance(paths, (str, os.PathLike)) else [Path(path) for path in paths]
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(entry for entry in path.iterdir() if is_image_file(entry)))
        elif path.is_file():
            files.append(path)
        else:
            raise ImageError(f"{path}: no such file or folder")
    if not files:
        raise ImageError(f"no image files found in {', '.join(map(str, paths))} (looked for .png, .jpg ...)")
    images = np.empty((len(files), IMAGE_SIDE * IMAGE_SIDE), dtype=np.uint8)
    for index, file in enumerate(files):
        images[index] = to_mnist(file, invert=invert, median_filter=median_filter)
    return images, files
