"""Issue 9's findings, one test each, written against what nnet promised before (the same public
functions), so that each fails on the code the attack was run on and passes now. The lab's
findings (3, 6, 11) are in test_lab_hostile.py, the killed writer's (8) in test_atomic.py, the
container's defects one by one in test_container.py; the CLI's (5, 7, 9) in test_cli_hostile.py.

Each file here is small (under 1 MB) and must be refused within a few MB (tracemalloc: NumPy's
and Python's allocations), with one line that names the file and the defect."""

from __future__ import annotations

import gzip
import json
import struct
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

import nnet
from nnet import serialization
from nnet.datasets import DatasetError, load_csv, load_image_folder, load_npz, load_path, read_idx
from nnet.serialization import ModelFileError, read_safetensors, write_safetensors

#: What refusing a small hostile file may cost here (the files claim gigabytes).
SMALL = 16 * 2**20


def refused_within(kind, function, *args, memory: int = SMALL, match: str = ""):
    """Call ``function(*args)``: it must raise ``kind`` (one line matching ``match``) and allocate
    at most ``memory`` bytes on the way."""
    tracemalloc.start()
    try:
        with pytest.raises(kind, match=match) as caught:
            function(*args)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak <= memory, f"{peak:,} bytes allocated before the refusal"
    assert "\n" not in str(caught.value).strip()
    return caught.value


def load_checkpoint(path):
    try:
        from nnet.checkpoints import load_checkpoint as load
    except ImportError:  # before the redesign
        load = serialization.load_checkpoint
    return load(path)


def re_signed(path, edit=None, tensors=None):
    """Rewrite a model file with its description edited and both digests recomputed, as anyone
    who edits a file can: the checks behind the digests must catch it."""
    stored, container = read_safetensors(path)
    meta = json.loads(container["nnet"])
    if edit is not None:
        edit(meta)
    if tensors is not None:
        stored = tensors(stored)
    meta["data_sha256"] = serialization._digest(stored)
    meta.pop("meta_sha256", None)
    meta["meta_sha256"] = serialization._meta_digest(meta)
    write_safetensors(path, stored, {**container, "nnet": json.dumps(meta)})
    return path


def container_file(path, header: bytes, data: bytes = b""):
    path.write_bytes(struct.pack("<Q", len(header)) + header + data)
    return path


def small_model(tmp_path, name="model.safetensors"):
    path = tmp_path / name
    nnet.save(nnet.Network([4, 3, 2], seed=0), path)
    return path


# -- finding 1: a tiny file claiming a huge layer allocates nothing at that size ----------------


def dense_entries(meta):
    return [entry for entry in meta["layers"] if entry.get("kind") == "dense"]


def test_finding_1_a_tiny_file_claiming_a_huge_layer_allocates_nothing(tmp_path):
    def huge(meta):
        first = dense_entries(meta)[0]
        first["n_in"] = first["n_out"] = 5000  # 100 MB of float32 weights; the file holds 48 bytes of them
        if "sizes" in meta:
            meta["sizes"][:2] = [5000, 5000]

    path = re_signed(small_model(tmp_path), huge)
    assert path.stat().st_size < 4000
    refused_within(ModelFileError, nnet.load, path, match=str(path))


# -- finding 2: one large label is not a class count ---------------------------------------------


def csv_with_label(path, label: str, rows: int = 20):
    path.write_text("\n".join(",".join([label if row == 7 else "1"] + ["0"] * 784) for row in range(rows)) + "\n")
    return path


def test_finding_2_a_label_of_ten_million_in_a_csv_is_refused_naming_file_line_and_value(tmp_path):
    path = csv_with_label(tmp_path / "labels.csv", "10000000")
    refused_within(DatasetError, load_csv, path, match=rf"{path}, line 8: label 10000000 is too large")


def test_finding_2_a_label_of_ten_million_in_an_npz_is_refused(tmp_path):
    path = tmp_path / "labels.npz"
    np.savez(path, x=np.zeros((20, 784), np.uint8), y=np.array([0] * 19 + [10**7]))
    refused_within(DatasetError, load_npz, path, match=rf"{path}, row 19 of y: label 10000000 is too large")


def test_finding_2_a_label_of_ten_million_in_an_idx_folder_is_refused(tmp_path):
    from nnet.datasets import write_idx

    for part, n in (("train", 20), ("t10k", 5)):
        write_idx(tmp_path / f"{part}-images-idx3-ubyte", np.zeros((n, 28, 28), np.uint8))
        write_idx(tmp_path / f"{part}-labels-idx1-ubyte", np.array([0] * (n - 1) + [10**7], np.int32))
    refused_within(DatasetError, load_path, tmp_path, match=r"train-labels-idx1-ubyte: label 10000000 at index 19")


