"""End to end: `nnet evaluate`, `predict`, `info`, `show`, `data`, `--help` and the exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nnet
from nnet import datasets
from nnet.cli import command_modules, main
from nnet.datasets import load_mnist, write_idx

from _datasets_helpers import IDX_FILE_NAMES, FileServer, closed_port, make_tiny_dataset

N_TRAIN, N_TEST = 600, 200


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> str:
    (x_train, y_train), (x_test, y_test) = load_mnist()
    folder = tmp_path_factory.mktemp("data") / "tiny"
    folder.mkdir()
    write_idx(folder / "train-images-idx3-ubyte.gz", x_train[:N_TRAIN].reshape(-1, 28, 28))
    write_idx(folder / "train-labels-idx1-ubyte.gz", y_train[:N_TRAIN].astype(np.uint8))
    write_idx(folder / "t10k-images-idx3-ubyte.gz", x_test[:N_TEST].reshape(-1, 28, 28))
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", y_test[:N_TEST].astype(np.uint8))
    return str(folder)


@pytest.fixture(scope="module")
def model(tiny, tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("model") / "model.safetensors"
    assert main(["train", "--dataset", tiny, "--validation", "100", "--epochs", "5", "--quiet", "--out", str(path)]) == 0
    return str(path)


def run(capsys, *args) -> tuple[int, str, str]:
    code = main([str(arg) for arg in args])
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("nnet: error: ") and "Traceback" not in err
    return lines[0]


# -- evaluate ---------------------------------------------------------------------------------


def test_evaluate_prints_accuracy_class_scores_and_the_confusion_matrix(model, capsys):
    code, out, err = run(capsys, "evaluate", model)  # the dataset defaults to the model's own
    assert code == 0, err
    network = nnet.load(model)
    (_, _), (x_test, y_test) = load_mnist()
    accuracy = network.evaluate(x_test[:N_TEST], y_test[:N_TEST]).accuracy
    assert f"{100 * accuracy:.2f}%" in out and "200 images" in out
    assert "precision" in out and "recall" in out and "F1" in out and "macro avg" in out
    matrix = out[out.index("confusion matrix") :].splitlines()[4:14]
    assert [row.split()[0] for row in matrix] == [str(d) for d in range(10)]
    assert sum(int(v) for row in matrix for v in row.split()[1:]) == N_TEST


def test_evaluate_json_agrees_with_the_metrics(model, tiny, capsys):
    code, out, _ = run(capsys, "evaluate", model, "--dataset", tiny, "--json")
    assert code == 0
    result = json.loads(out)
    network = nnet.load(model)
    (_, _), (x_test, y_test) = load_mnist()
    predicted = network.predict(x_test[:N_TEST])
    report = nnet.metrics.class_report(y_test[:N_TEST], predicted, n_classes=10)
    assert result["accuracy"] == pytest.approx(float(np.mean(predicted == y_test[:N_TEST])))
    assert [c["recall"] for c in result["classes"]] == pytest.approx(report.recall.tolist())
    assert np.array_equal(result["confusion_matrix"], nnet.metrics.confusion_matrix(y_test[:N_TEST], predicted, 10))


# -- predict ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def digit_images(tmp_path_factory) -> tuple[Path, list[int]]:
    """Five MNIST test digits as PNGs, drawn dark on light and enlarged, like a scan."""
    from PIL import Image

    (_, _), (x_test, y_test) = load_mnist()
    folder = tmp_path_factory.mktemp("images")
    for i in range(5):
        pixels = 255 - x_test[i].reshape(28, 28)
        Image.fromarray(pixels).resize((112, 112), Image.Resampling.BILINEAR).save(folder / f"digit{i}.png")
    (folder / "notes.txt").write_text("not an image")
    return folder, [int(y) for y in y_test[:5]]


def test_predict_a_folder_and_a_file(model, digit_images, capsys):
    folder, labels = digit_images
    code, out, err = run(capsys, "predict", model, folder, folder / "digit0.png", "--json")
    assert code == 0, err
    predictions = json.loads(out)["predictions"]
    assert [Path(p["file"]).name for p in predictions] == [f"digit{i}.png" for i in range(5)] + ["digit0.png"]
    network = nnet.load(model)
    inputs = np.stack([nnet.images.to_mnist(folder / f"digit{i}.png") for i in range(5)])
    assert [p["label"] for p in predictions[:5]] == network.predict(inputs).tolist()
    assert sum(p["label"] == y for p, y in zip(predictions, labels)) >= 4  # dark-on-light is inverted
    for p in predictions:
        assert len(p["top"]) == 3 and p["top"][0]["class"] == p["class"]
        scores = [t["score"] for t in p["top"]]
        assert scores == sorted(scores, reverse=True) and p["confidence"] == scores[0] <= 1


def test_predict_prints_a_table_of_answers(model, digit_images, capsys):
    folder, _ = digit_images
    code, out, _ = run(capsys, "predict", model, folder / "digit1.png", "--top", "2")
    assert code == 0
    header, rule, row = out.splitlines()
    assert header.split() == ["image", "answer", "confidence", "runners-up"]
    assert row.startswith(str(folder / "digit1.png")) and row.count("%") == 2


def test_predict_a_blank_image_is_one_clear_error(model, tmp_path, capsys):
    from PIL import Image

    Image.new("L", (50, 50), 255).save(tmp_path / "blank.png")
    code, _, err = run(capsys, "predict", model, tmp_path / "blank.png")
    assert code == 1
    assert "blank.png" in one_error_line(err) and "blank" in err


# -- info -------------------------------------------------------------------------------------


def test_info_shows_layers_settings_and_scores(model, capsys):
    code, out, _ = run(capsys, "info", model)
    assert code == 0
    network = nnet.load(model)
    assert f"{network.n_parameters:,}" in out and "784 -> 128" in out and "128 -> 10" in out
    assert "relu" in out and "softmax" in out and "float32" in out
    assert "momentum" in out and "learning_rate" in out and f"nnet {nnet.__version__}" in out
    assert "tiny (500 train, 100 validation, 200 test)" in out
    scores = out[out.index("\nscores") :]
    assert "test" in scores and "validation" in scores


def test_info_json(model, capsys):
    code, out, _ = run(capsys, "info", model, "--json")
    assert code == 0
    info = json.loads(out)
    assert info["sizes"] == [784, 128, 10] and info["parameters"] == 784 * 128 + 128 + 128 * 10 + 10
    assert [layer["activation"] for layer in info["layers"]] == ["relu", "softmax"]
    assert info["training"]["epochs"] == 5 and info["scores"]["test"]["accuracy"] > 0.5


# -- show -------------------------------------------------------------------------------------


@pytest.mark.parametrize("what", ["history", "weights", "activations", "confusion", "mistakes", "means"])
def test_show_draws_each_picture(what, model, tmp_path, capsys):
    out_file = tmp_path / f"{what}.png"
    code, out, err = run(capsys, "show", model, what, "--out", out_file, "--index", "3")
    assert code == 0, err
    assert out_file.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert str(out_file) in out


def test_show_refuses_a_layer_out_of_range_and_a_bad_suffix(model, tmp_path, capsys):
    code, _, err = run(capsys, "show", model, "weights", "--layer", "5", "--out", tmp_path / "w.png")
    assert code == 1 and "layer" in one_error_line(err)
    code, _, err = run(capsys, "show", model, "weights", "--out", tmp_path / "w.gif")
    assert code == 1 and ".png" in one_error_line(err)
    assert run(capsys, "show", model, "portrait")[0] == 2


# -- data -------------------------------------------------------------------------------------


@pytest.fixture
def served(tmp_path, monkeypatch):
    """A dataset 'tiny-served' registered with URLs on a local HTTP server, cached in tmp_path."""
    monkeypatch.setenv("NNET_DATA", str(tmp_path / "cache"))
    tiny = make_tiny_dataset(tmp_path / "source", n_train=60, n_test=20)
    server = FileServer(files={f"/{name}": blob for name, blob in tiny.blobs.items()}).start()
    entry = datasets.Dataset(
        name="tiny-served", title="Tiny served", description="60 random images", class_names=tuple("0123456789"),
        homepage="http://127.0.0.1/", license="none",
        files={role: datasets.DataFile(name, f"{server.base_url}/{name}", tiny.digest(role)) for role, name in IDX_FILE_NAMES.items()},
    )
    datasets.register(entry)
    yield entry
    datasets.unregister("tiny-served")
    server.stop()


def test_data_list_info_download_and_path(served, tmp_path, capsys):
    code, out, _ = run(capsys, "data", "list")
    assert code == 0
    rows = {line.split()[0]: line for line in out.splitlines()[2:] if line.strip() and not line.startswith("cache")}
    assert "yes (ships with nnet)" in rows["mnist"] and "no: nnet data download tiny-served" in rows["tiny-served"]

    code, out, err = run(capsys, "data", "download", "tiny-served")
    assert code == 0, err
    assert [line.split()[1] for line in err.splitlines()] == list(IDX_FILE_NAMES.values())  # one line per file
    assert str(tmp_path / "cache" / "tiny-served") in out

    code, out, _ = run(capsys, "data", "list", "--json")
    listed = {d["name"]: d for d in json.loads(out)["datasets"]}
    assert listed["tiny-served"]["offline"] and listed["tiny-served"]["status"] == "downloaded"
    code, out, _ = run(capsys, "data", "info", "tiny-served")
    assert "Tiny served (tiny-served)" in out and "downloaded" in out and "t10k-labels-idx1-ubyte.gz" in out
    assert run(capsys, "data", "path")[1].strip() == str(tmp_path / "cache")
    assert run(capsys, "data", "path", "tiny-served")[1].strip() == str(tmp_path / "cache" / "tiny-served")
    assert run(capsys, "data", "path", "mnist")[1].strip() == str(datasets.path("mnist"))


def test_data_download_offline_is_one_line_naming_the_url(served, capsys, monkeypatch):
    gone = f"http://127.0.0.1:{closed_port()}"
    files = {role: datasets.DataFile(f.name, f"{gone}/{f.name}", f.digest) for role, f in served.files.items()}
    datasets.register(datasets.Dataset(**{**served.to_dict(), "files": files, "folder": None}), replace=True)
    code, _, err = run(capsys, "data", "download", "tiny-served", "--quiet")
    assert code == 1
    line = one_error_line(err)
    assert gone in line and "offline" in line


def test_data_errors(capsys):
    code, _, err = run(capsys, "data", "info", "cifar")
    assert code == 1 and "unknown dataset 'cifar'" in one_error_line(err)
    assert run(capsys, "data")[0] == 2
    assert run(capsys, "data", "list", "--bogus")[0] == 2


# -- help, version, the command table ---------------------------------------------------------


def test_every_command_has_help_with_examples(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0 and "examples:" in out and "nnet train" in out
    for name in command_modules():
        code, out, _ = run(capsys, name, "--help")
        assert code == 0 and "examples:" in out and f"nnet {name}" in out, name


def test_version(capsys):
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.strip() == f"nnet {nnet.__version__}"


def test_a_command_module_that_is_not_there_is_left_out(monkeypatch, capsys):
    import nnet.cli

    monkeypatch.setattr(nnet.cli, "COMMANDS", ("info", "teleport"))
    assert list(command_modules()) == ["info"]
    assert run(capsys, "teleport")[0] == 2


# -- real processes: exit codes and one-line errors -------------------------------------------


def nnet_process(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nnet.cli", *map(str, args)], capture_output=True, text=True, timeout=120)


def test_errors_in_a_real_process_are_one_line_and_exit_1(model, tmp_path):
    from PIL import Image

    tampered = tmp_path / "tampered.safetensors"
    blob = bytearray(Path(model).read_bytes())
    blob[-1] ^= 0x01  # one bit of the last bias
    tampered.write_bytes(bytes(blob))
    Image.new("RGB", (40, 30), (255, 255, 255)).save(tmp_path / "white.jpg")
    cases = [
        (["info", tmp_path / "missing.safetensors"], "no such model file"),
        (["evaluate", tampered], "altered or damaged"),
        (["predict", model, tmp_path / "white.jpg"], "blank"),
        (["predict", model, tmp_path / "nothing.png"], "no such file"),
        (["train", "--dataset", "imagenet"], "unknown dataset"),
    ]
    for args, message in cases:
        done = nnet_process(*args)
        assert done.returncode == 1, (args, done.stderr)
        assert done.stdout == ""
        assert message in one_error_line(done.stderr), args


def test_bad_usage_in_a_real_process_exits_2_and_help_exits_0():
    done = nnet_process("evaluate")
    assert done.returncode == 2 and "usage: nnet evaluate" in done.stderr
    done = nnet_process("--help")
    assert done.returncode == 0 and "examples:" in done.stdout


# -- the model's own dataset, when it is gone --------------------------------------------------


def test_evaluate_refuses_to_guess_when_the_models_dataset_is_gone(tiny, tmp_path, capsys):
    import shutil

    moved = tmp_path / "digits"
    shutil.copytree(tiny, moved)
    model = tmp_path / "m.safetensors"
    assert main(["train", "--dataset", str(moved), "--validation", "0", "--epochs", "1", "--quiet", "--out", str(model)]) == 0
    shutil.rmtree(moved)
    for command in (["evaluate", model], ["show", model, "means", "--out", tmp_path / "means.png"]):
        code, out, err = run(capsys, *command)
        assert code == 1 and out == ""
        line = one_error_line(err)
        assert f"trained on {moved}, which no longer exists; pass --dataset" in line
    code, _, err = run(capsys, "evaluate", model, "--dataset", tiny, "--json")  # told where: fine
    assert code == 0, err


def test_a_model_that_records_no_dataset_is_scored_on_mnist_and_an_unknown_name_is_refused(tmp_path, capsys):
    from nnet.cli.data import dataset_of_model

    network = nnet.Network([784, 10])
    assert dataset_of_model(network, None) == "mnist"
    assert dataset_of_model(network, "kmnist") == "kmnist"
    network.metadata = {"dataset": {"name": "fashion-mnist", "path": None}}
    assert dataset_of_model(network, None) == "fashion-mnist"
    network.metadata = {"dataset": {"name": "my-private-set", "path": None}}
    with pytest.raises(Exception, match=r"dataset 'my-private-set', which is not registered here; pass --dataset"):
        dataset_of_model(network, None)


# -- class names: the network's own -----------------------------------------------------------


def test_evaluate_and_predict_name_the_classes_as_the_model_does(tiny, digit_images, tmp_path, capsys):
    model = tmp_path / "named.safetensors"
    assert main(["train", "--dataset", tiny, "--validation", "0", "--epochs", "1", "--quiet", "--out", str(model)]) == 0
    trained = nnet.load(model)
    names = [f"digit {d}" for d in range(10)]
    nnet.save(trained, model, metadata={"classes": names})
    code, out, _ = run(capsys, "evaluate", model, "--dataset", tiny, "--json")
    assert code == 0 and [c["class"] for c in json.loads(out)["classes"]] == names
    folder, _ = digit_images
    code, out, _ = run(capsys, "predict", model, folder / "digit0.png", "--json")
    prediction = json.loads(out)["predictions"][0]
    assert code == 0 and prediction["class"] == names[prediction["label"]]


# -- info never shows a traceback -------------------------------------------------------------


def test_info_shows_question_marks_for_odd_scores_in_a_real_file(tmp_path, capsys):
    model = tmp_path / "odd.safetensors"
    nnet.save(nnet.Network([784, 10]), model, metadata={
        "scores": {"test": {"accuracy": 0.9}, "validation": {"accuracy": "high", "cost": "low"}, "train": 3, "extra": None},
    })
    code, out, err = run(capsys, "info", model)
    assert code == 0, err
    section = out[out.index("\nscores\n") :].strip().split("\n\n")[1].splitlines()  # the table
    rows = {line.split()[0]: line.split()[1:] for line in section[2:]}
    assert rows == {"test": ["90.00%", "?"], "validation": ["?", "?"], "train": ["?", "?"]}


ODD_METADATA = [
    {"scores": "excellent", "history": {"epochs": "many"}, "dataset": ["mnist"], "training": 7},
    {"scores": {"test": {"accuracy": float("nan"), "cost": None}}, "history": {"epochs": [{"seconds": "1"}, 3]}},
    {"input": {"shape": "28x28"}, "dataset": {"name": {"a": 1}, "train": "many"}, "command": {"argv": 1},
     "checkpoint": {"next_epoch": [1]}, "saved_at": 5, "nnet_version": None, "classes": "0123456789"},
    {"history": {"epochs": [{"seconds": 1.5}], "stopped_early": True, "best_epoch": "one"}, "input": [28, 28],
     "checkpoint": 4, "training": {"epochs": [1, 2]}, "init": {"name": "he"}, "seed": float("inf")},
]


@pytest.mark.parametrize("metadata", ODD_METADATA)
def test_info_prints_what_it_can_of_odd_metadata(metadata, tmp_path, capsys, monkeypatch):
    network = nnet.Network([784, 10])
    network.metadata = metadata
    monkeypatch.setattr(nnet, "load", lambda path: network)  # past the loader, however strict it gets
    code, out, err = run(capsys, "info", tmp_path / "any.safetensors")
    assert code == 0, err
    assert "784 -> 10" in out and "?" in out and "Traceback" not in err
    code, out, err = run(capsys, "info", tmp_path / "any.safetensors", "--json")
    assert code == 0, err
    assert json.loads(out)["sizes"] == [784, 10]
