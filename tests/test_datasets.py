"""Shipped MNIST, the dataset registry, and downloads against a local HTTP server."""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
import struct

import numpy as np
import pytest
from _datasets_helpers import IDX_FILE_NAMES, FileServer, closed_port, make_tiny_dataset

import nnet.datasets.downloads as downloads_module
from nnet import datasets
from nnet.data import shuffled_split, split_generator
from nnet.datasets import (
    MNIST_CLASS_NAMES,
    DataFile,
    Dataset,
    DatasetError,
    DownloadError,
    UnknownDatasetError,
)
from nnet.datasets.checksums import read_sha256sums

TRAIN_IMAGES_CONTENT_SHA256 = "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"


# --- shipped MNIST ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mnist():
    return datasets.load_mnist()


def test_mnist_shapes_and_dtypes(mnist):
    (x_train, y_train), (x_test, y_test) = mnist
    assert x_train.shape == (60000, 784) and x_test.shape == (10000, 784)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert x_train.dtype == np.uint8 and x_test.dtype == np.uint8
    assert y_train.dtype == np.int64 and y_test.dtype == np.int64
    assert x_train.flags.c_contiguous and x_test.flags.c_contiguous


def test_mnist_labels_are_the_known_ones(mnist):
    (x_train, y_train), (x_test, y_test) = mnist
    assert y_train[:5].tolist() == [5, 0, 4, 1, 9]
    assert y_test[0] == 7
    assert set(np.unique(y_train).tolist()) == set(range(10))
    assert y_test.min() == 0 and y_test.max() == 9
    assert x_train.max() == 255 and x_train.min() == 0


def test_mnist_training_images_have_the_canonical_content(mnist):
    (x_train, _), _ = mnist
    content = struct.pack(">BBBB3I", 0, 0, 8, 3, 60000, 28, 28) + x_train.tobytes()
    assert hashlib.sha256(content).hexdigest() == TRAIN_IMAGES_CONTENT_SHA256


def test_mnist_class_names():
    assert tuple("0123456789") == MNIST_CLASS_NAMES
    assert datasets.info("mnist").class_names == MNIST_CLASS_NAMES


def test_load_by_name_matches_load_mnist(mnist):
    (x_train, y_train), (x_test, y_test) = datasets.load("MNIST")
    np.testing.assert_array_equal(x_test, mnist[1][0])
    np.testing.assert_array_equal(y_train, mnist[0][1])


@pytest.mark.parametrize("split", [10000, np.int64(10000), 1 / 6])
def test_mnist_validation_split_holds_back_a_seeded_stratified_draw(mnist, split):
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = datasets.load_mnist(split)
    assert x_train.shape == (50000, 784) and y_train.shape == (50000,)
    assert x_val.shape == (10000, 784) and y_val.shape == (10000,)
    assert x_test.shape == (10000, 784)
    x_all, y_all = mnist[0]
    kept, held = shuffled_split(60000, 10000, split_generator(0), y_all)  # the rule, seed 0
    np.testing.assert_array_equal(x_val, x_all[held])
    np.testing.assert_array_equal(y_val, y_all[held])
    np.testing.assert_array_equal(x_train, x_all[kept])
    np.testing.assert_array_equal(y_train, y_all[kept])
    assert held[-1] - held[0] > 50000  # drawn from the whole set, not its end
    counts, held_counts = np.bincount(y_all, minlength=10), np.bincount(y_val, minlength=10)
    assert np.all(np.abs(held_counts - counts / 6) <= 1)  # every class in its share
    assert x_train.flags.c_contiguous and x_val.flags.c_contiguous


@pytest.mark.parametrize(
    ("split", "message"),
    [
        (0, r"an int >= 1 \(a count of rows\).*got 0"),
        (60000, r"an int in \[1, 59999\] \(a count of the 60000 rows\).*got 60000"),
        (-5, r"got -5"),
        (0.0, r"a float in \(0, 1\).*got 0\.0"),
        (1.0, r"got 1\.0"),
        (float("nan"), r"got nan"),
        (1e-9, r"leaves 0 of 60000 for validation"),
        (True, r"got True"),
        ("0.1", r"got '0\.1'"),
    ],
)
def test_bad_validation_split_is_a_clear_value_error(split, message):
    with pytest.raises(ValueError, match=message):
        datasets.load_mnist(split)


