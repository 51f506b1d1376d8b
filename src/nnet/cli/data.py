"""``nnet data``: the datasets nnet knows, and ``--dataset NAME_OR_PATH`` for every command.

A dataset is named one of three ways (:func:`resolve`):

- a registered name (``nnet data list``): ``mnist`` ships with nnet, the others download on
  first use into the cache;
- a folder holding the four IDX files in MNIST's naming, raw or gzipped:
  ``train-images-idx3-ubyte[.gz]``, ``train-labels-idx1-ubyte[.gz]``,
  ``t10k-images-idx3-ubyte[.gz]``, ``t10k-labels-idx1-ubyte[.gz]``;
- an ``.npz`` archive with arrays ``x_train, y_train, x_test, y_test`` (and optionally
  ``class_names``), or just ``x, y``, of which the LAST 10% is the test set.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import _term
from ._term import CLIError

HELP = "list, describe and download datasets"
DESCRIPTION = """\
The datasets nnet knows by name. MNIST ships with nnet and works offline; the others are
downloaded on first use (or with `nnet data download NAME`) into the cache folder
($NNET_DATA, else $XDG_CACHE_HOME/nnet, else ~/.cache/nnet), their digests checked.

Every command's --dataset also takes a path: a folder of the four MNIST-named IDX files
(train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz],
t10k-labels-idx1-ubyte[.gz]), or an .npz archive holding x_train, y_train, x_test, y_test
(or x, y: then the last 10% of the rows is the test set)."""
EXAMPLES = """\
examples:
  nnet data list                      # name, title, classes, available offline?
  nnet data info fashion-mnist        # description, license, files, digests
  nnet data download kmnist           # fetch into the cache, with a progress bar
  nnet data path                      # the cache folder
  nnet data path mnist                # where MNIST's files are"""

#: The IDX file names of each part, in MNIST's naming (each may end in .gz).
IDX_NAMES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
#: The share of an ``x, y`` archive kept as the test set (its last rows).
NPZ_TEST_FRACTION = 0.1
MAX_PIXEL = 255


@dataclass
class Data:
    """A dataset ready for the commands: uint8 images (n, pixels), int64 labels (n,)."""

    name: str  # a registered name, or the path as given
    kind: str  # "registered", "idx" or "npz"
    classes: list[str]
    train: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]
    image_shape: tuple[int, int] = (28, 28)
    path: str | None = None  # the absolute path, for a dataset given as a path
    notes: list[str] = field(default_factory=list)

    @property
    def spec(self) -> str:
        """What to pass as --dataset to find this dataset again (from any folder)."""
        return self.path or self.name


def resolve(spec: str, *, quiet: bool = False) -> Data:
    """Load the dataset named by ``spec``: a registered name, an IDX folder or an .npz file."""
    from nnet import datasets

    candidate = Path(spec).expanduser()
    if candidate.is_dir():
        return _idx_folder(spec, candidate)
    if candidate.is_file():
        if candidate.suffix.lower() != ".npz":
            raise CLIError(
                f"{spec}: a dataset file must be an .npz archive (x_train, y_train, x_test, y_test); "
                f"for IDX files give their folder"
            )
        return _npz(spec, candidate)
    try:
        entry = datasets.info(spec)
    except datasets.UnknownDatasetError:
        raise CLIError(
            f"unknown dataset {spec!r}: not a registered name ({', '.join(datasets.names())}) "
            f"nor an existing folder or .npz file"
        ) from None
    progress = None if quiet else DownloadProgress()
    train, test = _download_with(progress, lambda: datasets.load(entry.name, progress=progress))
    return Data(entry.name, "registered", list(entry.class_names), train, test, tuple(entry.image_shape))


