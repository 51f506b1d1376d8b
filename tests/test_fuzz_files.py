"""Fuzzing that stays (issue 9): hypothesis mutates valid model files, checkpoints, IDX, CSV and
npz files, images and lab request bodies, and every reader must answer with its documented error
(``fuzz/targets.py``: ModelFileError, DatasetError, ImageError, PayloadError), never another
exception, and within the memory bound (``nnet.limits.MAX_MEMORY_FOR_SMALL_FILES``, measured by
tracemalloc: NumPy's and Python's allocations). Every input the fuzzers ever found crashing is
kept in ``fuzz/corpus/<target>/regression-*`` and replayed here in a child process whose address
space is capped, so that even Pillow's allocations, which tracemalloc does not see, are bounded.

Bounded for CI: ``EXAMPLES`` examples per test (NNET_FUZZ_EXAMPLES for longer runs; the atheris
harness, ``fuzz/run.py``, runs for as long as it is given: see fuzz/README.md)."""

from __future__ import annotations

import copy
import json
import os
import struct
import subprocess
import sys
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nnet import limits

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "fuzz"))
import targets  # noqa: E402

EXAMPLES = int(os.environ.get("NNET_FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
SEEDS: dict[str, list[bytes]] = {}


def seeds(name: str) -> list[bytes]:
    if name not in SEEDS:
        SEEDS[name] = targets.seeds(name)
    return SEEDS[name]


def attack(name: str, data: bytes) -> None:
    """Feed ``data`` to target ``name``: only its documented error may come out, within the bound."""
    tracemalloc.start()
    try:
        try:
            targets.attack(name, data)
        except targets.documented(name) as error:
            message = str(error)
            assert message and "\n" not in message.strip(), f"{name}: not one line: {message[:300]!r}"
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak <= limits.MAX_MEMORY_FOR_SMALL_FILES, f"{name}: {peak:,} bytes for an input of {len(data):,}"


# -- mutations ----------------------------------------------------------------------------------

INTERESTING = [0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0xFFFF, 2**31 - 1, 2**31, 2**32 - 1, 2**63 - 1, 2**64 - 1]


@st.composite
def byte_mutations(draw, name: str) -> bytes:
    """A seed of target ``name`` with 1 to 4 byte-level edits, as a fuzzer makes them."""
    data = bytearray(draw(st.sampled_from(seeds(name))))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate", "integer", "duplicate"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set" and data:
            data[at] = draw(st.sampled_from([0, 1, 0x7F, 0x80, 0xFF]))
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 16))]
        elif kind == "truncate":
            del data[at:]
        elif kind == "integer":
            value = draw(st.sampled_from(INTERESTING))
            size, order = draw(st.sampled_from([(2, "little"), (4, "little"), (4, "big"), (8, "little")]))
            data[at : at + size] = (value % 2 ** (8 * size)).to_bytes(size, order)
        elif kind == "duplicate":
            data[at:at] = data[at : at + draw(st.integers(1, 64))]
    return bytes(data)


HOSTILE_VALUES = st.one_of(
    st.sampled_from([None, True, False, 0, -1, 1, 2, 2**31 - 1, 2**31, 2**32, 2**63, -(2**63), 10**30, 1e308, -0.0,
                     0.5, "", "x" * 5000, "\x1b]0;pwned\x07\x1b[2J", "relu", "adam", "dense", [], {}, [[[[]]]],
                     [0] * 200, [15000, 15000], {"kind": "dense"}]),
    st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12),
    st.recursive(st.none() | st.integers(-3, 3) | st.text(max_size=3),
                 lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
                 max_leaves=5),
)


