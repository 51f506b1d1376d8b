"""End to end: `nnet train` on a tiny MNIST cut (600 training, 200 test images) in tmp_path."""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import nnet
from nnet import runs
from nnet.cli import main
from nnet.cli import train as train_command
from nnet.cli._term import ProgressBar
from nnet.datasets import load_mnist, write_idx
from nnet.serialization import read_safetensors

N_TRAIN, N_TEST = 600, 200
FAST = ["--validation", "100", "--epochs", "3"]


def write_tiny_mnist(folder: Path) -> Path:
    """The first 600 training and 200 test images of the real MNIST, as the four IDX files."""
    (x_train, y_train), (x_test, y_test) = load_mnist()
    folder.mkdir(parents=True, exist_ok=True)
    write_idx(folder / "train-images-idx3-ubyte.gz", x_train[:N_TRAIN].reshape(-1, 28, 28))
    write_idx(folder / "train-labels-idx1-ubyte.gz", y_train[:N_TRAIN].astype(np.uint8))
    write_idx(folder / "t10k-images-idx3-ubyte", x_test[:N_TEST].reshape(-1, 28, 28))  # raw works too
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", y_test[:N_TEST].astype(np.uint8))
    return folder


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> str:
    return str(write_tiny_mnist(tmp_path_factory.mktemp("data") / "tiny"))


def train(capsys, *options) -> tuple[int, str, str]:
    code = main(["train", *map(str, options)])
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("nnet: error: "), err
    assert "Traceback" not in err
    return lines[0]


# -- what the defaults are --------------------------------------------------------------------


def test_the_defaults_are_one_table_with_the_issues_values():
    d = train_command.DEFAULTS
    assert d["hidden"] == [128] and d["activation"] == "relu" and d["output"] == "softmax"
    assert d["cost"] == "cross_entropy" and d["optimizer"] == "momentum" and d["momentum"] == 0.9
    assert d["learning_rate"] == 0.1 and d["batch_size"] == 64 and d["epochs"] == 10
    assert d["lr_schedule"] == "cosine" and d["weight_decay"] == 0 and d["dropout"] == 0
    assert d["validation"] == 5000 and d["seed"] == 0 and d["dataset"] == "mnist"


# -- a run, and what it leaves ----------------------------------------------------------------


def test_train_saves_a_model_with_its_story_and_prints_the_table(tiny, tmp_path, capsys):
    model = tmp_path / "model.safetensors"
    code, out, err = train(capsys, "--dataset", tiny, *FAST, "--out", model)
    assert code == 0, err
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("epoch"))
    assert "train accuracy" in lines[header] and "validation accuracy" in lines[header]
    assert [line.split()[0] for line in lines[header + 2 : header + 5]] == ["1", "2", "3"]
    assert "test accuracy" in out and str(model) in out

    network = nnet.load(model)
    meta = network.metadata
    assert network.sizes == [784, 128, 10]
    assert meta["classes"] == [str(d) for d in range(10)]
    assert meta["input"] == {"shape": [28, 28], "preprocessing": "uint8 pixels / 255, white ink on black (MNIST)"}
    assert meta["dataset"]["train"] == 500 and meta["dataset"]["validation"] == 100 and meta["dataset"]["test"] == 200
    assert meta["training"]["seed"] == 0 and meta["training"]["epochs"] == 3
    assert meta["training"]["optimizer"] == "momentum" and meta["training"]["momentum"] == 0.9
    assert len(meta["history"]["epochs"]) == 3
    assert meta["command"][:2] == ["nnet", "train"] and "--epochs" in meta["command"]
    (_, _), (x_test, y_test) = load_mnist()
    test = network.evaluate(x_test[:N_TEST], y_test[:N_TEST])
    assert meta["scores"]["test"]["accuracy"] == pytest.approx(test.accuracy)
    assert meta["scores"]["test"]["accuracy"] > 0.7  # 500 real digits teach something
    assert set(meta["scores"]) == {"train", "validation", "test"}


