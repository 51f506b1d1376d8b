"""The named datasets nnet knows: where each comes from, how to check it, where it lives.

Every dataset is four IDX files (training images and labels, test images and labels) described
by a :class:`Dataset` entry: official URLs, a digest per file, class names, license. MNIST ships
inside the package; the others are downloaded on first use into a cache folder::

    cache_dir()          $NNET_DATA if set, else $XDG_CACHE_HOME/nnet, else ~/.cache/nnet
    path("kmnist")       cache_dir() / "kmnist"      (the four .gz files, as published)
    path("mnist")        the package's own data/mnist folder

Names are looked up case-insensitively, with ``_`` read as ``-`` (``"Fashion_MNIST"`` works).
:func:`register` adds or replaces an entry, for your own dataset or a mirror.
"""

from __future__ import annotations

import os
import re
import types
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .checksums import check_digest
from .errors import UnknownDatasetError

__all__ = [
    "DataFile",
    "Dataset",
    "FILE_ROLES",
    "IMAGE_SIDE",
    "INPUT_PREPROCESSING",
    "MNIST_CLASS_NAMES",
    "SHIPPED_DIR",
    "cache_dir",
    "info",
    "names",
    "path",
    "register",
    "unregister",
]

#: The four files of a dataset, by role.
FILE_ROLES = ("train_images", "train_labels", "test_images", "test_labels")
#: Where the package's own data files live (MNIST).
SHIPPED_DIR = Path(__file__).resolve().parent / "data"
#: MNIST's classes: the digit each label stands for.
MNIST_CLASS_NAMES = tuple(str(digit) for digit in range(10))
#: MNIST images are IMAGE_SIDE x IMAGE_SIDE pixels (the datasets of the registry alike).
IMAGE_SIDE = 28
#: How a network trained on these datasets reads an image, as model files record it.
INPUT_PREPROCESSING = "uint8 pixels / 255, white ink on black (MNIST)"


@dataclass(frozen=True)
class DataFile:
    """One published file: its name on disk, where to fetch it, and its digest.

    Attributes
    ----------
    name : str
        File name, e.g. ``"train-images-idx3-ubyte.gz"``.
    url : str or None
        Download address; None for a file that ships with nnet.
    digest : str
        ``"sha256:<hex>"`` or ``"md5:<hex>"`` of the file exactly as published (the .gz bytes).
    """

    name: str
    url: str | None
    digest: str

    def __post_init__(self) -> None:
        if not self.name or "/" in self.name or "\\" in self.name or self.name.startswith("."):
            raise ValueError(f"DataFile name must be a plain file name, got {self.name!r}")
        check_digest(self.digest)