# -- finding 3: a file's content never picks a decoder outside the raster formats ---------------

POSTSCRIPT = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 28 28\n0 0 moveto 28 28 lineto stroke\nshowpage\n"


def test_finding_3_postscript_named_png_never_reaches_ghostscript(tmp_path, monkeypatch):
    pytest.importorskip("PIL")
    from PIL import EpsImagePlugin

    from nnet.images import ImageError, to_mnist

    def no(*args, **kwargs):
        raise AssertionError("the EPS decoder (Ghostscript) was asked to read a user's image")

    monkeypatch.setattr(EpsImagePlugin.EpsImageFile, "_open", no)
    path = tmp_path / "seven.png"
    path.write_bytes(POSTSCRIPT)
    with pytest.raises(ImageError, match=rf"{path}: cannot read it as an image"):
        to_mnist(path)
    (tmp_path / "digits" / "seven").mkdir(parents=True)
    (tmp_path / "digits" / "seven" / "1.png").write_bytes(POSTSCRIPT)
    with pytest.raises(DatasetError, match="cannot read as an image"):
        load_image_folder(tmp_path / "digits")


# -- finding 4: damaged model files and checkpoints are model-file errors -------------------------

CONTAINERS = {
    "shape [0, 10**30]": b'{"a":{"dtype":"F32","shape":[0,1' + b"0" * 30 + b'],"data_offsets":[0,0]}}',
    "100 dimensions": json.dumps({"a": {"dtype": "F32", "shape": [1] * 100, "data_offsets": [0, 4]}}).encode(),
    "a 5,000-digit integer": b'{"a":{"dtype":"F32","shape":[' + b"9" * 5000 + b'],"data_offsets":[0,4]}}',
}


@pytest.mark.parametrize("case", CONTAINERS)
def test_finding_4_a_damaged_container_is_a_model_file_error(tmp_path, case):
    path = container_file(tmp_path / "damaged.safetensors", CONTAINERS[case], bytes(4))
    refused_within(ModelFileError, nnet.load, path, match=str(path))


DESCRIPTIONS = {
    "cost []": lambda meta: meta.update(cost=[]),
    "a layer of 2**31 neurons": lambda meta: dense_entries(meta)[-1].update(n_out=2**31),
    "layers a number": lambda meta: meta.update(layers=7),
    "a layer a list": lambda meta: meta["layers"].__setitem__(0, [1, 2]),
    "dtype a list": lambda meta: meta.update(dtype=["float32"]),
}


@pytest.mark.parametrize("case", DESCRIPTIONS)
def test_finding_4_a_re_signed_damaged_description_is_a_model_file_error(tmp_path, case):
    path = re_signed(small_model(tmp_path), DESCRIPTIONS[case])
    refused_within(ModelFileError, nnet.load, path, match=str(path))


