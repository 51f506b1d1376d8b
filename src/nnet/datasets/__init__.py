"""Datasets for nnet: the IDX format, MNIST (shipped), a registry of downloads, your own data.

>>> from nnet import datasets
>>> (x_train, y_train), (x_test, y_test) = datasets.load_mnist()   # no network needed
>>> x_train.shape, x_train.dtype, y_train.dtype
((60000, 784), dtype('uint8'), dtype('int64'))
>>> datasets.names()
['fashion-mnist', 'kmnist', 'mnist']

- ``idx``        read_idx / write_idx: the IDX file format (raw or gzip)
- ``registry``   named datasets: names(), info(), register(), path(), cache_dir()
- ``downloads``  download(): fetch into the cache with digests checked, never half a file
- ``loaders``    load(), load_mnist(), split_validation(): arrays ready for training
- ``rules``      arrays_to_dataset(): what labelled images must be (pixels, labels, class names)
- ``image_csv``, ``npz``, ``image_folder``: load_csv(), load_npz(), load_image_folder(): your own
                 data in those forms, by those rules
- ``local``      load_path(): a dataset given as a path (IDX folder, class folders, .npz, .csv),
                 split into training and test images
- ``errors``     DatasetError and its subclasses

Images are uint8 rows of 784 pixels (0 = background, 255 = ink), labels int64.
"""

from .downloads import download
from .errors import DataFormatError, DatasetError, DownloadError, IDXError, UnknownDatasetError
from .idx import read_idx, read_idx_pair, write_idx
from .loaders import load, load_mnist, read_labelled_images, split_validation
from .local import LocalDataset, load_path
from .registry import (
    IMAGE_SIDE,
    INPUT_PREPROCESSING,
    MNIST_CLASS_NAMES,
    DataFile,
    Dataset,
    cache_dir,
    info,
    names,
    path,
    register,
    unregister,
)
from .image_csv import load_csv
from .image_folder import load_image_folder
from .npz import load_npz, read_npz
from .rules import arrays_to_dataset

__all__ = [
    # the IDX format
    "read_idx",
    "read_idx_pair",
    "write_idx",
    # registered datasets
    "load",
    "load_mnist",
    "split_validation",
    "names",
    "info",
    "download",
    "path",
    "cache_dir",
    "register",
    "unregister",
    "Dataset",
    "DataFile",
    "MNIST_CLASS_NAMES",
    "IMAGE_SIDE",
    "INPUT_PREPROCESSING",
    # your own data
    "load_csv",
    "load_npz",
    "load_image_folder",
    "arrays_to_dataset",
    "read_npz",
    "load_path",
    "LocalDataset",
    "read_labelled_images",
    # errors
    "DatasetError",
    "UnknownDatasetError",
    "DownloadError",
    "IDXError",
    "DataFormatError",
]