def test_progress_is_one_line_per_epoch_when_stderr_is_not_a_terminal(tiny, tmp_path, capsys):
    code, _, err = train(capsys, "--dataset", tiny, *FAST, "--out", tmp_path / "m.safetensors")
    assert code == 0
    assert "\r" not in err
    epochs = [line for line in err.splitlines() if line.startswith("epoch ")]
    assert [line.split()[1] for line in epochs] == ["1/3", "2/3", "3/3"]
    assert all("validation cost" in line and "%" in line for line in epochs)


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_on_a_terminal_the_bar_redraws_in_place_at_most_ten_times_a_second():
    stream = FakeTerminal()
    bar = ProgressBar(1000, "epoch 1/10", stream)
    for done in range(1, 1001):
        bar.update(done, "cost 0.5")
    assert stream.getvalue().count("\r") == 1  # a tight loop of 1000 updates draws once
    bar.update(1000, "cost 0.4", force=True)
    assert "[########################]" in stream.getvalue() and "1,000/1,000" in stream.getvalue()
    bar.finish("epoch 1/10 done")
    assert stream.getvalue().endswith("\repoch 1/10 done\n")


def test_training_on_a_terminal_shows_bars(tiny, tmp_path, capsys, monkeypatch):
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["train", "--dataset", tiny, *FAST, "--out", str(tmp_path / "m.safetensors")]) == 0
    shown = terminal.getvalue()
    assert "\repoch 1/3  [" in shown and "accuracy" in shown
    assert "\repoch 3/3    " in shown  # the bar is replaced by the epoch's line


def test_quiet_prints_nothing(tiny, tmp_path, capsys):
    code, out, err = train(capsys, "--dataset", tiny, *FAST, "--quiet", "--out", tmp_path / "m.safetensors")
    assert code == 0
    assert out == "" and err == ""
    assert (tmp_path / "m.safetensors").exists()


def test_json_prints_one_object_and_nothing_else_on_stdout(tiny, tmp_path, capsys):
    model = tmp_path / "m.safetensors"
    code, out, _ = train(capsys, "--dataset", tiny, *FAST, "--json", "--out", model)
    assert code == 0
    result = json.loads(out)  # the whole of stdout is one JSON document
    assert out.count("\n") == 1
    assert result["model"] == str(model)
    assert result["settings"]["hidden"] == [128] and result["settings"]["sizes"] == [784, 128, 10]
    assert [e["epoch"] for e in result["history"]["epochs"]] == [1, 2, 3]
    assert 0 <= result["scores"]["test"]["accuracy"] <= 1 and result["seconds"] > 0


def test_preset_lesson_settings_land_in_the_metadata_and_options_override_them(tiny, tmp_path, capsys):
    model = tmp_path / "lesson.safetensors"
    code, _, err = train(capsys, "--preset", "lesson", "--dataset", tiny, "--validation", "0", "--epochs", "2", "--quiet", "--out", model)
    assert code == 0, err
    network = nnet.load(model)
    training = network.metadata["training"]
    assert network.sizes == [784, 30, 10]
    assert [layer.activation.name for layer in network.layers] == ["sigmoid", "sigmoid"]
    assert network.cost.name == "quadratic"
    expected = {"preset": "lesson", "hidden": [30], "activation": "sigmoid", "output": "sigmoid", "cost": "quadratic",
                "init": "normal", "optimizer": "sgd", "learning_rate": 3.0, "batch_size": 10, "lr_schedule": "constant",
                "momentum": None, "epochs": 2, "validation": 0}
    assert {key: training[key] for key in expected} == expected
    assert network.metadata["scores"]["validation"] is None
    assert len(network.metadata["history"]["epochs"]) == 2


def test_explicit_options_build_that_network(tiny, tmp_path, capsys):
    model = tmp_path / "m.safetensors"
    code, _, err = train(capsys, "--dataset", tiny, "--validation", "0.1", "--epochs", "1", "--hidden", "32,16",
                         "--activation", "tanh", "--optimizer", "adam", "--dropout", "0.1", "--dtype", "float64",
                         "--seed", "7", "--quiet", "--out", model)
    assert code == 0, err
    network = nnet.load(model)
    training = network.metadata["training"]
    assert network.sizes == [784, 32, 16, 10] and network.dtype == np.float64
    assert [layer.activation.name for layer in network.layers[:-1]] == ["tanh", "tanh"]
    assert [layer.dropout for layer in network.layers] == pytest.approx([0.1, 0.1, 0.0])
    assert training["learning_rate"] == pytest.approx(0.001)  # adam's own default, not momentum's 0.1
    assert training["momentum"] is None and training["seed"] == 7
    assert network.metadata["dataset"]["validation"] == 60


