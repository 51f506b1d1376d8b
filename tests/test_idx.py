"""IDX reader and writer: exact bytes, round trips, gzip, and every kind of bad file."""

from __future__ import annotations

import gzip
import io
import struct
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import nnet.datasets.idx as idx_module
from nnet.datasets import IDXError, read_idx, read_idx_pair, write_idx

DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]
SHAPES = [(0,), (1,), (7,), (3, 4), (2, 3, 5), (2, 1, 3, 2)]


def header(code: int, *shape: int) -> bytes:
    return struct.pack(f">BBBB{len(shape)}I", 0, 0, code, len(shape), *shape)


def same_array(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal dtype, shape and bits (so NaNs compare equal to themselves)."""
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


class OnlyRead:
    """A stream that can only read(): no seek, tell, peek or readinto."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def read(self, size: int = -1) -> bytes:
        return self._data.read(size)


# --- exact bytes on disk ---------------------------------------------------------------------


def test_write_uint8_gives_the_documented_layout(tmp_path):
    file = write_idx(tmp_path / "a.idx", np.array([1, 2, 3], dtype=np.uint8))
    assert file.read_bytes() == b"\x00\x00\x08\x01\x00\x00\x00\x03\x01\x02\x03"


def test_write_int32_is_big_endian_whatever_the_input_byte_order(tmp_path):
    expected = header(0x0C, 2, 1) + struct.pack(">ii", 1, -2)
    little = np.array([[1], [-2]], dtype="<i4")
    big = np.array([[1], [-2]], dtype=">i4")
    assert write_idx(tmp_path / "little", little).read_bytes() == expected
    assert write_idx(tmp_path / "big", big).read_bytes() == expected


def test_read_hand_built_float32_file_into_native_order(tmp_path):
    file = tmp_path / "f.idx"
    file.write_bytes(header(0x0D, 3) + struct.pack(">3f", 1.5, -2.0, 0.25))
    array = read_idx(file)
    assert array.dtype == np.float32 and array.dtype.isnative
    np.testing.assert_array_equal(array, [1.5, -2.0, 0.25])


# --- round trips -----------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_round_trip_every_dtype_and_shape(tmp_path, dtype, shape, suffix):
    rng = np.random.default_rng(0)
    info = np.iinfo(dtype) if np.dtype(dtype).kind in "ui" else None
    if info is not None:
        array = rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)
    else:
        array = (rng.standard_normal(shape) * 1e3).astype(dtype)
    back = read_idx(write_idx(tmp_path / f"a.idx{suffix}", array))
    assert same_array(back, array)
    assert back.dtype.isnative and back.flags.c_contiguous and back.flags.writeable


@settings(max_examples=60, deadline=None)
@given(
    array=hnp.arrays(
        dtype=st.sampled_from(DTYPES),
        shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=6),
    ),
    compressed=st.booleans(),
)
def test_property_read_of_write_is_identity(array, compressed):
    with tempfile.TemporaryDirectory() as folder:
        file = write_idx(Path(folder) / ("a.gz" if compressed else "a.idx"), array)
        assert same_array(read_idx(file), array)


def test_gzip_is_detected_by_magic_bytes_not_by_name(tmp_path):
    array = np.arange(24, dtype=np.int16).reshape(2, 3, 4)
    gz_named_plain = tmp_path / "looks-raw.idx"
    gz_named_plain.write_bytes(gzip.compress(header(0x0B, 2, 3, 4) + array.astype(">i2").tobytes()))
    raw_named_gz = tmp_path / "looks-compressed.gz"
    raw_named_gz.write_bytes(header(0x0B, 2, 3, 4) + array.astype(">i2").tobytes())
    assert same_array(read_idx(gz_named_plain), array)
    assert same_array(read_idx(raw_named_gz), array)


def test_written_gz_really_is_gzip_and_reproducible(tmp_path):
    array = np.arange(100, dtype=np.uint8)
    first = write_idx(tmp_path / "a.gz", array).read_bytes()
    second = write_idx(tmp_path / "a.gz", array).read_bytes()  # no timestamp inside
    assert first[:2] == b"\x1f\x8b" and first == second
    assert gzip.decompress(first) == header(0x08, 100) + array.tobytes()


