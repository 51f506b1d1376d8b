"""The CLI's end of issue 9: findings 5, 7 and 9 against the old public API (each fails on the
code the attack was run on), and every hostile file of tests/data/hostile/ through the commands
that read it, end to end, in a child whose address space may grow by
``nnet.limits.MAX_MEMORY_FOR_SMALL_FILES`` at most: exit status 1, one line ``nnet: error: ...``,
no traceback, whatever the file claims."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nnet
from nnet.cli import main

HOSTILE = Path(__file__).parent / "data" / "hostile"
ROOT = Path(__file__).resolve().parents[1]

#: What a model file may try to do to a terminal: clear it, retitle the window, ring, plant a
#: hyperlink, overwrite the line with a fake score, turn the text right to left, a C1 CSI.
ESCAPES = ["\x1b[2J\x1b[H", "\x1b]0;pwned\x07", "\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\",
           "\rtest accuracy 99.99%", "\u202egnp.exe", "\x9b31m"]
RAW = ("\x1b", "\x07", "\r", "\u202e", "\x9b")


def run(capsys, *args) -> tuple[int, str, str]:
    code = main([str(arg) for arg in args])
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("nnet: error: ") and "Traceback" not in err
    return lines[0]


def tiny_npz(path, n=30, classes=3):
    rng = np.random.default_rng(0)
    np.savez(path, x=rng.integers(0, 256, size=(n, 784), dtype=np.uint8), y=np.arange(n) % classes)
    return path


# -- finding 7: text from files is shown, never obeyed ---------------------------------------


@pytest.fixture
def hostile_model(tmp_path):
    path = tmp_path / "model.safetensors"
    nnet.save(nnet.Network([784, 4, 3], activation="relu", output="softmax", cost="cross_entropy", seed=0), path,
              metadata={"classes": ESCAPES[:3], "note": "".join(ESCAPES), "command": ESCAPES,
                        "dataset": {"name": ESCAPES[3], "kind": "file", "path": None}})
    return path


def test_finding_7_nnet_info_makes_control_characters_visible(hostile_model, capsys):
    code, out, err = run(capsys, "info", hostile_model)
    assert code == 0, err
    assert not any(raw in out + err for raw in RAW), repr(out)
    assert "\\x1b[2J" in out and "\\x1b]0;pwned\\x07" in out and "\\rtest accuracy 99.99%" in out


def test_finding_7_nnet_evaluate_makes_control_characters_visible(hostile_model, tmp_path, capsys):
    code, out, err = run(capsys, "evaluate", hostile_model, "--dataset", tiny_npz(tmp_path / "d.npz"))
    assert code == 0, err
    assert not any(raw in out + err for raw in RAW), repr(out)
    assert "\\x1b[2J" in out and "\\x1b]0;pwned\\x07" in out


def test_finding_7_nnet_predict_makes_control_characters_visible(hostile_model, tmp_path, capsys):
    pytest.importorskip("PIL")
    from PIL import Image

    canvas = np.zeros((28, 28), np.uint8)
    canvas[6:22, 12:16] = 255
    image = tmp_path / "\x1b[31mred.png"
    Image.fromarray(canvas).save(image)
    code, out, err = run(capsys, "predict", hostile_model, image, "--top", "3")
    assert code == 0, err
    assert not any(raw in out + err for raw in RAW), repr(out)
    assert "\\x1b[31mred.png" in out


def test_finding_7_an_error_line_makes_control_characters_visible(tmp_path, capsys):
    path = tmp_path / "\x1b]0;pwned\x07.safetensors"
    path.write_bytes(b"\x1b[2J" * 10)
    code, _, err = run(capsys, "info", path)
    assert code == 1
    line = one_error_line(err)
    assert not any(raw in line for raw in RAW) and "\\x1b]0;pwned\\x07" in line


# -- finding 9: a trained model is never overwritten silently ---------------------------------


def test_finding_9_nnet_train_refuses_to_overwrite_a_model(tmp_path, capsys):
    data = tiny_npz(tmp_path / "d.npz")
    out = tmp_path / "model.safetensors"
    train = ["train", "--dataset", data, "--validation", "0", "--epochs", "1", "--hidden", "4", "--quiet", "--out", out]
    assert run(capsys, *train)[0] == 0
    first = out.read_bytes()
    code, _, err = run(capsys, *train, "--seed", "1")
    assert code == 1 and out.read_bytes() == first
    assert "--overwrite" in one_error_line(err) and str(out) in err
    assert run(capsys, *train, "--seed", "1", "--overwrite")[0] == 0
    assert out.read_bytes() != first


# -- findings 1, 4 and 5 at the command line ---------------------------------------------------


def test_finding_5_nnet_train_hidden_99999999_is_one_line(tmp_path, capsys):
    code, _, err = run(capsys, "train", "--dataset", tiny_npz(tmp_path / "d.npz"), "--hidden", "99999999",
                       "--validation", "0", "--epochs", "1", "--quiet", "--out", tmp_path / "m.safetensors")
    assert code == 1
    assert "parameters" in one_error_line(err)
    assert not (tmp_path / "m.safetensors").exists()


def test_finding_5_nnet_predict_on_a_damaged_dds_is_one_line(tmp_path, capsys):
    pytest.importorskip("PIL")
    model = tmp_path / "m.safetensors"
    nnet.save(nnet.Network([784, 4, 10], seed=0), model)
    dds = tmp_path / "seven.dds"
    shutil.copy(HOSTILE / "image" / "finding-5-damaged.dds", dds)
    code, _, err = run(capsys, "predict", model, dds)
    assert code == 1 and str(dds) in one_error_line(err)


# -- every hostile file, end to end, within the memory bound ----------------------------------

_CHILD = r"""
import io, json, resource, sys
from contextlib import redirect_stderr, redirect_stdout
from nnet import limits
from nnet.cli import main
size = next(int(line.split()[1]) * 1024 for line in open("/proc/self/status") if line.startswith("VmSize:"))
cap = size + limits.MAX_MEMORY_FOR_SMALL_FILES
resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
results = []
for argv in json.loads(sys.argv[1]):
    out, err = io.StringIO(), io.StringIO()
    try:
        with redirect_stdout(out), redirect_stderr(err):
            code = main(argv)
    except BaseException as failure:  # a traceback at the command line
        code, err = "raised", io.StringIO(f"{type(failure).__name__}: {failure}")
    results.append([argv, code, err.getvalue()[-500:]])