def test_an_optimizer_from_a_later_layer_brings_its_own_learning_rate():
    from nnet.cli import build_parser

    parser = build_parser()

    def settings(*options):
        args = parser.parse_args(["train", *options])
        return runs.resolve(train_command.given_settings(args), args.preset)

    assert (settings()["learning_rate"], settings()["momentum"]) == (0.1, 0.9)
    assert settings("--preset", "lesson")["learning_rate"] == 3.0
    assert settings("--preset", "lesson", "--epochs", "1")["optimizer"] == "sgd"
    adam = settings("--preset", "lesson", "--optimizer", "adam")
    assert adam["learning_rate"] is None and adam["momentum"] is None  # adam's own defaults, not sgd's 3.0
    assert settings("--optimizer", "nesterov", "--learning-rate", "0.05")["learning_rate"] == 0.05
    assert settings("--momentum", "0.5")["momentum"] == 0.5


def test_an_npz_dataset_with_x_and_y_keeps_its_last_tenth_for_testing(tmp_path, capsys):
    (x, y), _ = load_mnist()
    np.savez(tmp_path / "digits.npz", x=x[:300].reshape(-1, 28, 28), y=y[:300])
    np.savez(tmp_path / "split.npz", x_train=x[:300], y_train=y[:300], x_test=x[300:350], y_test=y[300:350])
    for name, test_count in (("digits.npz", 30), ("split.npz", 50)):
        model = tmp_path / f"{name}.safetensors"
        code, _, err = train(capsys, "--dataset", tmp_path / name, "--validation", "0", "--epochs", "1", "--quiet", "--out", model)
        assert code == 0, err
        assert nnet.load(model).metadata["dataset"]["test"] == test_count


def test_seeded_runs_are_identical(tiny, tmp_path, capsys):
    for name in ("a", "b"):
        assert train(capsys, "--dataset", tiny, *FAST, "--quiet", "--out", tmp_path / f"{name}.safetensors")[0] == 0
    a, _ = read_safetensors(tmp_path / "a.safetensors")
    b, _ = read_safetensors(tmp_path / "b.safetensors")
    assert all(np.array_equal(a[key], b[key]) for key in a)


# -- usage and failures -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        ["--epochs", "0"],
        ["--learning-rate", "-1"],
        ["--activation", "swish"],
        ["--optimizer", "lbfgs"],
        ["--lr-schedule", "linear"],
        ["--init", "zeros"],
        ["--validation", "most"],
        ["--hidden", "128,x"],
        ["--preset", "huge"],
        ["--dropout", "1"],
        ["--no-such-option"],
    ],
)
def test_bad_usage_exits_2(options, capsys):
    assert main(["train", *options]) == 2
    assert "usage: nnet train" in capsys.readouterr().err


def test_a_validation_larger_than_the_data_is_one_clear_error(tiny, capsys):
    code, _, err = train(capsys, "--dataset", tiny, "--epochs", "1")
    assert code == 1
    line = one_error_line(err)
    assert "5000" in line and "--validation" in line


def test_an_unknown_dataset_is_one_clear_error(capsys):
    code, _, err = train(capsys, "--dataset", "cifar-1000")
    assert code == 1
    assert "unknown dataset 'cifar-1000'" in one_error_line(err) and "mnist" in err


def test_a_folder_without_the_idx_files_is_one_clear_error(tmp_path, capsys):
    code, _, err = train(capsys, "--dataset", tmp_path)
    assert code == 1
    assert "train-images-idx3-ubyte" in one_error_line(err)


def test_a_damaged_idx_file_is_one_clear_error(tmp_path, capsys):
    folder = write_tiny_mnist(tmp_path / "damaged")
    labels = folder / "train-labels-idx1-ubyte.gz"
    write_idx(labels, np.zeros(N_TRAIN - 1, np.uint8))  # one label short
    code, _, err = train(capsys, "--dataset", folder, "--epochs", "1")
    assert code == 1
    assert "train-labels-idx1-ubyte.gz" in one_error_line(err) and "599" in err
    (folder / "t10k-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03junk")  # a truncated header
    write_idx(labels, np.zeros(N_TRAIN, np.uint8))
    code, _, err = train(capsys, "--dataset", folder, "--epochs", "1", "--validation", "0")
    assert code == 1
    assert "t10k-images-idx3-ubyte" in one_error_line(err)


def test_divergence_is_one_line_with_advice_and_saves_nothing(tiny, tmp_path, capsys):
    model = tmp_path / "m.safetensors"
    code, _, err = train(capsys, "--dataset", tiny, *FAST, "--learning-rate", "1e9", "--quiet", "--out", model)
    assert code == 1
    line = one_error_line(err)
    assert "diverged" in line and "--learning-rate 1e+08" in line
    assert not model.exists()


