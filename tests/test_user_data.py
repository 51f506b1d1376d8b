"""Bring-your-own data: CSV, npz and image folders, with the errors users will meet."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from PIL import Image

from nnet.data import split_validation
from nnet.datasets import DataFormatError, load_csv, load_image_folder, load_npz
from nnet.datasets.local import SPLIT_SEED, split_test

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
            r"row 1 of y: label 1\.5 is not an integer",
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


# --- damaged archives ------------------------------------------------------------------------


def test_a_damaged_npz_is_a_data_format_error_naming_the_file(tmp_path, digits):
    x, y = digits
    np.savez_compressed(tmp_path / "good.npz", x=x, y=y)
    blob = (tmp_path / "good.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(blob[: len(blob) // 2])  # a truncated zip
    (tmp_path / "garbage.npz").write_bytes(b"PK\x03\x04" + bytes(200))
    flipped = bytearray(blob)
    member = blob.index(b"x.npy") + 40  # inside the compressed bytes of x
    flipped[member : member + 20] = bytes(20)
    (tmp_path / "flipped.npz").write_bytes(bytes(flipped))
    for name in ("cut.npz", "garbage.npz", "flipped.npz"):
        with pytest.raises(DataFormatError, match=rf"{name}: cannot read as \.npz"):
            load_npz(tmp_path / name)


def test_a_csv_that_is_not_utf8_text_is_a_data_format_error(tmp_path):
    (tmp_path / "latin.csv").write_bytes(b"label,pixel0\n\xff\xfe,1\n")
    with pytest.raises(DataFormatError, match=r"latin\.csv: not a text file in UTF-8"):
        load_csv(tmp_path / "latin.csv")


# --- arrays you already hold -----------------------------------------------------------------


def test_arrays_to_dataset_follows_the_loaders_rules(digits):
    from nnet.datasets import arrays_to_dataset

    x, y = digits
    got_x, got_y, names = arrays_to_dataset((x / 255.0).reshape(6, 28, 28), y.astype(np.float64))
    np.testing.assert_array_equal(got_x, x)
    assert got_y.dtype == np.int64 and names == tuple("01234567")
    _, _, names = arrays_to_dataset(x, y, [f"c{i}" for i in range(8)])
    assert names[7] == "c7"
    with pytest.raises(DataFormatError, match=r"mine\.npz, row 2 of y_train: label -1 is not an integer >= 0"):
        arrays_to_dataset(x[:3], np.array([0, 1, -1]), source="mine.npz", names=("x_train", "y_train"))
    with pytest.raises(DataFormatError, match=r"expected x_test of shape \(n, 784\)"):
        arrays_to_dataset(x[:, :100], y, names=("x_test", "y_test"))


# --- a dataset given as a path ---------------------------------------------------------------


def test_load_path_reads_each_form_and_says_how_it_split(tmp_path, image_folder):
    from nnet.datasets import load_path

    rng = np.random.default_rng(3)
    x, y = rng.integers(0, 256, size=(40, N_PIXELS), dtype=np.uint8), np.arange(40) % 4
    np.savez(tmp_path / "xy.npz", x=x, y=y)
    loaded = load_path(tmp_path / "xy.npz")
    assert loaded.kind == "npz" and loaded.note == "a seeded, stratified 10% of its rows is the test set (4 of 40)"
    (train_rows, _), (test_rows, _) = split_validation(np.arange(40), y, 4, seed=SPLIT_SEED)  # the one rule
    np.testing.assert_array_equal(loaded.test[0], x[test_rows])
    np.testing.assert_array_equal(loaded.train[1], y[train_rows])
    assert sorted(loaded.test[1].tolist()) == [0, 1, 2, 3]  # one of each class of ten

    np.savez(tmp_path / "split.npz", x_train=x[:30], y_train=y[:30], x_test=x[30:], y_test=y[30:] * 2)
    loaded = load_path(tmp_path / "split.npz")
    assert loaded.note is None and loaded.class_names == tuple("0123456") and len(loaded.test[0]) == 10

    (tmp_path / "rows.csv").write_text(csv_text(np.column_stack([y, x])))
    loaded = load_path(tmp_path / "rows.csv")
    assert loaded.kind == "csv" and len(loaded.train[0]) == 36 and loaded.image_shape == (28, 28)
    np.testing.assert_array_equal(loaded.test[0], x[test_rows])

    root, _ = image_folder
    loaded = load_path(root)  # cat: 3 images, dog: 2 -> 10% of 5, at least one, held out
    assert loaded.kind == "images" and loaded.class_names == ("cat", "dog")
    assert len(loaded.test[1]) == 1 and len(loaded.train[0]) == 4

    with pytest.raises(DataFormatError, match=r"a dataset file must be an \.npz archive or a \.csv"):
        (tmp_path / "notes.txt").write_text("hi")
        load_path(tmp_path / "notes.txt")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataFormatError, match=r"neither a dataset folder of the four IDX files"):
        load_path(tmp_path / "empty")
    with pytest.raises(FileNotFoundError):
        load_path(tmp_path / "nowhere")


def test_the_test_split_holds_out_a_tenth_of_every_class_the_same_way_each_time():
    y = np.repeat(np.arange(5), [20, 20, 30, 10, 1])  # sorted by class, as an image folder or a CSV may come
    x = np.arange(len(y))[:, None]
    (x_train, y_train), (x_test, y_test) = split_test(x, y)
    assert np.bincount(y_test, minlength=5).tolist() == [2, 2, 3, 1, 0]  # each class its share; a lone row trains
    assert sorted(np.concatenate([x_train, x_test]).ravel().tolist()) == list(range(len(y)))
    (_, _), (again, _) = split_test(x, y)
    np.testing.assert_array_equal(again, x_test)  # seeded: evaluate later finds the same test set
    (_, _), (other, _) = split_test(x, y, seed=SPLIT_SEED + 1)
    assert not np.array_equal(other, x_test)
    (_, validation_labels) = split_validation(x_train, y_train, 0.1)[1]
    assert set(validation_labels.tolist()) == {0, 1, 2, 3}  # a validation cut of the training rows mixes classes
    (_, _), (values, _) = split_test(x, y.astype(float), task="regression")  # not stratified: any 8 rows
    assert len(values) == 8
    with pytest.raises(DataFormatError, match=r"1 rows are too few to hold out 10% of them as a test set"):
        split_test(x[:1], np.array([0]))


# --- one rule for image files, shared with nnet.images ---------------------------------------


def test_one_extension_list_for_image_folders_and_load_images(tmp_path, monkeypatch):
    from nnet import datasets, images

    stroke = np.zeros((28, 28), np.uint8)
    stroke[6:22, 12:16] = 255  # a "1": something for nnet.images to read
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        save_image(tmp_path / name / "x.png", stroke)
        save_image(tmp_path / name / "y.bmp", stroke)
    assert len(load_image_folder(tmp_path)[0]) == 4
    assert len(images.load_images(tmp_path / "a")[0]) == 2
    monkeypatch.setattr(datasets.image_folder, "IMAGE_EXTENSIONS", frozenset({".png"}))
    assert len(load_image_folder(tmp_path)[0]) == 2
    assert [f.name for f in images.load_images(tmp_path / "a")[1]] == ["x.png"]