@pytest.mark.parametrize("rows", [20, 10_000])  # one move, and several of _MOVED_ROWS rows
def test_split_own_holds_out_the_same_rows_moving_the_training_rows_in_place(rows):
    from nnet.datasets.loaders import split_own

    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 256, (rows, 5), dtype=np.uint8), rng.integers(0, 3, rows)
    (x_train, y_train), (x_val, y_val) = datasets.split_validation(x, y, 0.2, seed=4)
    mine = x.copy()
    (own_train, own_y), (own_val, own_y_val) = split_own(mine, y, 0.2, seed=4)
    for expected, got in ((x_train, own_train), (y_train, own_y), (x_val, own_val), (y_val, own_y_val)):
        np.testing.assert_array_equal(got, expected)
    assert np.shares_memory(own_train, mine) and np.shares_memory(own_val, mine)  # moved, not copied
    frozen = x.copy()
    frozen.flags.writeable = False  # not the caller's to change: copied from, left as it was
    (copied, _), _ = split_own(frozen, y, 0.2, seed=4)
    np.testing.assert_array_equal(copied, x_train)
    np.testing.assert_array_equal(frozen, x)


def test_split_own_takes_no_copy_of_the_training_set():
    import tracemalloc

    from nnet.datasets.loaders import split_own

    x, y = np.zeros((60_000, 784), np.uint8), np.arange(60_000) % 10
    tracemalloc.start()
    split_own(x, y, 5000)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 0.25 * x.nbytes  # the held-out rows, the indices and one move: not the 43 MB of the rest