@pytest.mark.parametrize("compressed", [False, True])
def test_read_from_file_objects_seekable_or_not(compressed):
    array = np.arange(12, dtype=np.float64).reshape(3, 4)
    data = header(0x0E, 3, 4) + array.astype(">f8").tobytes()
    if compressed:
        data = gzip.compress(data)
    assert same_array(read_idx(io.BytesIO(data)), array)
    assert same_array(read_idx(OnlyRead(data)), array)


def test_multi_member_gzip_is_read_whole():
    array = np.arange(40, dtype=np.int32)
    data = header(0x0C, 40) + array.astype(">i4").tobytes()
    members = gzip.compress(data[:13]) + gzip.compress(data[13:])
    assert same_array(read_idx(io.BytesIO(members)), array)


def test_uint8_stays_uint8(tmp_path):
    array = np.full((5, 28, 28), 255, dtype=np.uint8)
    assert read_idx(write_idx(tmp_path / "x.gz", array)).dtype == np.uint8


def test_write_is_atomic_a_failure_keeps_the_old_file(tmp_path, monkeypatch):
    target = write_idx(tmp_path / "a.gz", np.zeros(3, dtype=np.uint8))
    before = target.read_bytes()

    class BrokenGzip(gzip.GzipFile):
        def write(self, data):
            raise OSError("disk full")

    monkeypatch.setattr(idx_module.gzip, "GzipFile", BrokenGzip)
    with pytest.raises(OSError, match="disk full"):
        write_idx(target, np.ones(3, dtype=np.uint8))
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.gz"]


# --- bad files -------------------------------------------------------------------------------


def write_raw(tmp_path: Path, data: bytes, name: str = "bad.idx") -> Path:
    file = tmp_path / name
    file.write_bytes(data)
    return file


def test_wrong_magic(tmp_path):
    file = write_raw(tmp_path, b"\x01\x00\x08\x01\x00\x00\x00\x01\x05")
    with pytest.raises(
        IDXError,
        match=r"bad\.idx: not an IDX file: expected the magic bytes "
        r"0x00 0x00 at byte offset 0, got 0x01 0x00",
    ):
        read_idx(file)


def test_unknown_type_code(tmp_path):
    file = write_raw(tmp_path, b"\x00\x00\x0a\x01\x00\x00\x00\x01\x05")
    with pytest.raises(
        IDXError,
        match=r"bad\.idx: unknown IDX element type code 0x0A at byte "
        r"offset 2; expected one of 0x08 \(uint8\)",
    ):
        read_idx(file)


def test_zero_dimensions(tmp_path):
    with pytest.raises(IDXError, match=r"zero dimensions at byte offset 3; expected 1 to 16"):
        read_idx(write_raw(tmp_path, b"\x00\x00\x08\x00"))


def test_too_many_dimensions(tmp_path):
    data = b"\x00\x00\x08\x11" + b"\x00\x00\x00\x01" * 17 + b"\x07"
    with pytest.raises(IDXError, match=r"too many dimensions \(17\) at byte offset 3"):
        read_idx(write_raw(tmp_path, data))


def test_empty_file_and_truncated_header(tmp_path):
    with pytest.raises(IDXError, match=r"the file is empty"):
        read_idx(write_raw(tmp_path, b""))
    with pytest.raises(
        IDXError, match=r"truncated header: expected 4 bytes at byte offset 0, got 3"
    ):
        read_idx(write_raw(tmp_path, b"\x00\x00\x08"))
    with pytest.raises(
        IDXError,
        match=r"truncated header: expected 12 bytes of dimension sizes "
        r"\(3 x uint32\) at byte offset 4, got 5",
    ):
        read_idx(write_raw(tmp_path, b"\x00\x00\x08\x03" + b"\x00" * 5))


def test_truncated_data_says_expected_and_got(tmp_path):
    data = header(0x0B, 2, 5) + b"\x00" * 13  # needs 2 * 5 * 2 = 20 bytes
    with pytest.raises(
        IDXError,
        match=r"truncated data: shape \(2, 5\) of int16 needs 20 data "
        r"bytes from byte offset 12, got 13",
    ):
        read_idx(write_raw(tmp_path, data))


def test_truncated_data_in_gzip(tmp_path):
    data = gzip.compress(header(0x08, 100) + bytes(60))
    with pytest.raises(
        IDXError,
        match=r"\(gzip; offsets count uncompressed bytes\): truncated "
        r"data: shape \(100,\) of uint8 needs 100 data bytes from byte offset 8, "
        r"got 60",
    ):
        read_idx(write_raw(tmp_path, data, "bad.gz"))


