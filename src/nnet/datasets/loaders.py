"""Registered datasets as arrays, ready for training.

Every loader returns rows of pixels and integer labels::

    x : ndarray of shape (n, rows * columns), uint8, C-contiguous   e.g. (60000, 784)
    y : ndarray of shape (n,), int64, in 0 .. len(class_names) - 1

Images stay uint8 (0 = background, 255 = ink); scale to float32 per batch when training.

``validation_split`` holds back part of the training set, as Nielsen's lessons hold back
10,000 of MNIST's 60,000 training images: an int is a count of images, a float in (0, 1) a
fraction of them. They are drawn at random, stratified by class, always the same way
(:func:`nnet.data.split_validation` with seed 0). With it, a loader returns three pairs (train,
validation, test) instead of two.
"""

from __future__ import annotations

import numpy as np

from .. import limits
from ..data import split_validation, validation_count
from .downloads import Progress, download
from .errors import DatasetError
from .idx import read_idx_pair
from .registry import Dataset, info

__all__ = ["load", "load_mnist", "read_labelled_images", "split_validation", "split_own"]

Pair = tuple[np.ndarray, np.ndarray]

#: Rows moved at a time by :func:`split_own` (the only extra memory it takes: ~3 MB of MNIST).
_MOVED_ROWS = 4096


def split_own(x: np.ndarray, y: np.ndarray, validation: int | float, *, seed: int = 0,
              task: str = "classification", name: str = "validation_split") -> tuple[Pair, Pair]:
    """:func:`split_validation`, the same rows, for arrays that are the caller's own and not used
    again (a loader's, the nnet command's): the training rows are moved to the front of ``x`` in
    place, the held-out rows after them, and both returned as views of it: holding rows out
    costs no copy of the training set (47 MB for MNIST). A memory map, or an array not writable, is
    copied from instead, as split_validation does, and left as it was."""
    (kept, y_kept), (held, y_held) = split_validation(np.arange(len(x)), y, validation, seed=seed, task=task,
                                                      name=name)
    x_held = x[held]
    if isinstance(x, np.memmap) or not x.flags.writeable or not x.flags.c_contiguous:
        return (x[kept], y_kept), (x_held, y_held)
    for start in range(0, len(kept), _MOVED_ROWS):  # kept ascends, so row kept[i] >= i is read before row i is written
        rows = kept[start : start + _MOVED_ROWS]
        x[start : start + len(rows)] = x[rows]
    x[len(kept) :] = x_held  # and the held-out rows after them
    return (x[: len(kept)], y_kept), (x[len(kept) :], y_held)


def load(
    name: str, validation_split: int | float | None = None, *, progress: Progress | None = None
) -> tuple[Pair, Pair] | tuple[Pair, Pair, Pair]:
    """Load a registered dataset, downloading and verifying its files on first use.

    Parameters
    ----------
    name : str
        A registered name: ``"mnist"`` (ships with nnet), ``"fashion-mnist"``, ``"kmnist"`` ...
    validation_split : int or float, optional
        Hold back ``validation_split`` training images (an int), or that fraction of them (a
        float in (0, 1)), as a validation set: drawn at random (seed 0), stratified by class.
    progress : callable, optional
        ``progress(filename, bytes_done, bytes_total)`` while downloading; see ``download``.

    Returns
    -------
    ((x_train, y_train), (x_test, y_test)), or with ``validation_split``
    ((x_train, y_train), (x_validation, y_validation), (x_test, y_test)); every x an ndarray of
    shape (n, 784) uint8 (784 = 28 * 28 for the MNIST family) and every y of shape (n,) int64.
    Class names: ``info(name).class_names``.

    Raises
    ------
    UnknownDatasetError, DownloadError, IDXError, DatasetError
        See the messages: each names the file or URL at fault.
    ValueError
        A bad ``validation_split``.
    """
    entry = info(name)
    if validation_split is not None:
        validation_count(validation_split, None)  # fail before any loading or download
    folder = download(entry.name, progress=progress)
    train = _read_part(entry, folder, "train")
    test = _read_part(entry, folder, "test")
    if validation_split is None:
        return train, test
    train, validation = split_own(*train, validation_split)
    return train, validation, test