def places(value, path=()):
    """Every (container path, key) in a JSON value, to edit."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield path, key
            yield from places(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield path, index
            yield from places(item, (*path, index))


@st.composite
def description_edits(draw, name: str) -> bytes:
    """A model's (or checkpoint's) description with 1 to 3 values replaced or removed."""
    meta = json.loads(draw(st.sampled_from(seeds(name))))
    for _ in range(draw(st.integers(1, 3))):
        spots = list(places(meta))
        path, key = draw(st.sampled_from(spots))
        container = meta
        for step in path:
            container = container[step]
        if isinstance(container, dict) and draw(st.integers(0, 4)) == 0:
            del container[key]
        else:
            container[key] = copy.deepcopy(draw(HOSTILE_VALUES))  # (sampled values are shared objects)
    return json.dumps(meta).encode()


HOSTILE_FIELDS = ["٣", "²", "１", "1e999", "-1e999", "nan", "inf", "-1", "2000000000", "10000000", "1000", "999",
                  "0x10", "1_000", "", " ", "\x00", "1" * 5000, "3.5", "+7", ".5", "255", "256", "-0", '"4"', "0" * 400]


@st.composite
def csv_edits(draw) -> bytes:
    lines = draw(st.sampled_from(seeds("csv"))).decode().split("\n")
    for _ in range(draw(st.integers(1, 4))):
        row = draw(st.integers(0, len(lines) - 1))
        fields = lines[row].split(",")
        kind = draw(st.sampled_from(["field", "label", "add", "drop", "blank", "bom"]))
        if kind in ("field", "label"):
            fields[0 if kind == "label" else draw(st.integers(0, len(fields) - 1))] = draw(
                st.sampled_from(HOSTILE_FIELDS) | st.text(max_size=6))
        elif kind == "add":
            fields.append(draw(st.sampled_from(HOSTILE_FIELDS)))
        elif kind == "drop" and len(fields) > 1:
            fields.pop(draw(st.integers(0, len(fields) - 1)))
        elif kind == "blank":
            lines.insert(row, "")
        elif kind == "bom":
            lines[0] = "\ufeff" + lines[0]
        lines[row] = ",".join(fields)
    return "\n".join(lines).encode("utf-8", "surrogatepass")


@st.composite
def npz_archives(draw) -> bytes:
    import io

    n = draw(st.integers(0, 5))
    shapes = st.sampled_from([(n, 784), (n, 28, 28), (n,), (n, 783), (784,), (0, 784), (n, 1, 784)])
    dtypes = st.sampled_from([np.uint8, np.float32, np.float64, np.int64, np.int8, np.bool_])
    x = np.zeros(draw(shapes), dtype=np.float64)
    if x.size:
        x.flat[0] = draw(st.sampled_from([0, 1, 255, 256, -1, 0.5, 1e30, np.nan, np.inf]))
    y = np.array(draw(st.lists(st.sampled_from([0, 1, 9, 999, 1000, 10**12, -1, 2**62, 0.5]), max_size=6)), np.float64)
    with np.errstate(all="ignore"), warnings.catch_warnings():  # unsafe casts on purpose: wrapped values
        warnings.simplefilter("ignore")
        x, y = x.astype(draw(dtypes)), y.astype(draw(dtypes))
    arrays = {"x": x, "y": y}
    if draw(st.booleans()):
        arrays["class_names"] = np.array(draw(st.lists(st.text(max_size=3), max_size=3)), dtype=str)
    buffer = io.BytesIO()
    draw(st.sampled_from([np.savez, np.savez_compressed]))(buffer, **arrays)
    return buffer.getvalue()


@st.composite
def idx_headers(draw) -> bytes:
    code = draw(st.sampled_from([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x00, 0xFF]))
    dims = draw(st.lists(st.sampled_from([0, 1, 2, 28, 60000, 2**31 - 1, 2**32 - 1]), max_size=5))
    body = draw(st.binary(max_size=64))
    return struct.pack(f">BBBB{len(dims)}I", 0, 0, code, len(dims), *dims) + body


# -- the properties ---------------------------------------------------------------------------

BYTE_TARGETS = ["model", "checkpoint", "idx", "csv", "npz", "image", "image_folder", "lab_body"]


@pytest.mark.parametrize("name", BYTE_TARGETS)
def test_mutated_bytes_meet_only_the_documented_error(name):
    if name.startswith("image"):
        pytest.importorskip("PIL")

    @FUZZ
    @given(data=byte_mutations(name))
    def run(data):
        attack(name, data)

    run()


@pytest.mark.parametrize("name", ["model_description", "checkpoint_description"])
def test_a_re_signed_description_meets_only_the_documented_error(name):
    """The digests recomputed, as anyone who edits a file can: the checks behind them must hold."""

    @FUZZ
    @given(description=description_edits(name))
    def run(description):
        attack(name, description)

    run()


@FUZZ
@given(data=csv_edits())
def test_an_edited_csv_meets_only_the_documented_error(data):
    attack("csv", data)


@FUZZ
@given(data=npz_archives())
def test_an_npz_of_strange_arrays_meets_only_the_documented_error(data):
    attack("npz", data)


@FUZZ
@given(data=idx_headers())
def test_an_idx_header_of_strange_sizes_meets_only_the_documented_error(data):
    attack("idx", data)


def test_the_seeds_are_read_without_an_error():
    """The mutations start from valid inputs: each target reads its seeds."""
    for name in targets.TARGETS:
        if name.startswith("image"):
            pytest.importorskip("PIL")
        for data in seeds(name):
            targets.attack(name, data)


# -- every crashing input ever found, replayed under a memory cap -----------------------------

REGRESSIONS = sorted((ROOT / "fuzz" / "corpus").glob("*/regression-*")) + sorted((ROOT / "tests" / "data" / "hostile").glob("*/*"))

_REPLAY = r"""
import resource, sys
sys.path.insert(0, sys.argv[1])
import targets
from nnet import limits
def virtual_bytes():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:"))
for name in targets.TARGETS:
    targets.documented(name)
cap = virtual_bytes() + limits.MAX_MEMORY_FOR_SMALL_FILES
resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
failures = []
for path in sys.argv[2:]:
    name = path.split("/")[-2]
    data = open(path, "rb").read()
    try:
        targets.attack(name, data)
    except targets.documented(name):
        pass
    except BaseException as error:
        failures.append(f"{path}: {type(error).__name__}: {str(error)[:200]}")
print("\n".join(failures))
sys.exit(1 if failures else 0)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="address-space caps and /proc are Linux's")
def test_every_crash_ever_found_stays_fixed_within_the_memory_bound():
    assert REGRESSIONS, "no regression cases found"
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", _REPLAY, str(ROOT / "fuzz"), *map(str, REGRESSIONS)],
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