def test_an_out_folder_that_does_not_exist_fails_before_training(tiny, tmp_path, capsys):
    code, _, err = train(capsys, "--dataset", tiny, *FAST, "--out", tmp_path / "no" / "m.safetensors")
    assert code == 1
    assert "does not exist" in one_error_line(err)


# -- checkpoints ------------------------------------------------------------------------------


def test_a_checkpoint_dir_is_not_overwritten_and_resume_refuses_other_settings(tiny, tmp_path, capsys):
    runs = tmp_path / "runs"
    assert train(capsys, "--dataset", tiny, *FAST, "--quiet", "--checkpoint-dir", runs, "--out", tmp_path / "m.safetensors")[0] == 0
    assert (runs / "checkpoint.safetensors").exists()
    code, _, err = train(capsys, "--dataset", tiny, *FAST, "--checkpoint-dir", runs)
    assert code == 1 and "--resume" in one_error_line(err)
    code, _, err = train(capsys, "--resume", runs, "--learning-rate", "0.5")
    assert code == 1 and "conflicts with the checkpoint's learning_rate" in one_error_line(err)
    code, _, err = train(capsys, "--resume", tmp_path / "nothing")
    assert code == 1 and "no checkpoint" in one_error_line(err)
    # --epochs may change: the run goes on from epoch 4, and the result is a plain model
    code, _, err = train(capsys, "--resume", runs, "--epochs", "4", "--quiet", "--out", tmp_path / "more.safetensors")
    assert code == 0, err
    more = nnet.load(tmp_path / "more.safetensors").metadata
    assert [e["epoch"] for e in more["history"]["epochs"]] == [1, 2, 3, 4]
    assert "checkpoint" not in more


def _cli(*args) -> list[str]:
    return [sys.executable, "-m", "nnet.cli", *map(str, args)]


def _checkpoint_epoch(path: Path) -> int:
    try:
        _, container = read_safetensors(path)
    except Exception:  # not there yet
        return 0
    return json.loads(container["nnet"])["checkpoint"]["next_epoch"]


def _start_and_wait_for_epoch(command, checkpoint: Path, epoch: int) -> subprocess.Popen:
    # Ctrl-C as a terminal gives it, even when pytest runs in the background (`cmd &` in a script
    # starts it with SIGINT ignored, which the child would inherit, and Python then never raises
    # KeyboardInterrupt)
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while _checkpoint_epoch(checkpoint) < epoch:
        if process.poll() is not None:
            raise AssertionError(f"training ended (rc {process.returncode}) before epoch {epoch}'s checkpoint: {process.stderr.read()}")
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError("no checkpoint after 120 s")
        time.sleep(0.005)
    return process


# Slow enough per epoch (~0.1 s) to be caught in the middle of the run; momentum has state to restore.
KILLABLE = ["--validation", "100", "--hidden", "512,512", "--batch-size", "2", "--learning-rate", "0.01",
            "--epochs", "8", "--seed", "3", "--quiet"]


