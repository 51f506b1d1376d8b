"""The safetensors container as a hostile file may bend it (issue 9): every malformed container is a
ModelFileError at once, before anything is allocated at a size it claims; and nnet's reader
agrees with the ``safetensors`` package's own parser, the independent oracle, on every container
both read (hypothesis: mutated valid containers)."""

from __future__ import annotations

import json
import os
import re
import struct
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nnet import limits
from nnet._safetensors import ModelFileError, read_safetensors, write_safetensors

safetensors = pytest.importorskip("safetensors")
from safetensors import safe_open  # noqa: E402

#: Each read here may cost this much memory (tracemalloc peak): none of these files holds more.
SMALL_PEAK = 4 * limits.MiB


def container(header: dict | None = None, data: bytes = b"", raw: bytes | None = None, length: int | None = None) -> bytes:
    text = raw if raw is not None else json.dumps(header).encode()
    return struct.pack("<Q", len(text) if length is None else length) + text + data


def entry(dtype="F32", shape=(2,), offsets=(0, 8)):
    return {"dtype": dtype, "shape": list(shape), "data_offsets": list(offsets)}


def peak_of(function, *args):
    """``(outcome, peak bytes)``: what ``function(*args)`` returned or raised, and its peak memory."""
    tracemalloc.start()
    try:
        try:
            outcome = function(*args)
        except Exception as error:  # noqa: BLE001 - the caller looks at which
            outcome = error
        return outcome, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


HOSTILE = {
    "a 10 GB claim on a 16-byte body": (
        container({"a": entry(shape=(2_500_000_000,), offsets=(0, 10_000_000_000))}, bytes(16)),
        r"tensor 'a': data_offsets \[0, 10000000000\] do not fit.*the data section has 16 bytes",
    ),
    "a header length of 2**40": (
        container(raw=b"{}", length=2**40),
        r"not a safetensors file, or truncated: the header claims 1099511627776 bytes but the file has 2",
    ),
    "a 5,000-digit integer": (
        container(raw=b'{"a":{"dtype":"F32","shape":[' + b"9" * 5000 + b'],"data_offsets":[0,4]}}', data=bytes(4)),
        r"is not valid JSON: an integer of 5000 digits; at most 20",
    ),
    "10,000 nested brackets": (container(raw=b"[" * 10_000 + b"]" * 10_000), "is not valid JSON: nested too deeply"),
    "10,000 nested objects": (container(raw=b'{"a":' * 10_000 + b"1" + b"}" * 10_000), "nested too deeply"),
    "overlapping offsets": (
        container({"a": entry(), "b": entry(offsets=(4, 12))}, bytes(12)),
        r"tensor 'b' starts at byte 4 of the data section; expected 8 \(gap or overlap\)",
    ),
    "the same bytes twice": (
        container({"a": entry(), "b": entry()}, bytes(8)),
        r"tensor 'b' starts at byte 0 of the data section; expected 8 \(gap or overlap\)",
    ),
    "shape [0, 10**30]": (container({"a": entry(shape=(0, 10**30), offsets=(0, 0))}), "an integer of 31 digits"),
    "shape [0, 2**62, 2**62]": (
        container({"a": entry(shape=(0, 2**62, 2**62), offsets=(0, 0))}),
        r"tensor 'a': data_offsets \[0, 0\] do not fit: shape \[0, 4611686018427387904, 4611686018427387904\]",
    ),
    "100 dimensions": (
        container({"a": entry(shape=(1,) * 100, offsets=(0, 4))}, bytes(4)),
        r"tensor 'a': shape has 100 dimensions; at most 8 \(nnet.limits.MAX_TENSOR_DIMENSIONS\)",
    ),
    "a negative offset": (container({"a": entry(offsets=(-8, 0))}, bytes(8)), "do not fit"),
    "NaN in the header": (container(raw=b'{"a": NaN}'), "NaN is not a JSON number"),
    "a header not in UTF-8": (container(raw=b'{"\xff": 1}'), "is not valid JSON: 'utf-8' codec can't decode"),
    "a tensor entry with more keys": (
        container({"a": {**entry(), "code": "import os"}}, bytes(8)),
        r"tensor 'a': expected \{dtype, shape, data_offsets\}",
    ),
    "a name of a million characters": (
        container({"x" * 1_000_000: entry(dtype="BF16")}, bytes(8)),
        r"tensor 'xxxx.*\.\.\.x': dtype 'BF16' is not one of",
    ),
}


@pytest.mark.parametrize("case", HOSTILE)
def test_a_malformed_container_is_refused_at_once(tmp_path, case):
    blob, problem = HOSTILE[case]
    path = tmp_path / "hostile.safetensors"
    path.write_bytes(blob)
    outcome, peak = peak_of(read_safetensors, path)
    assert isinstance(outcome, ModelFileError), outcome
    assert str(outcome).startswith(f"{path}: ")
    assert len(str(outcome)) < 400 and "\n" not in str(outcome)  # one line, whatever the file holds
    assert re.search(problem, str(outcome)), f"{problem!r} not in {outcome}"
    assert peak < SMALL_PEAK + 3 * len(blob), f"{case}: {peak:,} bytes for a {len(blob):,}-byte file"