def test_dimension_sizes_that_disagree_with_the_byte_count(tmp_path):
    # a tiny gzip file cannot hold 4 GB of data: refuse before allocating it
    data = gzip.compress(header(0x08, 0xFFFF_FFFF) + bytes(10))
    with pytest.raises(
        IDXError,
        match=r"dimension sizes disagree with the byte count: shape "
        r"\(4294967295,\) of uint8 needs 4294967295 data bytes",
    ):
        read_idx(write_raw(tmp_path, data, "huge.gz"))
    with pytest.raises(IDXError, match=r"dimension sizes disagree with the byte count"):
        read_idx(write_raw(tmp_path, header(0x0C, 1000, 1000) + bytes(8)))


@pytest.mark.parametrize("compressed", [False, True])
def test_trailing_bytes(tmp_path, compressed):
    data = header(0x08, 4) + b"\x01\x02\x03\x04" + b"extra"
    if compressed:
        data = gzip.compress(data)
    file = write_raw(tmp_path, data, "bad.gz" if compressed else "bad.idx")
    with pytest.raises(
        IDXError,
        match=r"5 trailing bytes after the data: shape \(4,\) of uint8 "
        r"needs 4 data bytes from byte offset 8, ending at byte offset 12",
    ):
        read_idx(file)


def test_trailing_bytes_in_a_file_object_without_size():
    data = header(0x08, 2) + b"\x01\x02\x03"
    with pytest.raises(IDXError, match=r"<stream>: 1 trailing bytes after the data"):
        read_idx(OnlyRead(data))


def test_corrupt_and_cut_gzip(tmp_path):
    good = gzip.compress(header(0x08, 1000) + bytes(1000))
    corrupt = good[:12] + bytes(b ^ 0xFF for b in good[12:20]) + good[20:]
    with pytest.raises(IDXError, match=r"corrupt gzip data"):
        read_idx(write_raw(tmp_path, corrupt, "corrupt.gz"))
    with pytest.raises(IDXError, match=r"gzip stream is cut short after the data"):
        read_idx(write_raw(tmp_path, good[:-4], "cut.gz"))  # CRC present, length missing
    with pytest.raises(IDXError, match=r"unexpected bytes after the end of the gzip stream"):
        read_idx(write_raw(tmp_path, good + b"junk", "junk.gz"))


def test_label_and_image_counts_must_agree(tmp_path):
    images = write_idx(tmp_path / "images.gz", np.zeros((50, 28, 28), dtype=np.uint8))
    labels = write_idx(tmp_path / "labels.gz", np.zeros(49, dtype=np.uint8))
    with pytest.raises(
        IDXError,
        match=r"label count mismatch: .*labels\.gz holds 49 labels but "
        r".*images\.gz holds 50 images \(the first dimension, at byte offset 4",
    ):
        read_idx_pair(images, labels)
    good_labels = write_idx(tmp_path / "good.gz", np.zeros(50, dtype=np.uint8))
    x, y = read_idx_pair(images, good_labels)
    assert x.shape == (50, 28, 28) and y.shape == (50,)


def test_labels_must_be_one_dimensional(tmp_path):
    images = write_idx(tmp_path / "images.idx", np.zeros((4, 2, 2), dtype=np.uint8))
    labels = write_idx(tmp_path / "labels.idx", np.zeros((4, 1), dtype=np.uint8))
    with pytest.raises(
        IDXError,
        match=r"expected a label file with 1 dimension \(n,\), got "
        r"shape \(4, 1\)",
    ):
        read_idx_pair(images, labels)


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros(3, dtype=np.int64), r"cannot write an array of dtype int64 as IDX"),
        (np.zeros(3, dtype=bool), r"cannot write an array of dtype bool as IDX"),
        (np.zeros(3, dtype=np.uint16), r"cannot write an array of dtype uint16 as IDX"),
        (
            np.array(5, dtype=np.uint8),
            r"cannot write an array of 0 dimensions as IDX; expected 1 to 16",
        ),
        (np.zeros((1,) * 17, dtype=np.uint8), r"cannot write an array of 17 dimensions"),
    ],
)
def test_write_rejects_what_idx_cannot_hold(tmp_path, array, message):
    with pytest.raises(IDXError, match=message):
        write_idx(tmp_path / "a.idx", array)
    assert list(tmp_path.iterdir()) == []


def test_idx_error_is_a_value_error():
    assert issubclass(IDXError, ValueError)


def test_missing_file_is_an_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nope.idx")