def test_a_killed_run_resumed_ends_with_the_same_weights_bit_for_bit(tiny, tmp_path, capsys):
    straight = tmp_path / "straight.safetensors"
    assert main(["train", "--dataset", tiny, *KILLABLE, "--out", str(straight)]) == 0

    runs, resumed = tmp_path / "runs", tmp_path / "resumed.safetensors"
    checkpoint = runs / "checkpoint.safetensors"
    process = _start_and_wait_for_epoch(_cli("train", "--dataset", tiny, *KILLABLE, "--checkpoint-dir", runs, "--out", resumed), checkpoint, 2)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL
    assert 2 <= _checkpoint_epoch(checkpoint) < 8, "killed too late: the run had finished"
    assert not resumed.exists()

    done = subprocess.run(_cli("train", "--resume", runs, "--quiet", "--out", resumed), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""
    a, _ = read_safetensors(straight)
    b, _ = read_safetensors(resumed)
    layers = sorted(key for key in a if key.startswith("layers."))
    assert layers == sorted(key for key in b if key.startswith("layers.")) and len(layers) == 6
    for key in layers:
        assert a[key].dtype == b[key].dtype and a[key].tobytes() == b[key].tobytes(), key
    history = nnet.load(resumed).metadata["history"]["epochs"]
    assert [e["epoch"] for e in history] == list(range(1, 9))


def test_ctrl_c_stops_cleanly_and_says_where_the_checkpoint_is(tiny, tmp_path):
    runs = tmp_path / "runs"
    process = _start_and_wait_for_epoch(
        _cli("train", "--dataset", tiny, *KILLABLE, "--epochs", "1000", "--checkpoint-dir", runs,  # still running
             "--out", tmp_path / "m.safetensors"),  # at the interrupt, however fast the machine
        runs / "checkpoint.safetensors", 1,
    )
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert "interrupted" in err and str(runs / "checkpoint.safetensors") in err and f"--resume {runs}" in err
    assert not (tmp_path / "m.safetensors").exists()


# -- files: checked before training, never overwritten, said when nothing was saved -----------


def test_an_out_folder_that_cannot_take_a_file_fails_before_training(tiny, tmp_path, capsys, monkeypatch):
    import tempfile

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    model = tmp_path / "m.safetensors"
    code, _, err = train(capsys, "--dataset", tiny, *FAST, "--out", model)
    assert code == 1
    line = one_error_line(err)  # one line: no epoch ran before the refusal
    assert f"--out {model}: cannot write in folder {tmp_path}: Permission denied" in line
    assert not model.exists()


def test_the_write_check_leaves_nothing_behind(tiny, tmp_path, capsys):
    (tmp_path / "out").mkdir()
    model = tmp_path / "out" / "m.safetensors"
    assert train(capsys, "--dataset", tiny, *FAST, "--quiet", "--out", model)[0] == 0
    assert [p.name for p in model.parent.iterdir()] == ["m.safetensors"]


def _interrupt(*args, **kwargs):
    raise KeyboardInterrupt


def test_ctrl_c_without_a_checkpoint_dir_says_nothing_was_saved(tiny, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(nnet.training.Trainer, "run", _interrupt)
    model = tmp_path / "m.safetensors"
    code, _, err = train(capsys, "--dataset", tiny, *FAST, "--quiet", "--out", model)
    assert code == 130
    assert "interrupted during epoch 1 of 3" in err and "nothing was saved" in err and "--checkpoint-dir" in err
    assert not model.exists()


def test_ctrl_c_while_saving_says_the_model_was_not_saved(tiny, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(nnet, "save", _interrupt)
    model = tmp_path / "m.safetensors"
    code, _, err = train(capsys, "--dataset", tiny, *FAST, "--quiet", "--out", model)
    assert code == 130
    assert "interrupted after the last epoch, before the model was saved; nothing was saved" in err
    assert "Traceback" not in err and not model.exists()


def test_resume_never_overwrites_another_runs_checkpoint(tiny, tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    short = ["--dataset", tiny, "--validation", "100", "--epochs", "1", "--quiet", "--out", tmp_path / "m.safetensors"]
    assert train(capsys, *short, "--checkpoint-dir", a)[0] == 0
    assert train(capsys, *short, "--seed", "5", "--checkpoint-dir", b, "--overwrite")[0] == 0
    kept = (b / "checkpoint.safetensors").read_bytes()
    code, _, err = train(capsys, "--resume", a, "--epochs", "2", "--checkpoint-dir", b, "--out", tmp_path / "m.safetensors",
                         "--overwrite")
    assert code == 1
    assert f"{b / 'checkpoint.safetensors'} already exists" in one_error_line(err)
    assert (b / "checkpoint.safetensors").read_bytes() == kept
    # the folder being resumed is its own: given again, under another spelling, it is written on
    code, _, err = train(capsys, "--resume", a / "checkpoint.safetensors", "--epochs", "2", "--checkpoint-dir", f"{a}/.",
                         "--quiet", "--out", tmp_path / "m.safetensors", "--overwrite")
    assert code == 0, err
    assert _checkpoint_epoch(a / "checkpoint.safetensors") == 2


# -- divergence: one suggestion ----------------------------------------------------------------


def test_divergence_end_to_end_has_one_suggestion(tiny, tmp_path, capsys):
    code, _, err = train(capsys, "--dataset", tiny, *FAST, "--learning-rate", "1e9", "--quiet", "--out", tmp_path / "m.safetensors")
    assert code == 1
    line = one_error_line(err)
    # one suggestion, the same in the library's words and as the command to run
    assert "Try a smaller learning rate, e.g. 1e+08." in line
    assert line.endswith("Retry with: nnet train --learning-rate 1e+08. No model was saved.")


# -- --dataset: names first, then paths of every kind ------------------------------------------


def test_a_registered_name_wins_over_a_folder_of_that_name(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mnist").mkdir()  # an empty folder that happens to be called mnist
    code, _, err = train(capsys, "--hidden", "none", "--epochs", "1", "--validation", "0", "--quiet", "--out", "m.safetensors")
    assert code == 0, err
    assert nnet.load(tmp_path / "m.safetensors").metadata["dataset"]["name"] == "mnist"
    code, _, err = train(capsys, "--dataset", "./mnist", "--epochs", "1")  # ./ forces the path
    assert code == 1 and "train-images-idx3-ubyte" in one_error_line(err)
    code, _, err = train(capsys, "--dataset", "./nowhere", "--epochs", "1")
    assert code == 1 and "--dataset ./nowhere: no such file or folder" in one_error_line(err)
    code, out, _ = train(capsys, "--help")
    assert code == 0 and "./mnist" in out


def test_a_damaged_npz_is_one_clear_error(tmp_path, capsys):
    (x, y), _ = load_mnist()
    np.savez_compressed(tmp_path / "digits.npz", x=x[:300], y=y[:300])
    blob = (tmp_path / "digits.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(blob[: len(blob) // 2])  # a download that stopped halfway
    code, _, err = train(capsys, "--dataset", tmp_path / "cut.npz", "--epochs", "1")
    assert code == 1
    assert f"{tmp_path / 'cut.npz'}: cannot read as .npz" in one_error_line(err)


def write_kaggle_csv(path: Path, x: np.ndarray, y: np.ndarray) -> Path:
    header = "label," + ",".join(f"pixel{i}" for i in range(x.shape[1]))
    rows = [",".join(map(str, [label, *pixels])) for label, pixels in zip(y.tolist(), x.tolist())]
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def test_a_csv_dataset_trains_with_a_seeded_stratified_tenth_as_the_test_set(tmp_path, capsys):
    (x, y), _ = load_mnist()
    order = np.argsort(y[:200], kind="stable")  # sorted by class: the last tenth would be all nines
    csv = write_kaggle_csv(tmp_path / "train.csv", x[:200][order], y[:200][order])
    model = tmp_path / "csv.safetensors"
    code, _, err = train(capsys, "--dataset", csv, "--validation", "0", "--epochs", "1", "--out", model)
    assert code == 0, err
    assert "a seeded, stratified 10% of its rows is the test set (20 of 200)" in err
    dataset = nnet.load(model).metadata["dataset"]
    assert (dataset["kind"], dataset["train"], dataset["test"]) == ("csv", 180, 20)
    assert dataset["path"] == str(csv.resolve())
    code, out, err = train_like_evaluate(capsys, model)
    assert code == 0, err
    supports = [c["support"] for c in json.loads(out)["classes"]]
    assert sum(supports) == 20 and all(support >= 1 for support in supports)  # every digit, not the nines alone


def write_image_folder(root: Path, per_class: int = 10) -> dict[str, list[np.ndarray]]:
    """MNIST training digits 0, 1 and 2 as 28x28 PNGs, one subfolder per class, named in words."""
    from PIL import Image

    (x, y), _ = load_mnist()
    folders = {"zero": 0, "one": 1, "two": 2}
    images = {}
    for name, digit in folders.items():
        (root / name).mkdir(parents=True)
        images[name] = list(x[y == digit][:per_class].reshape(-1, 28, 28))
        for i, pixels in enumerate(images[name]):
            Image.fromarray(pixels).save(root / name / f"{i:03d}.png")
    return images


def test_an_image_folder_trains_with_a_stratified_test_set(tmp_path, capsys):
    write_image_folder(tmp_path / "digits")
    model = tmp_path / "folder.safetensors"
    code, _, err = train(capsys, "--dataset", tmp_path / "digits", "--validation", "0", "--epochs", "2", "--out", model)
    assert code == 0, err
    assert "stratified" in err
    network = nnet.load(model)
    assert network.sizes == [784, 128, 3] and network.class_names == ["one", "two", "zero"]
    dataset = network.metadata["dataset"]
    assert (dataset["kind"], dataset["train"], dataset["test"]) == ("images", 27, 3)
    # the test set holds one image of every class (the last 10% would be three "zero"s), and
    # evaluate, finding the dataset again from the model, scores the same three images
    code, out, err = train_like_evaluate(capsys, model)
    assert code == 0, err
    result = json.loads(out)
    assert [(c["class"], c["support"]) for c in result["classes"]] == [("one", 1), ("two", 1), ("zero", 1)]


def train_like_evaluate(capsys, model) -> tuple[int, str, str]:
    code = main(["evaluate", str(model), "--json"])
    out, err = capsys.readouterr()
    return code, out, err