def _idx_folder(spec: str, folder: Path) -> Data:
    from nnet.datasets import read_idx_pair

    parts = {}
    for part, stems in IDX_NAMES.items():
        files = []
        for stem in stems:
            found = [folder / name for name in (stem, stem + ".gz") if (folder / name).is_file()]
            if not found:
                expected = ", ".join(f"{s}[.gz]" for pair in IDX_NAMES.values() for s in pair)
                raise CLIError(f"{spec}: no {stem}[.gz] in this folder; a dataset folder holds {expected}")
            files.append(found[0])
        images, labels = read_idx_pair(*files)
        if images.ndim != 3 or images.dtype != np.uint8:
            raise CLIError(f"{files[0]}: expected uint8 images of shape (n, rows, columns); got {images.dtype} {images.shape}")
        if labels.dtype.kind not in "iu" or (len(labels) and labels.min() < 0):
            raise CLIError(f"{files[1]}: expected labels that are integers >= 0; got {labels.dtype}")
        parts[part] = (np.ascontiguousarray(images.reshape(len(images), -1)), labels.astype(np.int64))
        shape = images.shape[1:]
    if parts["train"][0].shape[1] != parts["test"][0].shape[1]:
        raise CLIError(f"{spec}: the training and test images differ in size")
    top = max(int(parts[p][1].max()) for p in parts if len(parts[p][1]))
    classes = [str(label) for label in range(top + 1)]
    return Data(spec, "idx", classes, parts["train"], parts["test"], tuple(shape), str(folder.resolve()))


