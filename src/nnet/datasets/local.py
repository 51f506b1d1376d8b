"""A dataset given as a path: its training and test images, however the files hold them.

:func:`load_path` takes any of the four forms that ``nnet train --dataset PATH`` accepts:

- a folder of the four IDX files in MNIST's naming, each raw or gzipped
  (``train-images-idx3-ubyte[.gz]``, ``train-labels-idx1-ubyte[.gz]``,
  ``t10k-images-idx3-ubyte[.gz]``, ``t10k-labels-idx1-ubyte[.gz]``): any image size;
- a folder with one subfolder of 28x28 images per class (``load_image_folder``);
- an ``.npz`` archive with ``x_train, y_train, x_test, y_test`` (and optionally
  ``class_names``), or with just ``x, y`` (``load_npz``);
- a ``.csv`` file with a label column and 784 pixel columns (``load_csv``).

Where the test set comes from, when the data do not say (an ``.npz`` with only ``x, y``, a
``.csv``, a folder of class subfolders): :func:`split_test` holds out ``TEST_FRACTION`` = 10% of
the rows, drawn at random and stratified by class (each class gives its share, so a file sorted
by class never leaves a one-class test set), from the fixed ``SPLIT_SEED``: the same file always
splits the same way, and a model is scored later on the very rows it was held out from.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..data import split_validation
from .errors import DataFormatError
from .loaders import read_labelled_images
from .mapped import map_labelled_images
from .registry import IMAGE_SIDE
from .image_csv import load_csv
from .image_folder import load_image_folder
from .npz import read_npz
from .rules import arrays_to_dataset, default_class_names

__all__ = ["IDX_NAMES", "SPLIT_SEED", "TEST_FRACTION", "LocalDataset", "load_path", "split_test"]

Pair = tuple[np.ndarray, np.ndarray]

#: The IDX file names of each part, in MNIST's naming (each may end in .gz).
IDX_NAMES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
#: The share of the rows held out as the test set when the data name no test set.
TEST_FRACTION = 0.1
#: Seeds the test split of data that name no test set (fixed: the same file splits the same way).
SPLIT_SEED = 0


class LocalDataset(NamedTuple):
    """A dataset read from a path: uint8 images (n, rows * columns), int64 labels (n,)."""

    train: Pair
    test: Pair
    class_names: tuple[str, ...]
    image_shape: tuple[int, int]
    kind: str  # "idx", "images", "npz" or "csv"
    note: str | None = None  # how the test set was chosen, when the data did not name one


def load_path(path: str | os.PathLike[str], *, mapped: bool = False) -> LocalDataset:
    """Read the dataset at ``path``: an IDX folder, a class-subfolder tree, an .npz or a .csv.

    ``mapped``: leave the training images on disk, memory-mapped, where the files allow it
    (uncompressed IDX, an .npz stored without compression: :mod:`.mapped`), for data-parallel
    training, whose processes each read only their rows.

    Returns
    -------
    LocalDataset(train=(x_train, y_train), test=(x_test, y_test), class_names, image_shape,
    kind, note): every x of shape (n, rows * columns) uint8, every y of shape (n,) int64.

    Raises
    ------
    FileNotFoundError
        Nothing is at ``path``.
    DatasetError
        A folder that is neither form, a file that is neither .npz nor .csv, or any defect the
        readers find (each message names the file, and the line, row or byte at fault).
    """
    path = Path(path).expanduser()
    if path.is_dir():
        if any((path / stem).is_file() or (path / f"{stem}.gz").is_file() for pair in IDX_NAMES.values() for stem in pair):
            return _idx_folder(path, mapped)
        if any(entry.is_dir() and not entry.name.startswith(".") for entry in path.iterdir()):
            x, y, names = load_image_folder(path)
            return _held_out(x, y, names, "images", path)
        raise DataFormatError(
            f"{path}: neither a dataset folder of the four IDX files ({_expected_idx()}) nor a "
            f"folder with one subfolder of images per class"
        )
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix == ".npz":
            return _npz(path, mapped)
        if suffix == ".csv":
            x, y, names = load_csv(path)
            return _held_out(x, y, names, "csv", path)
        raise DataFormatError(
            f"{path}: a dataset file must be an .npz archive or a .csv file; for IDX files give "
            f"their folder"
        )
    raise FileNotFoundError(errno.ENOENT, "no such file or folder", str(path))


def _expected_idx() -> str:
    return ", ".join(f"{stem}[.gz]" for pair in IDX_NAMES.values() for stem in pair)


def _idx_folder(folder: Path, mapped: bool = False) -> LocalDataset:
    parts = {}
    for part, stems in IDX_NAMES.items():
        files = []
        for stem in stems:
            found = [folder / name for name in (stem, f"{stem}.gz") if (folder / name).is_file()]
            if not found:
                raise DataFormatError(
                    f"{folder}: no {stem}[.gz] in this folder; a dataset folder holds {_expected_idx()}"
                )
            files.append(found[0])
        on_disk = map_labelled_images(*files) if mapped and part == "train" else None
        parts[part] = on_disk or read_labelled_images(*files, flatten=False), files[0]
    ((x_train, y_train), train_file), ((x_test, y_test), test_file) = parts["train"], parts["test"]
    if x_train.shape[1:] != x_test.shape[1:]:
        raise DataFormatError(
            f"{folder}: the training and test images differ in size ({train_file.name}: "
            f"{'x'.join(map(str, x_train.shape[1:]))}, {test_file.name}: {'x'.join(map(str, x_test.shape[1:]))})"
        )
    shape = (int(x_test.shape[1]), int(x_test.shape[2]))
    train, test = (x_train.reshape(len(x_train), -1), y_train), (x_test.reshape(len(x_test), -1), y_test)
    return LocalDataset(train, test, default_class_names(y_train, y_test), shape, "idx")


def _npz(path: Path, mapped: bool = False) -> LocalDataset:
    arrays = read_npz(path, on_disk=("x_train", "x") if mapped else ())
    split = ("x_train", "y_train", "x_test", "y_test")
    names = arrays.get("class_names")
    if all(key in arrays for key in split):
        x_train, y_train, given = arrays_to_dataset(
            arrays["x_train"], arrays["y_train"], names, source=str(path), names=("x_train", "y_train")
        )
        x_test, y_test, _ = arrays_to_dataset(
            arrays["x_test"], arrays["y_test"], names, source=str(path), names=("x_test", "y_test")
        )
        classes = given if names is not None else default_class_names(y_train, y_test)
        return LocalDataset((x_train, y_train), (x_test, y_test), classes, (IMAGE_SIDE, IMAGE_SIDE), "npz")
    if "x" in arrays and "y" in arrays:
        x, y, classes = arrays_to_dataset(arrays["x"], arrays["y"], names, source=str(path))
        return _held_out(x, y, classes, "npz", path)
    raise DataFormatError(
        f"{path}: expected arrays x_train, y_train, x_test, y_test (or x, y); the archive holds "
        f"{', '.join(arrays) or 'nothing'}"
    )


def _held_out(x, y, classes, kind: str, path: Path) -> LocalDataset:
    train, test = split_test(x, y, source=str(path))
    note = f"a seeded, stratified {TEST_FRACTION:.0%} of its rows is the test set ({len(test[0])} of {len(x)})"
    return LocalDataset(train, test, classes, (IMAGE_SIDE, IMAGE_SIDE), kind, note)


def split_test(x: np.ndarray, y: np.ndarray, fraction: float = TEST_FRACTION, *, seed: int = SPLIT_SEED,
               task: str = "classification", source: str = "data") -> tuple[Pair, Pair]:
    """Hold out ``fraction`` of the rows (rounded, at least one) as the test set: drawn from
    ``seed`` and, for classification, stratified by class, by :func:`nnet.data.split_validation`
    (the one rule for holding rows out).

    Returns ``((x_train, y_train), (x_test, y_test))``, copies, each in file order. Raises
    DataFormatError when no training row would be left.
    """
    n = len(x)
    count = max(1, round(n * fraction))
    if n - count < 1:
        raise DataFormatError(f"{source}: {n} rows are too few to hold out {fraction:.0%} of them as a test set")
    return split_validation(x, y, count, seed=seed, task=task, name="the test split")