def test_a_header_over_the_bound_is_refused_before_it_is_read(tmp_path):
    """Finding 10: a header may claim up to the bound and no more (the old bound, 100 MB, let a
    42 MB file cost 1 GB of parsed JSON before it was refused)."""
    path = tmp_path / "big-header.safetensors"
    text = json.dumps({"__metadata__": {"nnet": "x" * limits.MAX_HEADER_BYTES}}).encode()
    path.write_bytes(container(raw=text))
    outcome, peak = peak_of(read_safetensors, path)
    assert isinstance(outcome, ModelFileError), outcome
    assert f"its header claims {len(text):,} bytes; a model's header is at most {limits.MAX_HEADER_BYTES:,}" in str(outcome)
    assert peak < limits.MiB  # only the 8-byte length was read


def test_a_header_at_the_bound_is_read(tmp_path):
    path = tmp_path / "full-header.safetensors"
    padding = limits.MAX_HEADER_BYTES - len(json.dumps({"__metadata__": {"nnet": ""}}))
    path.write_bytes(container({"__metadata__": {"nnet": "x" * padding}}))
    tensors, metadata = read_safetensors(path)
    assert tensors == {} and len(metadata["nnet"]) == padding


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="address-space caps and /proc are Linux's")
def test_the_costliest_header_within_the_bound_stays_within_the_memory_bound(tmp_path):
    """[{}, {}, ...] is what Python's json turns into the most memory per byte (~26 times): read
    in a child whose address space may grow by MAX_MEMORY_FOR_SMALL_FILES at most, it must still
    end in the model-file error, not a MemoryError."""
    body = b'{"a":[' + b"{}," * ((limits.MAX_HEADER_BYTES - 16) // 3)
    body = body.rstrip(b",") + b"]}"
    path = tmp_path / "costly.safetensors"
    path.write_bytes(container(raw=body + b" " * (limits.MAX_HEADER_BYTES - len(body))))
    child = (
        "import resource, sys\n"
        "from nnet import limits\n"
        "from nnet._safetensors import ModelFileError, read_safetensors\n"
        "size = next(int(l.split()[1]) * 1024 for l in open('/proc/self/status') if l.startswith('VmSize:'))\n"
        "cap = size + limits.MAX_MEMORY_FOR_SMALL_FILES\n"
        "resource.setrlimit(resource.RLIMIT_AS, (cap, cap))\n"
        "try:\n    read_safetensors(sys.argv[1])\nexcept ModelFileError as error:\n    print(error)\n"
    )
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    done = subprocess.run([sys.executable, "-c", child, str(path)], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0 and "expected {dtype, shape, data_offsets}" in done.stdout, done.stderr[-2000:]


def test_the_writer_refuses_a_header_readers_would_refuse(tmp_path):
    path = tmp_path / "m.safetensors"
    with pytest.raises(ValueError, match=rf"header would be [\d,]+ bytes; model files hold at most {limits.MAX_HEADER_BYTES:,}"):
        write_safetensors(path, {"a": np.zeros(2, np.float32)}, {"nnet": "x" * limits.MAX_HEADER_BYTES})
    assert not path.exists()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_pipe_or_a_device_is_not_read(tmp_path):
    pipe = tmp_path / "pipe.safetensors"
    os.mkfifo(pipe)
    # opening a FIFO for reading blocks until a writer comes: give it one that never writes
    writer = os.open(pipe, os.O_RDWR | os.O_NONBLOCK)
    try:
        with pytest.raises(ModelFileError, match="not a regular file"):
            read_safetensors(pipe)
    finally:
        os.close(writer)
    if os.path.exists("/dev/zero"):
        with pytest.raises(ModelFileError, match="not a regular file"):
            read_safetensors("/dev/zero")


def test_tensors_are_new_writable_arrays_in_native_order(tmp_path):
    path = tmp_path / "m.safetensors"
    stored = {"b": np.arange(3, dtype=">f8"), "a": np.arange(6, dtype=np.float32).reshape(2, 3), "u": np.arange(5, dtype=np.uint8)}
    write_safetensors(path, stored, {"k": "v"})
    tensors, metadata = read_safetensors(path)
    assert metadata == {"k": "v"}
    for name, array in stored.items():
        assert tensors[name].dtype == array.dtype.newbyteorder("=") and tensors[name].dtype.isnative
        np.testing.assert_array_equal(tensors[name], array)
        assert tensors[name].flags.writeable and tensors[name].flags.c_contiguous and tensors[name].flags.aligned


# -- the safetensors package as the oracle ----------------------------------------------------

DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "U8": np.uint8}


@st.composite
def valid_containers(draw) -> tuple[dict, dict[str, str]]:
    names = draw(st.lists(st.text(min_size=1, max_size=8), max_size=4, unique=True).filter(lambda n: "__metadata__" not in n))
    tensors = {}
    for name in names:
        code = draw(st.sampled_from(sorted(DTYPES)))
        shape = tuple(draw(st.lists(st.integers(0, 4), max_size=3)))
        values = np.random.default_rng(draw(st.integers(0, 2**16))).integers(0, 200, size=shape)
        tensors[name] = values.astype(DTYPES[code])
    metadata = draw(st.dictionaries(st.text(max_size=5), st.text(max_size=10), max_size=3))
    return tensors, metadata


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)