def adam_checkpoint(tmp_path):
    x = np.random.default_rng(0).normal(size=(16, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    network = nnet.Network([4, 3, 2], activation="relu", output="softmax", cost="cross_entropy", seed=0)
    try:
        from nnet.checkpoints import save_checkpoint

        trainer = nnet.Trainer(network, "adam", epochs=1, batch_size=8, seed=0)
    except ImportError:  # before the redesign
        from nnet.serialization import save_checkpoint

        trainer = nnet.Trainer(network, epochs=1, batch_size=8, optimizer="adam", seed=0)
    trainer.run(x, y)
    return save_checkpoint(network, trainer.checkpoint(), tmp_path / "checkpoint.safetensors")


CHECKPOINTS = {
    "adam steps -1": lambda meta: meta["checkpoint"]["optimizer"].update(steps=-1),
    "a negative seed": lambda meta: meta["checkpoint"].update(seed=-5),
    "an unknown optimizer": lambda meta: meta["checkpoint"]["optimizer"].update(name="rmsprop"),
    "the optimizer a list": lambda meta: meta["checkpoint"].update(optimizer=["adam"]),
    "next_epoch a list": lambda meta: meta["checkpoint"].update(next_epoch=[1]),
}


@pytest.mark.parametrize("case", CHECKPOINTS)
def test_finding_4_a_re_signed_damaged_checkpoint_is_a_model_file_error(tmp_path, case):
    path = re_signed(adam_checkpoint(tmp_path), CHECKPOINTS[case])
    refused_within(ModelFileError, load_checkpoint, path, match=str(path))


# -- finding 5: datasets and images end in their documented errors --------------------------------


def test_finding_5_unicode_digits_in_a_csv_are_refused_by_line_and_column(tmp_path):
    path = csv_with_label(tmp_path / "arabic.csv", "٣")
    refused_within(DatasetError, load_csv, path, match=rf"{path}, line 8, column 1: expected a number, got '٣'")


@pytest.mark.parametrize("compressed", [False, True])
def test_finding_5_an_idx_header_of_0_by_4294967295_by_4294967295_is_refused(tmp_path, compressed):
    header = struct.pack(">BBBB3I", 0, 0, 0x08, 3, 0, 4294967295, 4294967295)
    path = tmp_path / ("huge.idx.gz" if compressed else "huge.idx")
    path.write_bytes(gzip.compress(header) if compressed else header)
    refused_within(DatasetError, read_idx, path, match=rf"{path}.*4294967295")


def npz_claiming(path, shape):
    header = f"{{'descr': '|u1', 'fortran_order': False, 'shape': {shape}, }}"
    header += " " * (-(10 + len(header) + 1) % 64) + "\n"
    npy = b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode() + bytes(16)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("x.npy", npy)
        archive.writestr("y.npy", npy)
    return path


def test_finding_5_a_300_byte_npz_claiming_100_gb_is_refused(tmp_path):
    path = npz_claiming(tmp_path / "claims.npz", (100_000_000_000,))
    assert path.stat().st_size < 400
    refused_within(DatasetError, load_npz, path, match=rf"{path}: member 'x.npy'")


HOSTILE = Path(__file__).parent / "data" / "hostile"


@pytest.mark.parametrize("damaged", sorted(p.name for p in (HOSTILE / "image_folder").iterdir()))
def test_finding_5_a_damaged_image_in_a_folder_is_a_data_format_error(tmp_path, damaged):
    pytest.importorskip("PIL")
    for label in ("one", "two"):
        (tmp_path / label).mkdir()
    canvas = np.zeros((28, 28), np.uint8)
    from PIL import Image

    Image.fromarray(canvas).save(tmp_path / "one" / "fine.png")
    (tmp_path / "two" / damaged).write_bytes((HOSTILE / "image_folder" / damaged).read_bytes())
    with pytest.raises(DatasetError, match=rf"{tmp_path / 'two' / damaged}: cannot read as an image"):
        load_image_folder(tmp_path)


def dds(fourcc: bytes = b"ZZZZ") -> bytes:
    """A DDS header of 28x28 pixels whose pixel format (a FourCC code) Pillow does not know."""
    header = struct.pack("<7I", 124, 0x1007, 28, 28, 0, 0, 0) + bytes(44)
    pixel_format = struct.pack("<2I4s5I", 32, 0x4, fourcc, 0, 0, 0, 0, 0)
    return b"DDS " + header + pixel_format + struct.pack("<4I", 0x1000, 0, 0, 0) + bytes(4) + bytes(100)


@pytest.mark.parametrize("name", ["seven.dds", "seven.png"])
def test_finding_5_a_damaged_dds_is_an_image_error(tmp_path, name):
    pytest.importorskip("PIL")
    from nnet.images import ImageError, to_mnist

    path = tmp_path / name
    path.write_bytes(dds())
    with pytest.raises(ImageError, match=rf"{path}: cannot read it as an image"):
        to_mnist(path)
    with pytest.raises(ImageError):
        to_mnist(dds())


# -- finding 10: the header is bounded by what a model needs ---------------------------------------


def test_finding_10_a_header_of_17_mib_is_refused_before_it_is_read(tmp_path):
    text = json.dumps({"__metadata__": {"format": "nnet", "nnet": "x" * (17 * 2**20)}}).encode()
    path = container_file(tmp_path / "big-header.safetensors", text)
    refused_within(ModelFileError, read_safetensors, path, memory=2**20, match=f"{path}: .*header claims")


def test_finding_10_a_model_with_a_long_history_still_saves_and_loads(tmp_path):
    """The bound leaves room: 20,000 epochs of history (about 4 MB of JSON)."""
    history = {"epochs": [{"epoch": i + 1, "train_cost": 0.123456789, "train_accuracy": 0.987654321,
                           "validation_cost": 0.2345678901, "validation_accuracy": 0.9753, "learning_rate": 0.1,
                           "seconds": 0.012345} for i in range(20_000)], "seed": 0, "stopped_early": False,
               "best_epoch": None}
    path = tmp_path / "long.safetensors"
    nnet.save(nnet.Network([4, 3, 2], seed=0), path, metadata={"history": history})
    assert path.stat().st_size > 3 * 2**20
    assert len(nnet.load(path).metadata["history"]["epochs"]) == 20_000
