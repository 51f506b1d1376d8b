"""What nnet's fuzzers attack: every reader of untrusted bytes, each with the errors it documents.

A target takes the fuzzer's bytes, hands them to one reader the way a user's file or request
reaches it, and lets through only the reader's documented error (``TARGETS[name].documented``);
anything else that comes out (a ValueError from NumPy, a MemoryError, a RecursionError, an
IndexError ...) is a finding. ``seeds(name)`` makes valid inputs to start from. Used by the
coverage-guided harness (``fuzz/run.py``, atheris) and by the property tests
(``tests/test_fuzz_files.py``, hypothesis).

Two targets take a model's JSON description rather than a whole file (``model_description``,
``checkpoint_description``): they put it in a file with valid tensors and recompute the file's
SHA-256 digests, as anyone who edits a file can, so that the fuzzer reaches the checks behind
the digests.
"""

from __future__ import annotations

import atexit
import gzip
import io
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

import nnet
from nnet import serialization
from nnet._safetensors import ModelFileError, read_safetensors, write_safetensors
from nnet.datasets import DatasetError, load_csv, load_npz, read_idx, write_idx


@dataclass(frozen=True)
class Target:
    read: Callable[[bytes], object]  # the reader, fed the fuzzer's bytes
    documented: tuple[type[BaseException], ...]  # what it may raise
    seeds: Callable[[], list[bytes]]  # valid inputs