@st.composite
def mutated_containers(draw) -> bytes:
    tensors, metadata = draw(valid_containers())
    header: dict = {"__metadata__": metadata} if metadata or draw(st.booleans()) else {}
    offset, data = 0, b""
    for name, array in tensors.items():
        code = {np.dtype(v): k for k, v in DTYPES.items()}[array.dtype]
        raw = array.astype(array.dtype.newbyteorder("<")).tobytes()
        header[name] = entry(code, array.shape, (offset, offset + len(raw)))
        offset, data = offset + len(raw), data + raw
    edits = draw(st.lists(st.sampled_from(["value", "shape", "offset", "dtype", "drop", "add", "data", "length"]), max_size=3))
    length = None
    for edit in edits:
        names = [name for name in header if name != "__metadata__"]
        entries = [name for name in names if isinstance(header[name], dict) and set(header[name]) == {"dtype", "shape", "data_offsets"}]
        if edit == "data":
            cut = draw(st.integers(0, len(data) + 4))
            data = data[:cut] + draw(st.binary(max_size=8))
        elif edit == "length":
            length = draw(st.integers(0, 2**64 - 1))
        elif edit == "add":
            header[draw(st.text(max_size=4))] = draw(JSON_VALUES)
        elif edit in ("drop", "value") and names:
            name = draw(st.sampled_from(names))
            if edit == "drop":
                del header[name]
            else:
                header[name] = draw(JSON_VALUES)
        elif entries:
            name = draw(st.sampled_from(entries))
            if edit == "dtype":
                header[name]["dtype"] = draw(st.sampled_from(["F16", "BF16", "I32", "BOOL", "F32", "U8", 3]))
            elif edit == "shape":
                header[name]["shape"] = draw(st.lists(st.integers(0, 2**64 - 1) | st.integers(-3, 9), max_size=9))
            else:
                header[name]["data_offsets"][draw(st.integers(0, 1))] = draw(st.integers(-4, offset + 8) | st.integers(0, 2**64))
    return container(header, data, length=length)


def package_reads(path):
    """The package's reading: ``(tensors, metadata)``, or None if it refuses the file."""
    try:
        with safe_open(str(path), "np") as file:
            return {name: file.get_tensor(name) for name in file.keys()}, file.metadata() or {}
    except Exception:  # noqa: BLE001 - the package refuses in its own ways (SafetensorError, NumPy's ValueError)
        return None


@settings(max_examples=int(os.environ.get("NNET_FUZZ_EXAMPLES", "300")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(blob=mutated_containers())
def test_nnet_reads_a_container_only_as_the_package_does(tmp_path_factory, blob):
    """Whatever nnet reads, the package reads the same; whatever the package refuses, nnet refuses
    (nnet refuses more: other dtypes, more than 8 dimensions, extra keys)."""
    path = tmp_path_factory.mktemp("mutated") / "m.safetensors"
    path.write_bytes(blob)
    try:
        ours = read_safetensors(path)
    except ModelFileError:
        ours = None
    theirs = package_reads(path)
    if ours is None:
        return
    assert theirs is not None, f"nnet read what the package refuses: {blob[:200]!r}"
    (our_tensors, our_metadata), (their_tensors, their_metadata) = ours, theirs
    assert our_metadata == their_metadata
    assert sorted(our_tensors) == sorted(their_tensors)
    for name, array in our_tensors.items():
        assert array.dtype == their_tensors[name].dtype and array.shape == their_tensors[name].shape
        assert array.tobytes() == their_tensors[name].tobytes()


@settings(max_examples=100, deadline=None)
@given(contents=valid_containers())
def test_every_valid_container_round_trips_and_the_package_agrees(tmp_path_factory, contents):
    tensors, metadata = contents
    path = tmp_path_factory.mktemp("valid") / "m.safetensors"
    write_safetensors(path, tensors, metadata)
    read, meta = read_safetensors(path)
    assert meta == metadata and sorted(read) == sorted(tensors)
    theirs = package_reads(path)
    assert theirs is not None and theirs[1] == metadata
    for name, array in tensors.items():
        np.testing.assert_array_equal(read[name], array)
        np.testing.assert_array_equal(theirs[0][name], array)
