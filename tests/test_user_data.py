"""Bring-your-own data: CSV, npz and image folders, with the errors users will meet."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from PIL import Image

from nnet.datasets import DataFormatError, load_csv, load_image_folder, load_npz

N_PIXELS = 784


@pytest.fixture
def digits():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, size=(6, N_PIXELS), dtype=np.uint8)
    y = np.array([3, 0, 7, 7, 1, 2])
    return x, y


def csv_text(rows, header: str | None = None) -> str:
    lines = [header] if header is not None else []
    lines += [",".join(str(v) for v in row) for row in rows]
    return "\n".join(lines) + "\n"


KAGGLE_HEADER = "label," + ",".join(f"pixel{i}" for i in range(N_PIXELS))


# --- CSV -------------------------------------------------------------------------------------


def test_csv_with_kaggle_header(tmp_path, digits):
    x, y = digits
    file = tmp_path / "train.csv"
    file.write_text(csv_text(np.column_stack([y, x]), KAGGLE_HEADER))
    got_x, got_y, names = load_csv(file)
    assert got_x.dtype == np.uint8 and got_x.shape == (6, N_PIXELS) and got_x.flags.c_contiguous
    assert got_y.dtype == np.int64
    np.testing.assert_array_equal(got_x, x)
    np.testing.assert_array_equal(got_y, y)
    assert names == tuple("01234567")


def test_csv_label_column_by_name_anywhere(tmp_path, digits):
    x, y = digits
    header = ",".join(f"p{i}" for i in range(N_PIXELS)) + ",digit"
    file = tmp_path / "last.csv"
    file.write_text(csv_text(np.column_stack([x, y]), header))
    got_x, got_y, _ = load_csv(file, label_column="digit")
    np.testing.assert_array_equal(got_x, x)
    np.testing.assert_array_equal(got_y, y)
    middle = tmp_path / "middle.csv"
    header = ",".join(["p0", "label"] + [f"p{i}" for i in range(1, N_PIXELS)])
    middle.write_text(csv_text(np.column_stack([x[:, :1], y, x[:, 1:]]), header))
    got_x, got_y, _ = load_csv(middle)
    np.testing.assert_array_equal(got_x, x)
    np.testing.assert_array_equal(got_y, y)


def test_csv_headerless_label_first_and_blank_lines(tmp_path, digits):
    x, y = digits
    file = tmp_path / "plain.csv"
    file.write_text("\n" + csv_text(np.column_stack([y, x])).replace("\n", "\n\n", 1))
    got_x, got_y, names = load_csv(file)
    np.testing.assert_array_equal(got_x, x)
    np.testing.assert_array_equal(got_y, y)
    last = tmp_path / "last.csv"
    last.write_text(csv_text(np.column_stack([x, y])))
    np.testing.assert_array_equal(load_csv(last, label_column=-1)[1], y)


def test_csv_float_pixels_in_unit_range_are_scaled(tmp_path, digits):
    x, y = digits
    file = tmp_path / "unit.csv"
    file.write_text(csv_text(np.column_stack([y, x / 255.0])))
    np.testing.assert_array_equal(load_csv(file)[0], x)
    halves = tmp_path / "halves.csv"
    halves.write_text(csv_text([[1] + [100.4] * N_PIXELS, [0] + [254.6] * N_PIXELS]))
    assert load_csv(halves)[0][:, 0].tolist() == [100, 255]


def test_csv_ragged_line_is_named(tmp_path, digits):
    x, y = digits
    rows = csv_text(np.column_stack([y, x]), KAGGLE_HEADER).splitlines()
    rows[3] = rows[3].rsplit(",", 1)[0]  # line 4 loses its last pixel
    file = tmp_path / "ragged.csv"
    file.write_text("\n".join(rows))
    with pytest.raises(
        DataFormatError,
        match=r"ragged\.csv, line 4: ragged row: expected 785 "
        r"fields like line 1, got 784",
    ):
        load_csv(file)


@pytest.mark.parametrize(
    ("label", "message"),
    [
        ("cat", r"line 3, column 1: expected a number, got 'cat'"),
        ("2.5", r"line 3: label 2\.5 is not an integer >= 0"),
        ("-1", r"line 3: label -1\.0 is not an integer >= 0"),
        ("nan", r"line 3: label nan is not an integer >= 0"),
    ],
)
def test_csv_bad_labels(tmp_path, digits, label, message):
    x, y = digits
    rows = csv_text(np.column_stack([y, x]), KAGGLE_HEADER).splitlines()
    rows[2] = label + rows[2][rows[2].index(",") :]
    file = tmp_path / "labels.csv"
    file.write_text("\n".join(rows))
    with pytest.raises(DataFormatError, match=message):
        load_csv(file)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("300", r"line 2: pixel 5 is 300\.0; integer pixels must lie in 0\.\.255"),
        ("-3.5", r"line 2: pixel 5 is -3\.5; float pixels must all lie in \[0, 1\]"),
        ("nan", r"line 2: pixel 5 is nan; expected finite numbers"),
        ("x7", r"line 2, column 7: expected a number, got 'x7'"),
    ],
)
def test_csv_bad_pixels_name_the_line(tmp_path, digits, value, message):
    x, y = digits
    cells = np.column_stack([y, x]).astype(str)
    cells[0, 6] = value
    file = tmp_path / "pixels.csv"
    file.write_text(csv_text(cells, KAGGLE_HEADER))
    with pytest.raises(DataFormatError, match=message):
        load_csv(file)


def test_csv_shape_and_header_errors(tmp_path):
    narrow = tmp_path / "narrow.csv"
    narrow.write_text(csv_text([[1] + [0] * 100]))
    with pytest.raises(
        DataFormatError,
        match=r"line 1: expected 785 columns \(a label and 784 "
        r"pixels, 28x28\), got 101",
    ):
        load_csv(narrow)
    unlabelled = tmp_path / "test.csv"  # Kaggle's test.csv has no label column
    unlabelled.write_text(",".join(f"pixel{i}" for i in range(785)) + "\n" + "0," * 784 + "0\n")
    with pytest.raises(
        DataFormatError,
        match=r"no column named 'label' in the header; its "
        r"columns are pixel0, pixel1",
    ):
        load_csv(unlabelled)
    empty = tmp_path / "empty.csv"
    empty.write_text("\n\n")
    with pytest.raises(DataFormatError, match=r"the file is empty"):
        load_csv(empty)
    header_only = tmp_path / "header.csv"
    header_only.write_text(KAGGLE_HEADER + "\n")
    with pytest.raises(DataFormatError, match=r"a header but no data lines"):
        load_csv(header_only)


# --- npz -------------------------------------------------------------------------------------


def test_npz_flat_uint8_and_square_float(tmp_path, digits):
    x, y = digits
    np.savez(tmp_path / "flat.npz", x=x, y=y)
    got_x, got_y, names = load_npz(tmp_path / "flat.npz")
    np.testing.assert_array_equal(got_x, x)
    assert got_y.dtype == np.int64 and got_y.tolist() == y.tolist()
    assert names == tuple("01234567")
    np.savez(
        tmp_path / "square.npz",
        x=(x / 255.0).reshape(6, 28, 28).astype(np.float32),
        y=y.astype(np.uint8),
        class_names=np.array([f"c{i}" for i in range(8)]),
    )
    got_x, got_y, names = load_npz(tmp_path / "square.npz")
    assert got_x.shape == (6, N_PIXELS) and got_x.dtype == np.uint8
    np.testing.assert_array_equal(got_x, x)
    assert names[7] == "c7" and len(names) == 8


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"x": np.zeros((2, 784))}, r"expected arrays 'x' and 'y', missing y; the archive holds x"),
        (
            {"x": np.zeros((2, 30, 30)), "y": np.zeros(2, int)},
            r"expected x of shape \(n, 784\) "
            r"or \(n, 28, 28\), got \(2, 30, 30\)",
        ),
        ({"x": np.zeros((2, 784)), "y": np.zeros(3, int)}, r"expected y of shape \(2,\)"),
        ({"x": np.full((2, 784), np.nan), "y": np.zeros(2, int)}, r"row 0 of x: pixel 0 is nan"),
        (
            {"x": np.zeros((3, 784), int) + [[0], [0], [256]], "y": np.zeros(3, int)},
            r"row 2 of x: pixel 0 is 256; integer pixels must lie in 0\.\.255",
        ),
        (
            {"x": np.zeros((2, 784)), "y": np.array([0.0, 1.5])},
            r"row 1: label 1\.5 is not an integer",
        ),
        ({"x": np.zeros((2, 784), bool), "y": np.zeros(2, int)}, r"expected numeric pixels"),
        ({"x": np.zeros((0, 784)), "y": np.zeros(0, int)}, r"no images"),
        (
            {"x": np.zeros((2, 784)), "y": np.array([0, 3]), "class_names": np.array(["a", "b"])},
            r"2 class_names but labels go up to 3",
        ),
    ],
)
def test_npz_errors(tmp_path, arrays, message):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DataFormatError, match=message):
        load_npz(tmp_path / "bad.npz")


def test_npz_never_unpickles(tmp_path):
    np.savez(tmp_path / "pickled.npz", x=np.array([object()] * 2, dtype=object), y=np.zeros(2))
    with pytest.raises(DataFormatError, match=r"allow_pickle=False"):
        load_npz(tmp_path / "pickled.npz")
    np.save(tmp_path / "single.npy", np.zeros(3))
    with pytest.raises(DataFormatError, match=r"got one array"):
        load_npz(tmp_path / "single.npy")


# --- image folders ---------------------------------------------------------------------------


def save_image(path, pixels: np.ndarray, mode: str = "L") -> None:
    image = Image.fromarray(pixels)
    (image.convert(mode) if mode != "L" else image).save(path)


@pytest.fixture
def image_folder(tmp_path):
    rng = np.random.default_rng(2)
    root = tmp_path / "pets"
    expected = {}
    for class_name, count in (("dog", 2), ("cat", 3)):
        (root / class_name).mkdir(parents=True)
        for i in range(count):
            pixels = rng.integers(0, 256, size=(28, 28), dtype=np.uint8)
            save_image(root / class_name / f"{i:02d}.png", pixels)
            expected[(class_name, i)] = pixels.reshape(-1)
    (root / "cat" / "README.txt").write_text("not an image")
    (root / "cat" / ".hidden.png").write_bytes(b"junk")
    (root / ".git").mkdir()
    return root, expected


def test_image_folder_sorted_classes_and_pixels(image_folder):
    root, expected = image_folder
    x, y, names = load_image_folder(root)
    assert names == ("cat", "dog")
    assert x.shape == (5, N_PIXELS) and x.dtype == np.uint8
    assert y.dtype == np.int64 and y.tolist() == [0, 0, 0, 1, 1]
    np.testing.assert_array_equal(x[0], expected[("cat", 0)])
    np.testing.assert_array_equal(x[4], expected[("dog", 1)])
    inverted, _, _ = load_image_folder(root, invert=True)
    np.testing.assert_array_equal(inverted, 255 - x)


def test_image_folder_converts_colour_to_grayscale(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    rgb = np.zeros((28, 28, 3), dtype=np.uint8)
    rgb[..., 0] = 200  # pure red: luma 0.299 * 200 = 59.8
    Image.fromarray(rgb).save(tmp_path / "a" / "red.png")
    Image.fromarray(np.full((28, 28), 9, np.uint8)).convert("RGBA").save(tmp_path / "b" / "x.png")
    x, y, _ = load_image_folder(tmp_path)
    assert abs(int(x[0, 0]) - 60) <= 1 and x[1, 0] == 9


def test_image_folder_wrong_size_says_to_preprocess(image_folder):
    root, _ = image_folder
    save_image(root / "dog" / "big.png", np.zeros((28, 30), np.uint8))
    with pytest.raises(
        DataFormatError,
        match=r"big\.png: the image is 30x28 pixels; expected "
        r"28x28\. Preprocess it first",
    ):
        load_image_folder(root)


def test_image_folder_errors(tmp_path, image_folder):
    root, _ = image_folder
    (root / "empty").mkdir()
    with pytest.raises(DataFormatError, match=r"class 'empty' holds no images"):
        load_image_folder(root)
    (root / "empty" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(DataFormatError, match=r"broken\.png: cannot read as an image"):
        load_image_folder(root)
    (tmp_path / "flat").mkdir()
    with pytest.raises(DataFormatError, match=r"no class subfolders"):
        load_image_folder(tmp_path / "flat")
    with pytest.raises(DataFormatError, match=r"expected a folder"):
        load_image_folder(tmp_path / "missing")


def test_image_folder_without_pillow_says_how_to_install(image_folder, monkeypatch):
    root, _ = image_folder
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(ImportError, match=r'pip install "nnet\[images\]"'):
        load_image_folder(root)