print(json.dumps(results))
"""


def commands(folder: Path) -> list[list[str]]:
    """The commands that read each hostile file, set up in ``folder``. (A checkpoint whose
    training state is damaged is still a sound model: only ``--resume`` must refuse it.)"""
    from PIL import Image

    model = folder / "fine.safetensors"
    nnet.save(nnet.Network([784, 4, 10], seed=0), model)
    data = tiny_npz(folder / "fine.npz", classes=10)
    digit = folder / "fine.png"
    canvas = np.zeros((28, 28), np.uint8)
    canvas[6:22, 12:16] = 255
    Image.fromarray(canvas).save(digit)
    train = ["train", "--validation", "0", "--epochs", "1", "--hidden", "4", "--quiet", "--overwrite",
             "--out", str(folder / "out.safetensors")]
    argvs = []
    for path in sorted((HOSTILE / "model").iterdir()):
        argvs += [["info", str(path)], ["evaluate", str(path), "--dataset", str(data)], ["predict", str(path), str(digit)]]
    for path in sorted((HOSTILE / "model").iterdir()) + sorted((HOSTILE / "checkpoint").iterdir()):
        resume = folder / f"resume-{path.stem}"
        resume.mkdir()
        shutil.copy(path, resume / "checkpoint.safetensors")
        argvs.append(["train", "--resume", str(resume), "--quiet", "--overwrite", "--out", str(folder / "out.safetensors")])
    for kind in ("csv", "npz"):
        argvs += [[*train, "--dataset", str(path)] for path in sorted((HOSTILE / kind).iterdir())]
    for path in sorted((HOSTILE / "idx").iterdir()):
        dataset = folder / f"idx-{path.name}"
        dataset.mkdir()
        gz = ".gz" if path.name.endswith(".gz") else ""
        shutil.copy(path, dataset / f"train-images-idx3-ubyte{gz}")
        for name, array in (("train-labels-idx1-ubyte", np.zeros(2, np.uint8)), ("t10k-images-idx3-ubyte", np.zeros((2, 28, 28), np.uint8)),
                            ("t10k-labels-idx1-ubyte", np.zeros(2, np.uint8))):
            nnet.datasets.write_idx(dataset / name, array)
        argvs.append([*train, "--dataset", str(dataset)])
    for path in sorted((HOSTILE / "image").iterdir()) + sorted((HOSTILE / "image_folder").iterdir()):
        argvs.append(["predict", str(model), str(path)])
    for path in sorted((HOSTILE / "image_folder").iterdir()):
        dataset = folder / f"images-{path.name}"
        for label in ("a", "b"):
            (dataset / label).mkdir(parents=True)
            for number in range(3):
                shutil.copy(digit, dataset / label / f"{number}.png")
        shutil.copy(path, dataset / "b" / path.name)
        argvs.append([*train, "--dataset", str(dataset)])
    return argvs


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="address-space caps and /proc are Linux's")
def test_every_hostile_file_is_one_error_line_within_the_memory_bound(tmp_path):
    pytest.importorskip("PIL")
    argvs = commands(tmp_path)
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(argvs)], capture_output=True, text=True,
                          env=env, timeout=900, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout.splitlines()[-1])
    assert len(results) == len(argvs) > 50
    wrong = [(argv, code, err) for argv, code, err in results
             if code != 1 or len(err.strip().splitlines()) != 1 or not err.startswith("nnet: error: ")]
    assert not wrong, "\n".join(f"{' '.join(argv)}\n  -> {code}: {err}" for argv, code, err in wrong)
