"""``nnet data``: the datasets nnet knows, and ``--dataset NAME_OR_PATH`` for every command.

A dataset is named one of two ways (:func:`resolve`):

- a registered name (``nnet data list``): ``mnist`` ships with nnet, the others download on
  first use into the cache. A name wins over a file or folder of the same name in the current
  folder: ``--dataset mnist`` is always the registered MNIST;
- a path, read by ``nnet.datasets.load_path``: a folder of the four MNIST-named IDX files, a
  folder with one subfolder of images per class, an ``.npz`` archive or a ``.csv`` file. The
  spec is a path when it is not a registered name, or when it holds a path separator or starts
  with ``.`` or ``~`` (``./mnist`` is the folder ``mnist`` here, never the registered MNIST).
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

Every command's --dataset also takes a path:
  - a folder of the four MNIST-named IDX files (train-images-idx3-ubyte[.gz],
    train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]);
  - a folder with one subfolder of 28x28 images per class (the subfolder names are the
    classes): a seeded, stratified 10% of each class is the test set;
  - an .npz archive holding x_train, y_train, x_test, y_test, or x, y: then a seeded,
    stratified 10% of the rows is the test set (the same rows every time);
  - a .csv with a label column and 784 pixel columns (Kaggle's layout): likewise.
A registered name wins over a folder of the same name: write ./mnist for a folder named mnist."""
EXAMPLES = """\
examples:
  nnet data list                      # name, title, classes, available offline?
  nnet data info fashion-mnist        # description, license, files, digests
  nnet data download kmnist           # fetch into the cache, with a progress bar
  nnet data path                      # the cache folder
  nnet data path mnist                # where MNIST's files are"""

#: For every command's --dataset option.
DATASET_HELP = (
    "a registered dataset (nnet data list) or a path: a folder of IDX files or of class "
    "subfolders of images, an .npz or a .csv; a name wins over a folder of the same name, "
    "so write ./mnist to mean the folder"
)


@dataclass
class Data:
    """A dataset ready for the commands: uint8 images (n, pixels), int64 labels (n,)."""

    name: str  # a registered name, or the path as given
    kind: str  # "registered", "idx", "images", "npz" or "csv"
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


def is_path_spec(spec: str) -> bool:
    """Whether --dataset ``spec`` must be a path: it holds a path separator or starts with . or ~."""
    separators = {os.sep, "/"} | ({os.altsep} if os.altsep else set())
    return spec.startswith((".", "~")) or any(separator in spec for separator in separators)


def resolve(spec: str, *, quiet: bool = False, mapped: bool = False) -> Data:
    """Load the dataset named by ``spec``: a registered name first, else a path (``mapped``:
    its training images left on disk where the files allow, see nnet.datasets.mapped)."""
    from nnet import datasets

    if not spec.strip():
        raise CLIError("--dataset: an empty name; expected a registered dataset (nnet data list) or a path")
    if not is_path_spec(spec):
        try:
            entry = datasets.info(spec)
        except datasets.UnknownDatasetError:
            pass
        else:
            progress = None if quiet else DownloadProgress()
            train, test = _download_with(progress, lambda: datasets.load(entry.name, progress=progress))
            return Data(entry.name, "registered", list(entry.class_names), train, test, tuple(entry.image_shape))
    candidate = Path(spec).expanduser()
    if not candidate.exists():
        if is_path_spec(spec):
            raise CLIError(f"--dataset {spec}: no such file or folder")
        raise CLIError(
            f"unknown dataset {spec!r}: not a registered name ({', '.join(datasets.names())}) "
            f"nor an existing folder, .npz or .csv file"
        )
    loaded = datasets.load_path(candidate, mapped=mapped)
    return Data(
        spec, loaded.kind, list(loaded.class_names), loaded.train, loaded.test, tuple(loaded.image_shape),
        str(candidate.resolve()), [loaded.note] if loaded.note else [],
    )


def dataset_of_model(network, given: str | None) -> str:
    """The --dataset to use with a model: ``given``, else the one it was trained on (as its
    metadata records it), else mnist for a model that records none.

    Raises CLIError when the recorded dataset cannot be found here: a path that no longer
    exists, or a name that is not registered (scoring other data instead would mislead)."""
    if given:
        return given
    trained = network.metadata.get("dataset")
    if not isinstance(trained, dict) or not (trained.get("path") or trained.get("name")):
        return "mnist"
    path, name = trained.get("path"), trained.get("name")
    if isinstance(path, str) and path:
        if os.path.exists(path):
            return path
        raise CLIError(f"the model was trained on {path}, which no longer exists; pass --dataset NAME_OR_PATH")
    from nnet import datasets

    if isinstance(name, str) and name in datasets.names():
        return name
    raise CLIError(f"the model was trained on the dataset {name!r}, which is not registered here; pass --dataset NAME_OR_PATH")


def check_fits(network, data: Data, model: str) -> None:
    """Refuse a dataset whose images or classes do not fit the network."""
    from nnet.data import n_answers

    width = data.test[0].shape[1]
    if width != network.n_inputs:
        raise CLIError(
            f"{model} takes {network.n_inputs} inputs but {data.name} has images of {width} pixels"
        )
    top = max(int(data.test[1].max()), int(data.train[1].max()))
    if top >= n_answers(network.n_outputs):
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
    fetch.add_argument("--json", action="store_true", help="print one JSON object (name, folder)")
    where = actions.add_parser("path", help="the cache folder, or where a dataset's files live")
    where.add_argument("name", metavar="NAME", nargs="?")
    where.add_argument("--json", action="store_true", help="print one JSON object (name, path)")


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
    progress = None if args.quiet or args.json else DownloadProgress()
    folder = _download_with(progress, lambda: datasets.download(entry.name, progress=progress, force=args.force))
    if args.json:
        _term.print_json({"name": entry.name, "folder": str(folder), "shipped": bool(entry.shipped)})
    elif not args.quiet:
        if entry.shipped:
            print(f"{entry.name} ships with nnet; its files are verified in {folder}")
        else:
            print(f"{entry.name}: verified in {folder}")
    return 0


def _path(args) -> int:
    from nnet import datasets

    name = None if args.name is None else _entry(args.name).name
    where = datasets.cache_dir() if name is None else datasets.path(name)
    if args.json:
        _term.print_json({"name": name, "path": str(where)})
    else:
        print(where)
    return 0
