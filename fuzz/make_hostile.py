"""Write the hand-made hostile inputs of issue 9 to tests/data/hostile/<target>/, one per recipe.

    python fuzz/make_hostile.py

Each is a regression case: tests/test_fuzz_files.py feeds every file there to its target
(the folder's name, a target of fuzz/targets.py) under a memory cap, and only the target's
documented error may come out. The files are committed; run this again only to add recipes
(files of model format version 2, written by this nnet).
"""

from __future__ import annotations

import gzip
import io
import json
import struct
import sys
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "tests" / "data" / "hostile"
sys.path.insert(0, str(HERE))

import targets  # noqa: E402


def container(header: bytes, data: bytes = b"", length: int | None = None) -> bytes:
    return struct.pack("<Q", len(header) if length is None else length) + header + data


def described(kind: str, edit) -> bytes:
    """The ``kind`` ("model", "checkpoint" or "cli_checkpoint") seed with its description edited,
    re-signed."""
    base = cli_checkpoint() if kind == "cli_checkpoint" else targets._base(kind)
    meta = json.loads(read_safetensors_bytes(base))
    edit(meta)
    return targets.signed(base, json.dumps(meta).encode())


def read_safetensors_bytes(blob: bytes) -> str:
    return targets.read_safetensors(targets._file(blob, "described.safetensors"))[1]["nnet"]


def cli_checkpoint() -> bytes:
    """A checkpoint written by `nnet train --checkpoint-dir` (its settings are what --resume reads)."""
    import tempfile

    from nnet.cli import main

    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "d.npz"
        np.savez(data, x=np.zeros((20, 784), np.uint8), y=np.arange(20) % 3)
        assert main(["train", "--dataset", str(data), "--validation", "0", "--epochs", "1", "--hidden", "4", "--quiet",
                     "--out", f"{folder}/m.safetensors", "--checkpoint-dir", folder]) == 0
        return (Path(folder) / "checkpoint.safetensors").read_bytes()


def dense(meta, index):
    return meta["layers"][index]


def npz_claiming(shape) -> bytes:
    header = f"{{'descr': '|u1', 'fortran_order': False, 'shape': {shape}, }}"
    header += " " * (-(10 + len(header) + 1) % 64) + "\n"
    npy = b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode() + bytes(16)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("x.npy", npy)
        archive.writestr("y.npy", npy)
    return buffer.getvalue()


def npz_of(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def csv_with(label: str) -> bytes:
    return ("\n".join(",".join([label if row == 7 else "1"] + ["0"] * 784) for row in range(20)) + "\n").encode()


def dds() -> bytes:
    header = struct.pack("<7I", 124, 0x1007, 28, 28, 0, 0, 0) + bytes(44)
    pixel_format = struct.pack("<2I4s5I", 32, 0x4, b"ZZZZ", 0, 0, 0, 0, 0)
    return b"DDS " + header + pixel_format + struct.pack("<4I", 0x1000, 0, 0, 0) + bytes(104)


def huge_layer(meta):
    first = dense(meta, 0)
    first["n_in"] = first["n_out"] = 15000
    first["parameters"] = 15000 * 15001
    meta["sizes"][:2] = [15000, 15000]


RECIPES = {
    "model": {
        "finding-1-a-layer-of-15000x15000.safetensors": lambda: described("model", huge_layer),
        "finding-4-a-layer-of-2-31-neurons.safetensors": lambda: described("model", lambda m: dense(m, -1).update(n_out=2**31)),
        "finding-4-cost-a-list.safetensors": lambda: described("model", lambda m: m.update(cost=[])),
        "fuzz-a-layer-kind-a-list.safetensors": lambda: described("model", lambda m: dense(m, 0).update(kind=["dense"])),
        "finding-4-shape-0-by-10-30.safetensors": lambda: container(
            b'{"a":{"dtype":"F32","shape":[0,1' + b"0" * 30 + b'],"data_offsets":[0,0]}}'),
        "finding-4-100-dimensions.safetensors": lambda: container(
            json.dumps({"a": {"dtype": "F32", "shape": [1] * 100, "data_offsets": [0, 4]}}).encode(), bytes(4)),
        "finding-4-a-5000-digit-integer.safetensors": lambda: container(
            b'{"a":{"dtype":"F32","shape":[' + b"9" * 5000 + b'],"data_offsets":[0,4]}}', bytes(4)),
        "container-10000-nested-brackets.safetensors": lambda: container(b"[" * 10_000 + b"]" * 10_000),
        "container-header-length-2-40.safetensors": lambda: container(b"{}", length=2**40),
        "container-10-gb-on-16-bytes.safetensors": lambda: container(
            json.dumps({"a": {"dtype": "F32", "shape": [2_500_000_000], "data_offsets": [0, 10**10]}}).encode(), bytes(16)),
        "container-overlapping-offsets.safetensors": lambda: container(json.dumps(
            {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
             "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}).encode(), bytes(12)),
    },
    "checkpoint": {
        "finding-4-adam-steps-minus-1.safetensors": lambda: described(
            "checkpoint", lambda m: m["checkpoint"]["optimizer"].update(steps=-1)),
        "finding-4-a-negative-seed.safetensors": lambda: described("checkpoint", lambda m: m["checkpoint"].update(seed=-5)),
        "finding-4-training-dataset-a-number.safetensors": lambda: described(
            "cli_checkpoint", lambda m: m["training"].update(dataset=5)),
        "finding-4-training-epochs-a-list.safetensors": lambda: described(
            "cli_checkpoint", lambda m: m["training"].update(epochs=[1, 2])),
        "finding-4-training-seed-negative.safetensors": lambda: described(
            "cli_checkpoint", lambda m: m["training"].update(seed=-1)),
        "finding-4-optimizer-disagrees-with-the-settings.safetensors": lambda: described(
            "cli_checkpoint", lambda m: m["training"].update(optimizer="adam")),
    },
    "csv": {
        "finding-2-label-2000000000.csv": lambda: csv_with("2000000000"),
        "finding-5-arabic-digit-three.csv": lambda: csv_with("٣"),
    },
    "npz": {
        "finding-2-label-10-12.npz": lambda: npz_of(x=np.zeros((20, 784), np.uint8), y=np.array([0] * 19 + [10**12])),
        "finding-5-300-bytes-claiming-100-gb.npz": lambda: npz_claiming((100_000_000_000,)),
    },
    "idx": {
        "finding-5-0x4294967295x4294967295.idx": lambda: struct.pack(">BBBB3I", 0, 0, 8, 3, 0, 2**32 - 1, 2**32 - 1),
        "finding-5-0x4294967295x4294967295.idx.gz": lambda: gzip.compress(
            struct.pack(">BBBB3I", 0, 0, 8, 3, 0, 2**32 - 1, 2**32 - 1), mtime=0),
    },
    "image": {
        "finding-3-postscript-named.png": lambda: (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 28 28\n"
                                                   b"0 0 moveto 28 28 lineto stroke\nshowpage\n"),
        "finding-5-damaged.dds": dds,
    },
    "lab_body": {
        "finding-6-100000-nested-brackets.json": lambda: b"[" * 100_000,
        "finding-6-a-5000-digit-integer.json": lambda: b'{"epochs": ' + b"9" * 5000 + b"}",
    },
}


def main() -> int:
    for target, recipes in RECIPES.items():
        folder = OUT / target
        folder.mkdir(parents=True, exist_ok=True)
        for name, make in recipes.items():
            (folder / name).write_bytes(make())
            print(folder / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