def _npz(spec: str, file: Path) -> Data:
    from nnet import datasets

    try:
        archive = np.load(file, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise CLIError(f"{spec}: one array, not an .npz archive of x_train, y_train, x_test, y_test")
        with archive:
            keys = set(archive.files)
            split = {"x_train", "y_train", "x_test", "y_test"}
            if not split <= keys:
                if {"x", "y"} <= keys:
                    x, y, classes = datasets.load_npz(file)
                    cut = len(x) - max(1, round(len(x) * NPZ_TEST_FRACTION))
                    if cut < 1:
                        raise CLIError(f"{spec}: {len(x)} rows are too few to keep the last 10% as a test set")
                    return Data(spec, "npz", list(classes), (x[:cut], y[:cut]), (x[cut:], y[cut:]),
                                path=str(file.resolve()),
                                notes=[f"the last {len(x) - cut} of its {len(x)} rows are the test set"])
                raise CLIError(
                    f"{spec}: expected arrays x_train, y_train, x_test, y_test (or x, y); the archive "
                    f"holds {', '.join(sorted(keys)) or 'nothing'}"
                )
            arrays = {key: archive[key] for key in split}
            names = archive["class_names"] if "class_names" in keys else None
    except ValueError as failure:  # not an npz, or pickled object arrays (never loaded)
        raise CLIError(f"{spec}: cannot read as .npz: {failure}") from None
    parts = {}
    for part in ("train", "test"):
        x = _pixels(arrays[f"x_{part}"], f"{spec}: x_{part}")
        y = _labels(arrays[f"y_{part}"], len(x), f"{spec}: y_{part}")
        parts[part] = (x, y)
    if parts["train"][0].shape[1] != parts["test"][0].shape[1]:
        raise CLIError(f"{spec}: x_train and x_test hold images of different sizes")
    top = max(int(parts["train"][1].max()), int(parts["test"][1].max()))
    if names is not None:
        if names.ndim != 1 or names.dtype.kind != "U" or len(names) <= top:
            raise CLIError(f"{spec}: class_names must be a 1-D array of str naming labels 0..{top}")
        classes = [str(name) for name in names]
    else:
        classes = [str(label) for label in range(top + 1)]
    side = int(round(np.sqrt(parts["train"][0].shape[1])))
    return Data(spec, "npz", classes, parts["train"], parts["test"], (side, side), str(file.resolve()))


def _pixels(x: np.ndarray, where: str) -> np.ndarray:
    """uint8 (n, pixels) from integer pixels 0..255, or floats in [0, 1] (scaled) or [0, 255]."""
    if x.ndim == 3:
        x = x.reshape(len(x), -1)
    side = int(round(np.sqrt(x.shape[1]))) if x.ndim == 2 else 0
    if x.ndim != 2 or side * side != x.shape[1] or len(x) == 0:
        raise CLIError(f"{where}: expected square images of shape (n, 784) or (n, 28, 28); got {x.shape}")
    if x.dtype.kind in "iu":
        if x.min() < 0 or x.max() > MAX_PIXEL:
            raise CLIError(f"{where}: integer pixels must lie in 0..255; got {x.min()}..{x.max()}")
        return np.ascontiguousarray(x, dtype=np.uint8)
    if x.dtype.kind != "f" or not np.isfinite(x).all():
        raise CLIError(f"{where}: expected integer pixels or finite floats; got dtype {x.dtype}")
    low, high = float(x.min()), float(x.max())
    if low < 0 or high > MAX_PIXEL:
        raise CLIError(f"{where}: float pixels must lie in [0, 1] or [0, 255]; got {low:g}..{high:g}")
    scale = MAX_PIXEL if high <= 1.0 else 1.0
    return np.rint(x * scale).astype(np.uint8)


def _labels(y: np.ndarray, n: int, where: str) -> np.ndarray:
    if y.ndim != 1 or len(y) != n:
        raise CLIError(f"{where}: expected one label per image, shape ({n},); got {y.shape}")
    if y.dtype.kind == "f" and np.isfinite(y).all() and (y == np.rint(y)).all():
        y = y.astype(np.int64)
    if y.dtype.kind not in "iu" or y.min() < 0:
        raise CLIError(f"{where}: labels must be whole numbers >= 0")
    return y.astype(np.int64)


def dataset_of_model(network, given: str | None) -> str:
    """The --dataset to use with a model: ``given``, else the one it was trained on, else mnist."""
    if given:
        return given
    trained = network.metadata.get("dataset") or {}
    path = trained.get("path")
    if path and os.path.exists(path):
        return path
    name = trained.get("name")
    if isinstance(name, str) and name:
        from nnet import datasets

        if name in datasets.names() or os.path.exists(name):
            return name
    return "mnist"


def check_fits(network, data: Data, model: str) -> None:
    """Refuse a dataset whose images or classes do not fit the network."""
    width = data.test[0].shape[1]
    if width != network.n_inputs:
        raise CLIError(
            f"{model} takes {network.n_inputs} inputs but {data.name} has images of {width} pixels"
        )
    top = max(int(data.test[1].max()), int(data.train[1].max()))
    if top >= max(network.n_outputs, 2):
        raise CLIError(
            f"{model} has {network.n_outputs} outputs but {data.name} has labels up to {top}"
        )


class DownloadProgress:
    """``progress(filename, done, total)`` for nnet.datasets: a bar per file on stderr."""

    def __init__(self, stream=None):
        self.stream = stream
        self.bar: _term.ProgressBar | None = None
        self.file = None
        self.done = 0

    def __call__(self, filename: str, done: int, total: int | None) -> None:
        if filename != self.file or self.bar is None:
            self.close()
            self.file = filename
            self.bar = _term.ProgressBar(total, f"downloading {filename}", self.stream, unit="bytes")
        self.done = done
        self.bar.update(done, force=done == 0)
        if total is not None and done >= total:
            self.close()

    def close(self, finished: bool = True) -> None:
        """Finish the current file's bar: with a line saying what arrived, or (failed) none."""
        if self.bar is not None:
            self.bar.finish(f"downloaded {self.file} ({_term.format_bytes(self.done)})" if finished else None)
            self.bar = None


def _download_with(progress: DownloadProgress | None, fetch):
    """``fetch()``, with ``progress``'s last bar closed whatever happens."""
    try:
        result = fetch()
    except BaseException:
        if progress is not None:
            progress.close(finished=False)
        raise
    if progress is not None:
        progress.close()
    return result


# -- the `nnet data` command ------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", title="actions")
    actions.required = True
    listing = actions.add_parser("list", help="the registered datasets and whether they are available offline")
    listing.add_argument("--json", action="store_true", help="print one JSON object")
    about = actions.add_parser("info", help="a dataset's description, license, files and folder")
    about.add_argument("name", metavar="NAME")
    about.add_argument("--json", action="store_true", help="print one JSON object")
    fetch = actions.add_parser("download", help="download a dataset into the cache, checking its digests")
    fetch.add_argument("name", metavar="NAME")
    fetch.add_argument("--force", action="store_true", help="download again even if the files are present")
    fetch.add_argument("--quiet", action="store_true", help="print nothing but errors")
    where = actions.add_parser("path", help="the cache folder, or where a dataset's files live")
    where.add_argument("name", metavar="NAME", nargs="?")


def run(args) -> int:
    return {"list": _list, "info": _info, "download": _download, "path": _path}[args.action](args)


def _status(entry) -> str:
    from nnet.datasets import downloads, path

    if entry.shipped:
        return "shipped"
    folder = path(entry.name)
    if all(downloads.is_verified(folder / f.name, f.digest) for f in entry.files.values()):
        return "downloaded"
    return "not downloaded"


def _entry(name: str):
    from nnet import datasets

    try:
        return datasets.info(name)
    except datasets.UnknownDatasetError as failure:
        raise CLIError(str(failure)) from None


def _list(args) -> int:
    from nnet import datasets

    rows = []
    for name in datasets.names():
        entry = datasets.info(name)
        status = _status(entry)
        rows.append({
            "name": name,
            "title": entry.title,
            "classes": len(entry.class_names),
            "status": status,
            "offline": status != "not downloaded",
            "path": str(datasets.path(name)),
        })
    if args.json:
        _term.print_json({"datasets": rows, "cache_dir": str(datasets.cache_dir())})
        return 0
    print(_term.table(
        ["name", "title", "classes", "available offline"],
        [[r["name"], r["title"], r["classes"], "yes (ships with nnet)" if r["status"] == "shipped"
          else "yes (downloaded)" if r["offline"] else "no: nnet data download " + r["name"]] for r in rows],
        align="llrl",
    ))
    print(f"\ncache folder: {datasets.cache_dir()}")
    return 0


def _info(args) -> int:
    from nnet import datasets

    entry = _entry(args.name)
    details = {**entry.to_dict(), "path": str(datasets.path(entry.name)), "status": _status(entry)}
    if args.json:
        _term.print_json(details)
        return 0
    print(f"{entry.title} ({entry.name})\n")
    print(entry.description + "\n")
    print(_term.key_values([
        ("classes", ", ".join(entry.class_names)),
        ("image size", "x".join(map(str, entry.image_shape))),
        ("homepage", entry.homepage),
        ("license", entry.license),
        ("folder", details["path"]),
        ("status", details["status"]),
    ]))
    print()
    print(_term.table(
        ["file", "digest", "url"],
        [[f.name, f.digest, f.url or "(ships with nnet)"] for f in entry.files.values()],
        align="lll",
    ))
    return 0


def _download(args) -> int:
    from nnet import datasets

    entry = _entry(args.name)
    progress = None if args.quiet else DownloadProgress()
    folder = _download_with(progress, lambda: datasets.download(entry.name, progress=progress, force=args.force))
    if not args.quiet:
        if entry.shipped:
            print(f"{entry.name} ships with nnet; its files are verified in {folder}")
        else:
            print(f"{entry.name}: verified in {folder}")
    return 0


def _path(args) -> int:
    from nnet import datasets

    if args.name is None:
        print(datasets.cache_dir())
    else:
        print(datasets.path(_entry(args.name).name))
    return 0