def load_mnist(
    validation_split: int | float | None = None,
) -> tuple[Pair, Pair] | tuple[Pair, Pair, Pair]:
    """Load the MNIST digits that ship with nnet (no network needed).

    The four shipped files are checked against their SHA-256 digests once per process.

    Parameters
    ----------
    validation_split : int or float, optional
        ``10000`` holds back 10,000 training images, as Nielsen's lessons do (drawn at random,
        stratified by class, always the same); a float in (0, 1) holds back that fraction.

    Returns
    -------
    ((x_train, y_train), (x_test, y_test)): x_train of shape (60000, 784) uint8, y_train (60000,)
    int64, x_test (10000, 784) uint8, y_test (10000,) int64; with ``validation_split=10000``
    three pairs of 50,000, 10,000 and 10,000 images. Class names: ``MNIST_CLASS_NAMES``.

    Examples
    --------
    >>> (x_train, y_train), (x_test, y_test) = load_mnist()
    >>> x_train.shape, y_train[:5].tolist()
    ((60000, 784), [5, 0, 4, 1, 9])
    """
    return load("mnist", validation_split)


def _read_part(entry: Dataset, folder, part: str) -> Pair:
    """Read ``part`` ("train" or "test") of ``entry`` from ``folder`` as (x, y)."""
    return read_labelled_images(
        folder / entry.files[f"{part}_images"].name,
        folder / entry.files[f"{part}_labels"].name,
        image_shape=entry.image_shape,
        n_classes=len(entry.class_names),
        dataset=entry.name,
    )


def read_labelled_images(
    images_file,
    labels_file,
    *,
    image_shape: tuple[int, int] | None = None,
    n_classes: int | None = None,
    dataset: str | None = None,
    flatten: bool = True,
) -> Pair:
    """An IDX image file and its label file as training arrays.

    Parameters
    ----------
    images_file, labels_file : paths of IDX files (raw or gzip), as ``read_idx_pair`` takes
    image_shape : (rows, columns) the images must have; None takes any
    n_classes : labels must lie in 0 .. n_classes - 1; None takes any integer in
        0 .. ``limits.MAX_CLASSES`` - 1
    dataset : the dataset's name, for the error messages
    flatten : False keeps x as stored, (n, rows, columns)

    Returns
    -------
    (x, y): x of shape (n, rows * columns) uint8, C-contiguous; y of shape (n,) int64.

    Raises
    ------
    IDXError
        Either file is malformed, or their counts differ.
    DatasetError
        The images are not uint8 of shape (n, rows, columns) (or not ``image_shape``), or a
        label is not an integer in range (the message names its index).
    """
    images, labels = read_idx_pair(images_file, labels_file)
    if images.dtype != np.uint8 or images.ndim != 3 or (
        image_shape is not None and images.shape[1:] != tuple(image_shape)
    ):
        rows, columns = ("rows", "columns") if image_shape is None else image_shape
        raise DatasetError(
            f"{images_file}: expected uint8 images of shape (n, {rows}, {columns}), "
            f"got {images.dtype} of shape {images.shape}"
        )
    if labels.dtype.kind not in "ui":
        raise DatasetError(f"{labels_file}: expected integer labels, got {labels.dtype}")
    y = labels.astype(np.int64)
    outside = np.flatnonzero((y < 0) | (y >= (limits.MAX_CLASSES if n_classes is None else n_classes)))
    if outside.size:
        index = int(outside[0])
        if n_classes is None:
            raise DatasetError(
                f"{labels_file}: label {y[index]} at index {index} is not a class index: expected 0, 1, 2, ... "
                f"up to {limits.MAX_CLASSES - 1} (nnet.limits.MAX_CLASSES: one output neuron per class)"
            )
        of = f" ({dataset} has {n_classes} classes)" if dataset else ""
        raise DatasetError(
            f"{labels_file}: label {y[index]} at index {index} is outside 0..{n_classes - 1}{of}"
        )
    return np.ascontiguousarray(images.reshape(len(images), -1) if flatten else images), y