#: Inputs are written here to be read as files: in memory where Linux offers it (tens of thousands
#: of files a minute would otherwise wait on the disk).
_FOLDER = Path(tempfile.mkdtemp(prefix="nnet-fuzz-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None))
atexit.register(shutil.rmtree, _FOLDER, ignore_errors=True)


def _file(data: bytes, name: str) -> Path:
    path = _FOLDER / name
    path.write_bytes(data)
    return path


# -- model files and checkpoints -------------------------------------------------------------


def _model_bytes(network: nnet.Network, checkpoint: dict | None = None) -> bytes:
    path = _FOLDER / "seed.safetensors"
    if checkpoint is None:
        nnet.save(network, path)
    else:
        from nnet.checkpoints import save_checkpoint

        save_checkpoint(network, checkpoint, path)
    return path.read_bytes()


def _models() -> list[bytes]:
    return [
        _model_bytes(nnet.Network([4, 3, 2], seed=0)),
        _model_bytes(nnet.Network([6, 5, 4, 3], activation="relu", output="softmax", cost="cross_entropy", seed=1)),
        _model_bytes(nnet.Network([3, 2, 1], activation="tanh", output="sigmoid", cost="cross_entropy", dtype="float64", seed=2)),
    ]


def _checkpoints() -> list[bytes]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(24, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    seeds = []
    for optimizer in ("momentum", "adam"):
        network = nnet.Network([4, 3, 2], activation="relu", output="softmax", cost="cross_entropy", seed=0)
        trainer = nnet.Trainer(network, optimizer, epochs=1, batch_size=8, early_stopping=2, seed=0)
        trainer.run(x, y, validation_data=(x[:8], y[:8]))
        seeds.append(_model_bytes(network, trainer.checkpoint()))
    return seeds


def _load_model(data: bytes):
    return nnet.load(_file(data, "fuzzed.safetensors"))


def _load_checkpoint(data: bytes):
    from nnet.checkpoints import load_checkpoint

    return load_checkpoint(_file(data, "fuzzed.safetensors"))


def signed(model: bytes, description: bytes) -> bytes:
    """The model file ``model`` with its description replaced by ``description`` (bytes of JSON,
    or anything), its digests recomputed when the description is a JSON object."""
    tensors, container = read_safetensors(_file(model, "base.safetensors"))
    text = description.decode("utf-8", "replace")
    try:
        meta = json.loads(text)
    except (ValueError, RecursionError):
        meta = None
    if isinstance(meta, dict):
        meta["data_sha256"] = serialization._digest(tensors)
        try:  # (a description nnet could not have written, 1e999 say, stays unsigned)
            meta["meta_sha256"] = serialization._meta_digest(meta)
            text = json.dumps(meta)
        except (ValueError, TypeError, RecursionError):
            pass
    path = _FOLDER / "signed.safetensors"
    try:
        write_safetensors(path, tensors, {**container, "nnet": text})
    except ValueError:  # a description over the header bound: as a hostile file would hold it
        return model
    return path.read_bytes()


def _description(kind: str) -> Callable[[], list[bytes]]:
    """The description of the file the ``<kind>_description`` target puts descriptions in."""

    def seeds() -> list[bytes]:
        return [read_safetensors(_file(_base(kind), "seed.safetensors"))[1]["nnet"].encode()]

    return seeds


_BASE: dict[str, bytes] = {}


def _base(kind: str) -> bytes:
    if kind not in _BASE:
        _BASE[kind] = (_models if kind == "model" else _checkpoints)()[-1]
    return _BASE[kind]


# -- datasets --------------------------------------------------------------------------------


def _idx_files() -> list[bytes]:
    rng = np.random.default_rng(0)
    seeds = []
    for array in (rng.integers(0, 256, size=(3, 5, 4), dtype=np.uint8), np.arange(6, dtype=np.uint8) % 3,
                  rng.normal(size=(2, 3)).astype(np.float32), np.arange(4, dtype=np.int32)):
        plain = _FOLDER / "seed.idx"
        write_idx(plain, array)
        seeds.append(plain.read_bytes())
        seeds.append(gzip.compress(plain.read_bytes(), mtime=0))
    return seeds


def _read_idx(data: bytes):
    return read_idx(_file(data, "fuzzed.idx"))


def _csv_files() -> list[bytes]:
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(4, 784))
    header = "label," + ",".join(f"pixel{i}" for i in range(784))
    rows = [",".join(map(str, [label, *row])) for label, row in zip((0, 1, 2, 1), pixels)]
    return ["\n".join([header, *rows]).encode(), "\n".join(rows).encode(), "\n".join(rows).replace("0,", "0.0,").encode()]


def _load_csv(data: bytes):
    return load_csv(_file(data, "fuzzed.csv"))


def _npz_files() -> list[bytes]:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(4, 784), dtype=np.uint8)
    y = np.array([0, 1, 2, 1])
    seeds = []
    for save in (np.savez, np.savez_compressed):
        buffer = io.BytesIO()
        save(buffer, x=x, y=y)
        seeds.append(buffer.getvalue())
    buffer = io.BytesIO()
    np.savez(buffer, x=x.reshape(4, 28, 28) / 255.0, y=y, class_names=np.array(["a", "b", "c"]))
    seeds.append(buffer.getvalue())
    return seeds


def _load_npz(data: bytes):
    return load_npz(_file(data, "fuzzed.npz"))


# -- images ----------------------------------------------------------------------------------

IMAGE_SAVES = {"PNG": {}, "JPEG": {"quality": 90}, "BMP": {}, "GIF": {}, "TIFF": {}, "WEBP": {}, "PPM": {}}


def _images() -> list[bytes]:
    from PIL import Image

    canvas = np.zeros((28, 28), np.uint8)
    canvas[6:22, 12:16] = 255  # a "1"
    seeds = []
    for name, options in IMAGE_SAVES.items():
        for mode in ("L", "RGB"):
            buffer = io.BytesIO()
            Image.fromarray(canvas).convert(mode).save(buffer, format=name, **options)
            seeds.append(buffer.getvalue())
    return seeds


def _to_mnist(data: bytes):
    from nnet.images import to_mnist

    return to_mnist(data)


def _image_file(data: bytes):
    """As an image folder reads a file (``nnet.datasets.image_folder``)."""
    from nnet.datasets.image_folder import _read_image, import_pillow

    return _read_image(import_pillow(), _file(data, "fuzzed.png"))


def _image_errors():
    from nnet.images import ImageError

    return ImageError


# -- the lab's request bodies ----------------------------------------------------------------


def _bodies() -> list[bytes]:
    return [b'{"hidden": [16], "epochs": 2, "batch_size": 8, "train_size": 50, "seed": 3}',
            b'{"input": [' + b",".join([b"0.5"] * 784) + b"]}",
            b'{"width": 2, "height": 2, "pixels": "AAAAAA=="}', b"{}"]


def _lab_body(data: bytes):
    from nnet.lab import payloads
    from nnet.lab.training import DEFAULT_SETTINGS

    body = payloads.parse_json(data)
    for check in (lambda: payloads.train_settings(body, DEFAULT_SETTINGS, 100), lambda: payloads.drawing(body, 784)):
        try:
            check()
        except payloads.PayloadError:
            pass


def _payload_error():
    from nnet.lab.payloads import PayloadError

    return PayloadError


#: The modules the targets import only when first called (Pillow and the lab are optional):
#: fuzz/run.py imports them up front, so that atheris instruments them.
LATE_IMPORTS = ("nnet.checkpoints", "nnet.images", "nnet.datasets.image_folder", "nnet.lab.payloads",
                "nnet.lab.training")

TARGETS: dict[str, Target] = {
    "model": Target(_load_model, (ModelFileError,), _models),
    "checkpoint": Target(_load_checkpoint, (ModelFileError,), _checkpoints),
    "model_description": Target(lambda data: _load_model(signed(_base("model"), data)), (ModelFileError,),
                                _description("model")),
    "checkpoint_description": Target(lambda data: _load_checkpoint(signed(_base("checkpoint"), data)),
                                     (ModelFileError,), _description("checkpoint")),
    "idx": Target(_read_idx, (DatasetError,), _idx_files),
    "csv": Target(_load_csv, (DatasetError,), _csv_files),
    "npz": Target(_load_npz, (DatasetError,), _npz_files),
    "image": Target(_to_mnist, (), _images),  # ImageError, imported late: Pillow is optional
    "image_folder": Target(_image_file, (DatasetError,), _images),
    "lab_body": Target(_lab_body, (), _bodies),  # PayloadError, imported late: the lab is optional
}


def documented(name: str) -> tuple[type[BaseException], ...]:
    """The errors target ``name`` may raise."""
    if name == "image":
        return (_image_errors(),)
    if name == "lab_body":
        return (_payload_error(),)
    return TARGETS[name].documented


def seeds(name: str) -> list[bytes]:
    """Valid inputs of target ``name``, made fresh (nothing is read from disk)."""
    return TARGETS[name].seeds()


def attack(name: str, data: bytes) -> None:
    """Feed ``data`` to target ``name``: returns, or raises a documented error, or raises anything
    else, which is a finding."""
    TARGETS[name].read(data)