@dataclass(frozen=True)
class Dataset:
    """A registry entry: everything needed to fetch, verify and describe one dataset.

    Attributes
    ----------
    name : str
        Lowercase key, e.g. ``"fashion-mnist"``.
    title, description : str
        For people: ``info("kmnist").title`` is ``"Kuzushiji-MNIST"``.
    class_names : tuple of str
        ``class_names[label]`` names label ``label``.
    homepage, license : str
    files : mapping role -> DataFile
        Exactly the roles of ``FILE_ROLES``.
    image_shape : (int, int)
        (rows, columns) of one image; (28, 28) for the MNIST family.
    shipped : bool
        True when the files ship inside the package: never downloaded, and checked against the
        folder's ``SHA256SUMS`` as well as ``files``. Needs ``folder``.
    folder : pathlib.Path or None
        A fixed folder for the files; None (the usual) puts them under ``cache_dir()``.
    """

    name: str
    title: str
    description: str
    class_names: tuple[str, ...]
    homepage: str
    license: str
    files: Mapping[str, DataFile] = field(hash=False)
    image_shape: tuple[int, int] = (28, 28)
    shipped: bool = False
    folder: Path | None = None

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z0-9][a-z0-9.-]*", self.name):
            raise ValueError(
                f"Dataset name must be lowercase letters, digits, '-' or '.', got {self.name!r}"
            )
        if set(self.files) != set(FILE_ROLES):
            raise ValueError(
                f"Dataset {self.name!r}: files must have exactly the roles {FILE_ROLES}, "
                f"got {tuple(self.files)}"
            )
        if len(self.class_names) < 2:
            raise ValueError(f"Dataset {self.name!r}: expected 2 or more class names")
        if len(self.image_shape) != 2 or min(self.image_shape) < 1:
            raise ValueError(
                f"Dataset {self.name!r}: image_shape must be (rows, columns), "
                f"got {self.image_shape}"
            )
        for role, data_file in self.files.items():
            if data_file.url is None and not self.shipped:
                raise ValueError(f"Dataset {self.name!r}: file {role} needs a url")
        if self.shipped and self.folder is None:
            raise ValueError(f"Dataset {self.name!r}: shipped=True needs the folder of the files")
        if self.folder is not None:
            object.__setattr__(self, "folder", Path(self.folder))
        object.__setattr__(self, "class_names", tuple(self.class_names))
        object.__setattr__(self, "image_shape", tuple(self.image_shape))
        object.__setattr__(self, "files", types.MappingProxyType(dict(self.files)))

    def to_dict(self) -> dict:
        """A plain, JSON-ready dict of the entry (for ``nnet data info`` and the like)."""
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "class_names": list(self.class_names),
            "homepage": self.homepage,
            "license": self.license,
            "files": {role: asdict(data_file) for role, data_file in self.files.items()},
            "image_shape": list(self.image_shape),
            "shipped": self.shipped,
            "folder": None if self.folder is None else str(self.folder),
        }


def _idx_files(base_url: str | None, digests: Mapping[str, str]) -> dict[str, DataFile]:
    """The usual four MNIST-style file names, under ``base_url``, with the given digests."""
    stems = {
        "train_images": "train-images-idx3-ubyte.gz",
        "train_labels": "train-labels-idx1-ubyte.gz",
        "test_images": "t10k-images-idx3-ubyte.gz",
        "test_labels": "t10k-labels-idx1-ubyte.gz",
    }
    return {
        role: DataFile(stem, None if base_url is None else f"{base_url}/{stem}", digests[role])
        for role, stem in stems.items()
    }


_BUILTIN = (
    Dataset(
        name="mnist",
        title="MNIST",
        description=(
            "Handwritten digits 0-9: 60,000 training and 10,000 test images, 28x28 grayscale, "
            "white digit on black. Yann LeCun, Corinna Cortes, Christopher J. C. Burges. "
            "Ships with nnet."
        ),
        class_names=MNIST_CLASS_NAMES,
        homepage="http://yann.lecun.com/exdb/mnist/",
        license="CC BY-SA 3.0",
        # SHA-256 of the .gz files as they ship (data/mnist/SHA256SUMS, checked at load time).
        files=_idx_files(
            None,
            {
                "train_images": "sha256:"
                "7ff28fd295f802eefc6d40e461175dfe4b969b1842b2abc8c6dc8c20711cf79f",
                "train_labels": "sha256:"
                "81a978ae83d39ffdba0db3ce2fcaf80a8921e9629e874428996a2b03242d4b2a",
                "test_images": "sha256:"
                "197e111ae341b0770be9011ac5e622d0e6cd1c640b32eb0de5dc1dd26cc6e182",
                "test_labels": "sha256:"
                "b91679a0acfe4ba0e50a2437a903084cba1f5f92592b016a25a7dfd00455798b",
            },
        ),
        shipped=True,
        folder=SHIPPED_DIR / "mnist",
    ),
    Dataset(
        name="fashion-mnist",
        title="Fashion-MNIST",
        description=(
            "Zalando article images in 10 clothing classes, a drop-in replacement for MNIST: "
            "60,000 training and 10,000 test images, 28x28 grayscale. Han Xiao, Kashif Rasul, "
            "Roland Vollgraf (2017), arXiv:1708.07747."
        ),
        class_names=(
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ),  # fmt: skip
        homepage="https://github.com/zalandoresearch/fashion-mnist",
        license="MIT",
        # MD5s as published in the Fashion-MNIST README (and torchvision).
        files=_idx_files(
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com",
            {
                "train_images": "md5:8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                "train_labels": "md5:25c81989df183df01b3e8a0aad5dffbe",
                "test_images": "md5:bef4ecab320f06d8554ea6380940ec79",
                "test_labels": "md5:bb300cfdad3c16e7a12a480ee83cd310",
            },
        ),
    ),
    Dataset(
        name="kmnist",
        title="Kuzushiji-MNIST",
        description=(
            "Cursive Japanese (kuzushiji) hiragana in 10 classes, one per row of the syllabary: "
            "60,000 training and 10,000 test images, 28x28 grayscale. ROIS-DS Center for Open "
            "Data in the Humanities; Clanuwat et al. (2018), arXiv:1812.01718."
        ),
        class_names=("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"),
        homepage="http://codh.rois.ac.jp/kmnist/",
        license="CC BY-SA 4.0",
        # MD5s as listed by torchvision's KMNIST class.
        files=_idx_files(
            "http://codh.rois.ac.jp/kmnist/dataset/kmnist",
            {
                "train_images": "md5:bdb82020997e1d708af4cf47b453dcf7",
                "train_labels": "md5:e144d726b3acfaa3e44228e80efcd344",
                "test_images": "md5:5c965bf0a639b31b8f53240b1b52f4d7",
                "test_labels": "md5:7320c461ea6c1c855c0b718fb2a4b134",
            },
        ),
    ),
)

