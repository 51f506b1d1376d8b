"""Labelled images from a folder with one subfolder of 28x28 images per class, read with Pillow
through raster decoders only, by the rules of :mod:`nnet.datasets.rules`."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from .errors import DataFormatError
from .registry import IMAGE_SIDE
from .rules import MAX_PIXEL, N_PIXELS, Result

#: The image files nnet reads from a folder (here and in ``nnet.images.load_images``); other
#: files, and hidden ones, are skipped. A file named explicitly is read whatever its extension.
IMAGE_EXTENSIONS = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".pbm", ".pnm"}
)
#: The only decoders Pillow may use for a user's image, wherever nnet reads one (``nnet predict``,
#: the lab, image folders): raster formats of pixels. Left to itself Pillow picks the decoder by
#: content, so a PostScript file named ``seven.png`` would go to Ghostscript. ("PPM" reads .pbm,
#: .pgm, .ppm and .pnm; "JPEG" also reads cameras' multi-picture JPEGs.)
IMAGE_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP", "PPM")


def load_image_folder(path: str | os.PathLike[str], *, invert: bool = False) -> Result:
    """Load a folder with one subfolder of 28x28 images per class.

    ::

        digits/
          cat/   001.png 002.png ...
          dog/   a.png ...

    The subfolder names, sorted, are the class names (label 0 is the first). Files whose
    extension is in ``IMAGE_EXTENSIONS`` are read with Pillow in name order and converted to
    grayscale (luma; any alpha channel is dropped); other files and hidden ones are skipped.
    Images must already be 28x28 and are taken as white-on-black like MNIST; ``invert=True``
    flips black-on-white images (x -> 255 - x).

    Returns
    -------
    (x, y, class_names): x of shape (n, 784) uint8, y of shape (n,) int64, class_names the
    sorted subfolder names.

    Raises
    ------
    ImportError
        Pillow is not installed (``pip install "nnet[images]"``).
    DataFormatError
        No class subfolders, an empty class, a file Pillow cannot read, or an image that is not
        28x28 (preprocess such images into MNIST style first).
    """
    root = Path(path)
    if not root.is_dir():
        raise DataFormatError(f"{root}: expected a folder with one subfolder of images per class")
    image_module = import_pillow()
    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not classes:
        raise DataFormatError(
            f"{root}: no class subfolders; expected one subfolder of images per class "
            f"(its name is the class name)"
        )
    images, labels = [], []
    for label, class_name in enumerate(classes):
        files = sorted(f for f in (root / class_name).iterdir() if is_image_file(f))
        if not files:
            raise DataFormatError(
                f"{root / class_name}: class {class_name!r} holds no images; expected files "
                f"ending in {', '.join(sorted(IMAGE_EXTENSIONS))}"
            )
        for file in files:
            images.append(_read_image(image_module, file))
            labels.append(label)
    x = np.stack(images)
    if invert:
        np.subtract(MAX_PIXEL, x, out=x)
    return x, np.array(labels, dtype=np.int64), tuple(classes)


def import_pillow():
    """The ``PIL.Image`` module, imported on first use: Pillow is an optional dependency.

    Raises
    ------
    ImportError
        Pillow is not installed; the message says how to install it.
    """
    try:
        from PIL import Image
    except ImportError:
        raise ImportError(
            'reading images needs Pillow, which is not installed: pip install "nnet[images]"'
        ) from None
    return Image


def is_image_file(path: Path) -> bool:
    """Whether a folder's entry is an image file nnet reads: a file, not hidden, with an
    extension in ``IMAGE_EXTENSIONS`` (any case)."""
    return path.is_file() and not path.name.startswith(".") and path.suffix.lower() in IMAGE_EXTENSIONS


def _read_image(image_module, file: Path) -> np.ndarray:
    try:  # (Pillow's warnings of damage it reads past are not shown: the file is read or refused)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image = image_module.open(file, formats=IMAGE_FORMATS)
        with warnings.catch_warnings(), image:
            warnings.simplefilter("ignore")
            size = image.size
            if size != (IMAGE_SIDE, IMAGE_SIDE):
                raise DataFormatError(
                    f"{file}: the image is {size[0]}x{size[1]} pixels; expected "
                    f"{IMAGE_SIDE}x{IMAGE_SIDE}. Preprocess it first into MNIST style: a centred "
                    f"white-on-black {IMAGE_SIDE}x{IMAGE_SIDE} grayscale image (nnet.images "
                    f"turns photos and drawings into such inputs)"
                )
            gray = image.convert("L")
    except DataFormatError:
        raise
    except image_module.UnidentifiedImageError:
        raise DataFormatError(
            f"{file}: cannot read as an image: not one of the formats nnet reads ({', '.join(IMAGE_FORMATS)})"
        ) from None
    except Exception as error:  # noqa: BLE001 - a damaged file makes Pillow's decoders raise any kind
        raise DataFormatError(f"{file}: cannot read as an image: {pillow_reason(error)}") from None
    return np.asarray(gray, dtype=np.uint8).reshape(N_PIXELS)


def pillow_reason(error: BaseException) -> str:
    """What Pillow said about a damaged image, in one short line."""
    text = " ".join(str(error).split())
    text = text if len(text) <= 120 else f"{text[:115]}..."
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