def test_split_validation_on_any_arrays_is_shuffled_stratified_and_seeded():
    x, y = np.arange(40).reshape(20, 2), np.repeat([0, 1], [15, 5])  # sorted by class, 3 to 1
    (x_train, y_train), (x_val, y_val) = datasets.split_validation(x, y, 0.2)
    assert np.bincount(y_val).tolist() == [3, 1]  # each class in its share
    assert sorted(np.concatenate([x_train[:, 0], x_val[:, 0]]).tolist()) == list(range(0, 40, 2))
    np.testing.assert_array_equal(x_val[:, 0] // 2 >= 15, y_val == 1)  # rows stay with their labels
    assert np.all(np.diff(x_val[:, 0]) > 0) and np.all(np.diff(x_train[:, 0]) > 0)  # in file order
    assert x_val[:, 0].tolist() != [30, 32, 34, 36]  # not the last rows
    assert not np.shares_memory(x_val, x)  # copies
    again = datasets.split_validation(x, y, 0.2)[1][0]
    np.testing.assert_array_equal(again, x_val)  # the same seed, the same split
    seeds = {tuple(datasets.split_validation(x, y, 0.2, seed=seed)[1][0][:, 0]) for seed in range(10)}
    assert len(seeds) > 5  # another seed, another draw
    values = np.linspace(0.0, 1.0, 20)  # regression: shuffled, not stratified
    (_, v_train), (_, v_val) = datasets.split_validation(x, values, 5, task="regression")
    assert len(v_val) == 5 and len(v_train) == 15
    with pytest.raises(ValueError, match=r"x has 20 rows but y has 19"):
        datasets.split_validation(x, y[:19], 2)
    with pytest.raises(ValueError, match=r"task must be one of classification, regression"):
        datasets.split_validation(x, y, 2, task="ranking")


def test_shipped_sha256sums_agree_with_the_registry():
    entry = datasets.info("mnist")
    sums = read_sha256sums(datasets.path("mnist") / "SHA256SUMS")
    assert {f.name: f.digest for f in entry.files.values()} == sums


@pytest.fixture
def restore_registry():
    """Put back every built-in entry a test replaced, and drop the ones it added."""
    saved = {name: datasets.info(name) for name in datasets.names()}
    yield
    for name in datasets.names():
        if name not in saved:
            datasets.unregister(name)
    for entry in saved.values():
        datasets.register(entry, replace=True)


@pytest.fixture
def mnist_copy(tmp_path, restore_registry):
    """A copy of the shipped MNIST folder, registered as "mnist"."""
    folder = tmp_path / "mnist"
    shutil.copytree(datasets.path("mnist"), folder)
    datasets.register(dataclasses.replace(datasets.info("mnist"), folder=folder), replace=True)
    return folder


def test_tampered_shipped_file_is_rejected(mnist_copy):
    labels = mnist_copy / "train-labels-idx1-ubyte.gz"
    data = bytearray(labels.read_bytes())
    data[-20] ^= 0x01
    labels.write_bytes(bytes(data))
    with pytest.raises(
        DatasetError,
        match=r"train-labels-idx1-ubyte\.gz is damaged or was changed: "
        r"expected sha256:81a978ae.*\(from SHA256SUMS\), got sha256:",
    ):
        datasets.load_mnist()


def test_shipped_file_missing_is_reported(mnist_copy):
    (mnist_copy / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(DatasetError, match=r"shipped file .*t10k-images-idx3-ubyte\.gz is missing"):
        datasets.load_mnist()


def test_shipped_verification_happens_once_per_process(mnist_copy, monkeypatch):
    calls = []
    real = downloads_module.file_digest
    monkeypatch.setattr(
        downloads_module, "file_digest", lambda *args: calls.append(args) or real(*args)
    )
    datasets.download("mnist")
    assert len(calls) == 4  # one SHA-256 per shipped file
    datasets.download("mnist")
    datasets.load_mnist(validation_split=0.5)
    assert len(calls) == 4


# --- the registry ----------------------------------------------------------------------------


def test_registry_names_and_entries():
    assert {"mnist", "fashion-mnist", "kmnist"} <= set(datasets.names())
    fashion = datasets.info("Fashion_MNIST")
    assert fashion.class_names[0] == "T-shirt/top" and fashion.class_names[9] == "Ankle boot"
    assert fashion.files["train_images"].url == (
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/train-images-idx3-ubyte.gz"
    )
    kmnist = datasets.info("kmnist")
    assert kmnist.class_names == ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo")
    assert kmnist.files["test_labels"].url == (
        "http://codh.rois.ac.jp/kmnist/dataset/kmnist/t10k-labels-idx1-ubyte.gz"
    )
    for name in datasets.names():
        entry = datasets.info(name)
        assert entry.image_shape == (28, 28) and len(entry.class_names) == 10
        assert entry.homepage.startswith("http") and entry.license and entry.title
        assert (
            entry.to_dict()["files"]["train_images"]["digest"] == entry.files["train_images"].digest
        )


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(
        UnknownDatasetError,
        match=r"unknown dataset 'cifar'; expected one of: "
        r"fashion-mnist, kmnist, mnist",
    ):
        datasets.load("cifar")
    with pytest.raises(LookupError):
        datasets.info("nope")


def test_entries_are_validated():
    files = {
        role: DataFile(name, "http://x/" + name, "md5:" + "0" * 32)
        for role, name in IDX_FILE_NAMES.items()
    }
    base = dict(
        name="x",
        title="X",
        description="",
        class_names=("a", "b"),
        homepage="",
        license="",
        files=files,
    )
    with pytest.raises(ValueError, match=r"expected 32 hex digits after 'md5:', got 5"):
        DataFile("a.gz", "http://x/a.gz", "md5:12345")
    with pytest.raises(ValueError, match=r"must start with one of sha256:, md5:"):
        DataFile("a.gz", "http://x/a.gz", "crc32:1234")
    with pytest.raises(ValueError, match=r"exactly the roles"):
        Dataset(**base | {"files": {"train_images": files["train_images"]}})
    with pytest.raises(ValueError, match=r"lowercase"):
        Dataset(**base | {"name": "Has Space"})
    with pytest.raises(ValueError, match=r"already registered; pass replace=True"):
        datasets.register(Dataset(**base | {"name": "mnist"}))


def test_cache_dir_rules(monkeypatch, tmp_path):
    monkeypatch.setenv("NNET_DATA", str(tmp_path / "data"))
    assert datasets.cache_dir() == tmp_path / "data"
    assert datasets.path("kmnist") == tmp_path / "data" / "kmnist"
    monkeypatch.delenv("NNET_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert datasets.cache_dir() == tmp_path / "xdg" / "nnet"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert datasets.cache_dir() == tmp_path / "home" / ".cache" / "nnet"
    assert datasets.path("mnist").name == "mnist"  # shipped: never under the cache


# --- downloads -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return make_tiny_dataset(tmp_path_factory.mktemp("tiny"))


@pytest.fixture
def server(tiny):
    served = FileServer(files={f"/tiny/{name}": data for name, data in tiny.blobs.items()})
    served.start()
    yield served
    served.stop()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("NNET_DATA", str(folder))
    monkeypatch.setenv("no_proxy", "*")  # never route 127.0.0.1 through a proxy
    return folder


def register_tiny(tiny, base_url, *, name="tiny-test", digests=None):
    digests = {role: tiny.digest(role) for role in IDX_FILE_NAMES} | (digests or {})
    files = {
        role: DataFile(file_name, f"{base_url}/{file_name}", digests[role])
        for role, file_name in IDX_FILE_NAMES.items()
    }
    return datasets.register(
        Dataset(
            name=name,
            title="Tiny",
            description="50 random images",
            homepage="http://x",
            class_names=tuple("0123456789"),
            license="none",
            files=files,
        ),
        replace=True,
    )


def test_download_then_reuse_without_a_second_request(tiny, server, cache, restore_registry):
    register_tiny(tiny, server.base_url + "/tiny")
    (x_train, y_train), (x_test, y_test) = datasets.load("tiny-test")
    assert len(server.requests) == 4
    np.testing.assert_array_equal(x_train, tiny.arrays["train_images"].reshape(50, 784))
    np.testing.assert_array_equal(y_test, tiny.arrays["test_labels"])
    assert y_train.dtype == np.int64 and x_test.shape == (20, 784)
    folder = cache / "tiny-test"
    assert datasets.path("tiny-test") == folder
    assert sorted(p.name for p in folder.iterdir() if not p.name.endswith(".verified")) == sorted(
        IDX_FILE_NAMES.values()
    )
    assert not list(folder.glob(".*.part"))

    (_, _), (_, y_val), (_, y_test_again) = datasets.load("tiny-test", validation_split=10)
    assert len(server.requests) == 4  # reused, verified by the sidecar markers
    assert y_val.shape == (10,) and np.array_equal(y_test_again, y_test)


def test_a_file_placed_by_hand_is_hashed_and_reused(tiny, server, cache, restore_registry):
    register_tiny(tiny, server.base_url + "/tiny")
    folder = cache / "tiny-test"
    folder.mkdir(parents=True)
    for name, data in tiny.blobs.items():
        (folder / name).write_bytes(data)
    datasets.download("tiny-test")
    assert server.requests == []
    assert len(list(folder.glob("*.verified"))) == 4


def test_a_damaged_cached_file_is_downloaded_again(tiny, server, cache, restore_registry):
    register_tiny(tiny, server.base_url + "/tiny")
    folder = datasets.download("tiny-test")
    (folder / IDX_FILE_NAMES["test_labels"]).write_bytes(b"garbage")
    datasets.download("tiny-test")
    assert server.requests[4:] == ["/tiny/" + IDX_FILE_NAMES["test_labels"]]
    assert (folder / IDX_FILE_NAMES["test_labels"]).read_bytes() == tiny.blobs[
        IDX_FILE_NAMES["test_labels"]
    ]
    datasets.download("tiny-test", force=True)
    assert len(server.requests) == 9


def test_progress_is_called_with_increasing_byte_counts(
    tiny, server, cache, restore_registry, monkeypatch
):
    monkeypatch.setattr(downloads_module, "_CHUNK", 4096)
    register_tiny(tiny, server.base_url + "/tiny")
    calls = []
    datasets.download("tiny-test", progress=lambda *call: calls.append(call))
    for name, data in tiny.blobs.items():
        counts = [done for file, done, total in calls if file == name]
        totals = {total for file, _, total in calls if file == name}
        assert counts[0] == 0 and counts[-1] == len(data)
        assert all(a < b for a, b in zip(counts, counts[1:], strict=False))
        assert totals == {len(data)}
    size = len(tiny.blobs[IDX_FILE_NAMES["train_images"]])
    assert len([c for c in calls if c[0] == IDX_FILE_NAMES["train_images"]]) >= 1 + size // 4096
    calls.clear()
    datasets.download("tiny-test", progress=lambda *call: calls.append(call))
    assert calls == []  # nothing fetched, nothing reported


def test_sha256_digests_work_too(tiny, server, cache, restore_registry):
    register_tiny(
        tiny,
        server.base_url + "/tiny",
        digests={"train_images": tiny.digest("train_images", "sha256")},
    )
    assert datasets.load("tiny-test")[0][0].shape == (50, 784)


def test_wrong_digest_keeps_nothing_and_names_url_and_digests(
    tiny, server, cache, restore_registry
):
    wrong = "md5:" + "0" * 32
    register_tiny(tiny, server.base_url + "/tiny", digests={"train_labels": wrong})
    url = f"{server.base_url}/tiny/train-labels-idx1-ubyte.gz"
    got = tiny.digest("train_labels")
    with pytest.raises(DownloadError) as caught:
        datasets.load("tiny-test")
    message = str(caught.value)
    assert url in message
    assert f"digest mismatch: expected {wrong}, got {got}" in message
    destination = cache / "tiny-test" / "train-labels-idx1-ubyte.gz"
    assert f"save it as {destination}" in message
    assert caught.value.url == url and caught.value.destination == destination
    assert not destination.exists()
    assert not list((cache / "tiny-test").glob(".*.part"))


def test_connection_dropped_mid_body(tiny, server, cache, restore_registry):
    register_tiny(tiny, server.base_url + "/tiny")
    name = IDX_FILE_NAMES["train_images"]
    server.drop.add(f"/tiny/{name}")
    size = len(tiny.blobs[name])
    with pytest.raises(
        DownloadError,
        match=rf"{name} from http://127\.0\.0\.1:\d+/tiny/{name}: "
        rf"the connection dropped after {size // 2} of {size} bytes",
    ):
        datasets.download("tiny-test")
    folder = cache / "tiny-test"
    assert not (folder / name).exists()
    assert not list(folder.glob(".*.part"))


def test_http_404(tiny, server, cache, restore_registry):
    register_tiny(tiny, server.base_url + "/missing")
    with pytest.raises(
        DownloadError,
        match=r"/missing/train-images-idx3-ubyte\.gz: the server "
        r"answered HTTP 404 Not Found\.\nTo place the file by hand",
    ):
        datasets.download("tiny-test")
    assert not list((cache / "tiny-test").iterdir())


def test_offline_closed_port(tiny, cache, restore_registry):
    register_tiny(tiny, f"http://127.0.0.1:{closed_port()}/tiny")
    with pytest.raises(
        DownloadError, match=r"could not connect \(.*refused.*\): are you offline\?\n"
    ):
        datasets.load("tiny-test")


def test_unwritable_cache_is_a_clear_error(tiny, cache, restore_registry):
    cache.write_text("a file where the cache folder should be")
    register_tiny(tiny, "http://127.0.0.1:9/tiny")
    with pytest.raises(DatasetError, match=r"cannot create the data folder .*set NNET_DATA"):
        datasets.download("tiny-test")


def test_labels_outside_the_class_range_are_rejected(tiny, server, cache, restore_registry):
    entry = register_tiny(tiny, server.base_url + "/tiny")
    three_classes = dataclasses.replace(entry, class_names=("a", "b", "c"))
    datasets.register(three_classes, replace=True)
    bad = int(np.argmax(tiny.arrays["train_labels"] >= 3))
    with pytest.raises(DatasetError, match=rf"label \d at index {bad} is outside 0\.\.2"):
        datasets.load("tiny-test")


def test_split_validation_stratifies_a_single_sigmoid_outputs_targets():
    """Targets of one column (a single sigmoid output) are classes by the data path's own rule,
    above 0.5 or not, not the argmax of one column (always 0: no stratification at all)."""
    x, y = np.arange(400).reshape(200, 2), np.repeat([0.0, 1.0], [150, 50]).reshape(200, 1)
    counts = set()
    for seed in range(5):
        _, (_, y_val) = datasets.split_validation(x, y, 40, seed=seed)
        counts.add(int(y_val.sum()))
    assert counts == {10}  # each class in its share, whatever the seed