_REGISTRY: dict[str, Dataset] = {dataset.name: dataset for dataset in _BUILTIN}


def _key(name: str) -> str:
    if not isinstance(name, str):
        raise TypeError(f"a dataset name must be a str, got {type(name).__name__}")
    return name.strip().lower().replace("_", "-")


def names() -> list[str]:
    """The registered dataset names, sorted: ``['fashion-mnist', 'kmnist', 'mnist']``."""
    return sorted(_REGISTRY)


def info(name: str) -> Dataset:
    """The registry entry of ``name``.

    Raises
    ------
    UnknownDatasetError
        ``name`` is not registered; the message lists the valid names.
    """
    try:
        return _REGISTRY[_key(name)]
    except KeyError:
        raise UnknownDatasetError(
            f"unknown dataset {name!r}; expected one of: {', '.join(names())}"
        ) from None


def register(dataset: Dataset, *, replace: bool = False) -> Dataset:
    """Add ``dataset`` to the registry (``replace=True`` to override an entry of the same name).

    Raises
    ------
    ValueError
        An entry of that name exists and ``replace`` is False.
    """
    if not isinstance(dataset, Dataset):
        raise TypeError(f"register expects a Dataset, got {type(dataset).__name__}")
    if dataset.name in _REGISTRY and not replace:
        raise ValueError(
            f"a dataset named {dataset.name!r} is already registered; pass replace=True to "
            f"override it"
        )
    _REGISTRY[dataset.name] = dataset
    return dataset


def unregister(name: str) -> Dataset:
    """Remove ``name`` from the registry and return its entry (built-ins come back on restart)."""
    entry = info(name)
    del _REGISTRY[entry.name]
    return entry


def cache_dir() -> Path:
    """The folder downloaded datasets live in (not created here).

    ``$NNET_DATA`` if set, else ``$XDG_CACHE_HOME/nnet`` if that is an absolute path, else
    ``~/.cache/nnet``.
    """
    override = os.environ.get("NNET_DATA")
    if override:
        return Path(override).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "nnet"
    return Path.home() / ".cache" / "nnet"


def path(name: str) -> Path:
    """The folder where dataset ``name``'s files live, or will live once downloaded."""
    entry = info(name)
    if entry.folder is not None:
        return entry.folder
    return cache_dir() / entry.name
