"""Data-parallel training (nnet.distributed): the same weights as one process, and failures that
end the job in one line instead of hanging it.

The MPI tests run small jobs under ``mpiexec -n 2`` and ``-n 3`` (tests/_mpi_fit.py) and compare
what every process ends with against the same run in this one process. They are skipped only
where mpi4py or mpiexec is not installed (``pip install 'nnet[mpi]'`` brings both).

The bound: weights agree to ``PARITY * max|w|``. Every process computes each of its rows exactly
as one process computes that row (the same inputs, the same dropout mask, δᴸ = (a - y) · 1/m with
the whole batch's m), so the only difference is the order of the sums over the batch's rows:
δᵀa over each shard, then the shards added by the Allreduce, instead of one sum over the batch.
That changes a float32 sum by a few units in the last place; over a few dozen steps of Adam this
was measured at ≤ 3.3e-7 (≈ 2.5 ulp of the largest weight, 1.36); PARITY = 1e-5 leaves room for
other BLAS kernels, and is still far below what a wrong mask or a wrong 1/m gives (checked below).
"""

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from _distributed_helpers import train  # noqa: E402

import nnet  # noqa: E402
from nnet import distributed  # noqa: E402

HERE = Path(__file__).parent
PARITY = 1e-5
#: Seconds within which a failing job must have ended (it takes about one here).
PROMPTLY = 30

BASE = {"dropout": 0.3, "epochs": 4, "batch_size": 16, "early_stopping": 2}


def mpiexec() -> str | None:
    found = shutil.which("mpiexec", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    return found if found and importlib.util.find_spec("mpi4py") else None


needs_mpi = pytest.mark.skipif(mpiexec() is None, reason="mpi4py and mpiexec are not installed (pip install 'nnet[mpi]')")


def run_job(processes: int, settings: dict, out: Path):
    """Run tests/_mpi_fit.py under mpiexec; returns (completed process, seconds)."""
    out.mkdir(parents=True, exist_ok=True)
    command = [mpiexec(), "-n", str(processes), sys.executable, str(HERE / "_mpi_fit.py"), str(out), json.dumps(settings)]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, env=_environment())
    return done, time.perf_counter() - started


def _environment() -> dict:
    environment = dict(os.environ)
    source = str(HERE.parent / "src")
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [source, environment.get("PYTHONPATH")]))
    environment["OMP_NUM_THREADS"] = environment["OPENBLAS_NUM_THREADS"] = "1"
    return environment


def results(out: Path, processes: int):
    """Each process's (parameters, history dict)."""
    found = []
    for rank in range(processes):
        with np.load(out / f"rank{rank}.npz") as saved:
            found.append((saved["parameters"], json.loads(str(saved["history"]))))
    return found


def error_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


# -- one process: the pieces -----------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kept", [0, 1])
def test_a_shard_draws_its_rows_of_the_whole_batch_mask_and_leaves_the_generator_where_the_batch_does(dtype, kept):
    rng = np.random.default_rng(0)
    for _ in range(300):
        seed, rows, width = int(rng.integers(1 << 30)), int(rng.integers(1, 30)), int(rng.integers(1, 9))
        size = int(rng.integers(1, 5))
        rank = int(rng.integers(size))
        whole, shard = np.random.default_rng(seed), np.random.default_rng(seed)
        for generator in (whole, shard):  # kept=1 leaves half a 64-bit output kept for the next float32
            generator.random(kept, dtype=np.float32)
        mask = whole.random((rows, width), dtype=dtype)
        start, stop = distributed.Group.shard(_Place(rank, size), rows)
        drawer = distributed.ShardRandom(shard, start, stop, rows)
        if stop > start:
            mine = np.empty((stop - start, width), dtype)
            drawer.random(out=mine, dtype=dtype)
            np.testing.assert_array_equal(mine, mask[start:stop])
        else:
            drawer.skip_batch([width], dtype)
        np.testing.assert_array_equal(shard.random(4, dtype=np.float32), whole.random(4, dtype=np.float32))


def test_skipping_by_drawing_gives_the_same_stream_as_jumping(monkeypatch):
    jumped, drawn, reference = (np.random.default_rng(5) for _ in range(3))
    distributed.skip(jumped, 12345, np.float32)
    monkeypatch.setattr(distributed, "_agreed", False)  # as for a NumPy whose draws differ
    distributed.skip(drawn, 12345, np.float32)
    reference.random(12345, dtype=np.float32)
    expected = reference.random(5)
    np.testing.assert_array_equal(jumped.random(5), expected)
    np.testing.assert_array_equal(drawn.random(5), expected)


class _Place:
    def __init__(self, rank, size):
        self.rank, self.size = rank, size


@pytest.mark.parametrize("rows", [1, 2, 7, 16, 97])
@pytest.mark.parametrize("size", [1, 2, 3, 5])
def test_the_shards_of_a_batch_cover_it_in_order_and_differ_by_one_row_at_most(rows, size):
    parts = [distributed.Group.shard(_Place(rank, size), rows) for rank in range(size)]
    assert parts[0][0] == 0 and parts[-1][1] == rows
    assert all(a[1] == b[0] for a, b in zip(parts, parts[1:]))
    sizes = [stop - start for start, stop in parts]
    assert max(sizes) - min(sizes) <= 1
    assert max(sizes) == distributed.Group.largest_shard(_Place(0, size), rows)


def test_training_images_stay_on_disk_where_the_file_allows_and_read_the_same(tmp_path):
    from nnet.datasets import load_path, write_idx
    from nnet.datasets.local import IDX_NAMES

    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 256, (30, 28, 28), dtype=np.uint8), rng.integers(0, 10, 30).astype(np.uint8)
    for part in ("train", "test"):
        write_idx(tmp_path / IDX_NAMES[part][0], x)
        write_idx(tmp_path / f"{IDX_NAMES[part][1]}.gz", y)
    np.savez(tmp_path / "stored.npz", x_train=x, y_train=y, x_test=x[:5], y_test=y[:5])
    np.savez_compressed(tmp_path / "deflated.npz", x_train=x, y_train=y, x_test=x[:5], y_test=y[:5])
    for source, on_disk in ((tmp_path, True), (tmp_path / "stored.npz", True), (tmp_path / "deflated.npz", False)):
        read, mapped = load_path(source), load_path(source, mapped=True)
        assert _is_mapped(mapped.train[0]) is on_disk and not _is_mapped(read.train[0])
        np.testing.assert_array_equal(mapped.train[0], read.train[0])
        np.testing.assert_array_equal(mapped.train[1], read.train[1])
        assert mapped.image_shape == read.image_shape == (28, 28)


def _is_mapped(array) -> bool:
    while array is not None and not isinstance(array, np.memmap):
        array = array.base
    return array is not None


def test_a_shard_draws_nothing_but_uniform_masks():
    drawer = distributed.ShardRandom(np.random.default_rng(0), 0, 1, 2)
    with pytest.raises(AttributeError, match="uniform masks only"):
        drawer.normal()


def test_alone_there_is_no_communicator_and_nothing_to_import(monkeypatch):
    for name in distributed.WORLD_SIZE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # importing it would fail
    assert distributed.world() is None
    monkeypatch.setenv("PMI_SIZE", "1")
    assert distributed.world() is None
    group = distributed.group(None)
    assert (group.rank, group.size, group.parallel) == (0, 1, False)
    with group.agreement():
        pass
    with pytest.raises(ValueError, match="mine"), group.agreement():
        raise ValueError("mine")


def test_started_as_one_of_several_without_mpi4py_says_how_to_install_it(monkeypatch):
    monkeypatch.setenv("PMI_SIZE", "2")
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    with pytest.raises(ImportError, match=r"pip install 'nnet\[mpi\]'"):
        distributed.world()


def test_comm_must_be_a_communicator():
    network = nnet.Network([2, 2], seed=0)
    with pytest.raises(TypeError, match="mpi4py communicator"):
        network.fit(np.zeros((4, 2)), np.zeros(4, int), comm="world")


def test_the_cost_of_a_shard_is_its_share_of_the_batch_mean():
    """Backprop on two halves with batch_rows = the whole batch adds up to backprop on the whole."""
    network = nnet.Network([5, 4, 3], activation="tanh", output="softmax", cost="cross_entropy", seed=1, dtype="float64")
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(10, 5)), rng.integers(0, 3, 10)
    space = nnet.speed.Workspace(network.layers, 10, 3, network.dtype)
    examples = network.examples(x, y)
    examples.gather(np.arange(10), space.x, space.targets, space.labels)
    whole_cost = network.backprop_batch(space)
    whole = network.gradients.copy()
    total, cost = np.zeros_like(whole), 0.0
    for part in (np.arange(4), np.arange(4, 10)):
        half = space.rows(len(part))
        examples.gather(part, half.x, half.targets, half.labels)
        cost += network.backprop_batch(half, mean_over=10)
        total += network.gradients
    np.testing.assert_allclose(total, whole, rtol=1e-12, atol=1e-15)
    assert cost == pytest.approx(whole_cost, rel=1e-12)


# -- under mpiexec -----------------------------------------------------------------------------


@needs_mpi
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam", "weighted"])
@pytest.mark.parametrize("processes", [2, 3])
def test_data_parallel_training_ends_with_the_weights_of_one_process(tmp_path, optimizer, processes):
    """"weighted": nesterov with rows weighted (the batch's mean over its total weight)."""
    settings = {**BASE, "optimizer": optimizer}
    if optimizer == "weighted":
        settings.update(optimizer="nesterov", weighted=True)
    done, _ = run_job(processes, settings, tmp_path)
    assert done.returncode == 0, done.stderr
    network, trainer = train(settings)
    found = results(tmp_path, processes)
    for parameters, _ in found[1:]:  # every process holds the same weights, bit for bit
        np.testing.assert_array_equal(parameters, found[0][0])
    parameters, history = found[0]
    scale = np.abs(network.parameters).max()
    assert np.abs(parameters - network.parameters).max() <= PARITY * scale
    alone = trainer.history
    assert len(history["epochs"]) == len(alone.epochs)
    assert history["best_epoch"] == alone.best_epoch and history["stopped_early"] == alone.stopped_early
    for record, expected in zip(history["epochs"], alone.epochs):
        assert record["train_cost"] == pytest.approx(expected.train_cost, rel=1e-5)
        assert record["train_accuracy"] == pytest.approx(expected.train_accuracy, abs=1e-12)
        assert record["validation_cost"] == pytest.approx(expected.validation_cost, rel=1e-5)


@needs_mpi
@pytest.mark.parametrize("processes", [2, 3])
def test_a_regression_run_records_the_r2_of_one_process(tmp_path, processes):
    """R² over the epoch's batches adds up every process's rows (the last batch's row falls to one
    process alone under -n 3); the validation R² is rank 0's, shared."""
    settings = {**BASE, "optimizer": "adam", "dropout": 0.0, "regression": True}
    done, _ = run_job(processes, settings, tmp_path)
    assert done.returncode == 0, done.stderr
    _, trainer = train(settings)
    for _, history in results(tmp_path, processes):
        assert len(history["epochs"]) == len(trainer.history.epochs)
        for record, expected in zip(history["epochs"], trainer.history.epochs):
            assert record["train_accuracy"] is None and record["validation_accuracy"] is None
            assert record["train_r2"] == pytest.approx(expected.train_r2, rel=1e-6)
            assert record["validation_r2"] == pytest.approx(expected.validation_r2, rel=1e-6)
    assert trainer.history.epochs[-1].train_r2 > trainer.history.epochs[0].train_r2  # it learns


def test_the_parity_bound_is_far_below_what_a_different_mask_gives():
    """What the bound rules out: the same run whose dropout drew other masks (another seed's)."""
    network, _ = train({**BASE, "optimizer": "adam"})
    other = nnet.Network([12, 16, 8, 3], activation="relu", output="softmax", cost="cross_entropy", dropout=0.3, seed=3)
    from _distributed_helpers import data

    (x, y), validation = data()
    other.fit(x, y, validation_data=validation, seed=12, optimizer="adam", epochs=4, batch_size=16, early_stopping=2)
    assert np.abs(other.parameters - network.parameters).max() > 100 * PARITY * np.abs(network.parameters).max()


AUGMENTED = {**BASE, "optimizer": "momentum", "augment": "shift=1,rotation=10,scale=0.1,alpha=4,sigma=1.5"}


@needs_mpi
@pytest.mark.parametrize("processes", [2, 3])
def test_augmented_data_parallel_training_ends_with_the_weights_of_one_process(tmp_path, processes):
    """Each process distorts its rows of every batch (the last one: of one row) as one process
    distorts them: nnet.minibatches draws a shard's numbers of the batch's augmentation."""
    done, _ = run_job(processes, AUGMENTED, tmp_path)
    assert done.returncode == 0, done.stderr
    network, trainer = train(AUGMENTED)
    found = results(tmp_path, processes)
    for parameters, _ in found[1:]:
        np.testing.assert_array_equal(parameters, found[0][0])
    parameters, history = found[0]
    assert np.abs(parameters - network.parameters).max() <= PARITY * np.abs(network.parameters).max()
    for record, expected in zip(history["epochs"], trainer.history.epochs):
        assert record["train_accuracy"] == pytest.approx(expected.train_accuracy, abs=1e-12)


def test_the_parity_bound_is_far_below_what_other_distortions_give():
    network, _ = train(AUGMENTED)
    other, _ = train({**AUGMENTED, "augment": "shift=1,rotation=10,scale=0.1,alpha=4,sigma=1.6"})
    assert np.abs(other.parameters - network.parameters).max() > 100 * PARITY * np.abs(network.parameters).max()


@needs_mpi
def test_a_stop_asked_on_one_process_stops_all_after_that_batch_as_one_process_would(tmp_path):
    settings = {**BASE, "optimizer": "momentum", "early_stopping": None}
    done, _ = run_job(3, {**settings, "stop": [2, 1, 3]}, tmp_path)
    assert done.returncode == 0, done.stderr

    class Stop(nnet.Callback):
        def on_batch_end(self, state):
            state.stop_training = state.stop_training or (state.epoch, state.batch) == (1, 3)

    network, trainer = train(settings, callbacks=[Stop()])
    parameters, history = results(tmp_path, 3)[0]
    assert len(history["epochs"]) == len(trainer.history.epochs) == 2
    assert history["epochs"][-1]["train_accuracy"] == pytest.approx(trainer.history.epochs[-1].train_accuracy)
    assert np.abs(parameters - network.parameters).max() <= PARITY * np.abs(network.parameters).max()


@needs_mpi
def test_resuming_with_another_number_of_processes_ends_where_one_uninterrupted_process_does(tmp_path):
    settings = {**BASE, "optimizer": "adam", "early_stopping": None}
    checkpoint = tmp_path / "checkpoint.safetensors"
    first, _ = run_job(3, {**settings, "epochs": 2, "checkpoint": str(checkpoint)}, tmp_path / "first")
    assert first.returncode == 0, first.stderr
    second, _ = run_job(2, {**settings, "epochs": 4, "resume": str(checkpoint)}, tmp_path / "second")
    assert second.returncode == 0, second.stderr
    network, trainer = train({**settings, "epochs": 4})
    parameters, history = results(tmp_path / "second", 2)[0]
    assert [record["epoch"] for record in history["epochs"]] == [1, 2, 3, 4]
    assert np.abs(parameters - network.parameters).max() <= PARITY * np.abs(network.parameters).max()


@needs_mpi
def test_a_process_that_raises_ends_the_job_at_once_with_one_line_naming_it(tmp_path):
    done, seconds = run_job(2, {**BASE, "fail": [1, 1, 2]}, tmp_path)
    assert done.returncode != 0
    assert seconds < PROMPTLY
    assert error_lines(done.stderr) == ["nnet: error: rank 1 of 2: a callback failed in epoch 2, batch 3"]
    assert not list(tmp_path.glob("rank*.npz"))


@needs_mpi
def test_a_process_that_dies_ends_the_job_at_once(tmp_path):
    done, seconds = run_job(3, {**BASE, "die": [2, 0, 1]}, tmp_path)
    assert done.returncode != 0
    assert seconds < PROMPTLY
    assert not list(tmp_path.glob("rank*.npz"))


@needs_mpi
def test_bad_data_on_one_process_stops_every_process_naming_it(tmp_path):
    done, seconds = run_job(3, {**BASE, "bad_rank": 1}, tmp_path)
    assert done.returncode == 1 and seconds < PROMPTLY
    assert error_lines(done.stderr) == [
        "error: PeerFailure: rank 1 of 3: x must be finite; found nan at row 5, column 3"
    ]


@needs_mpi
def test_bad_data_on_every_process_is_the_error_of_one_process(tmp_path):
    done, _ = run_job(2, {**BASE, "bad_rank": "all"}, tmp_path)
    with pytest.raises(ValueError) as alone:
        train(BASE, poison=True)
    assert done.returncode == 1
    assert error_lines(done.stderr) == [f"error: ValueError: {alone.value}"]


# -- nnet train under mpiexec -----------------------------------------------------------------


def nnet_train(processes: int, arguments: list[str], folder: Path):
    command = [sys.executable, "-m", "nnet.cli", "train", *arguments]
    if processes > 1:
        command = [mpiexec(), "-n", str(processes), *command]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=folder, env=_environment())


@pytest.fixture
def tiny_dataset(tmp_path):
    """600 + 100 seeded 28x28 images in an .npz stored without compression (so mapped)."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (700, 784), dtype=np.uint8)
    y = x[:, :10].argmax(axis=1)
    np.savez(tmp_path / "tiny.npz", x_train=x[:600], y_train=y[:600], x_test=x[600:], y_test=y[600:])
    return tmp_path


TRAIN = ["--dataset", "./tiny.npz", "--hidden", "16", "--validation", "100", "--batch-size", "32", "--dropout", "0.2",
         "--optimizer", "adam", "--lr-schedule", "constant"]


@needs_mpi
def test_nnet_train_under_mpiexec_resumed_with_other_processes_saves_what_one_process_saves(tiny_dataset):
    first = nnet_train(3, [*TRAIN, "--epochs", "2", "--checkpoint-dir", "run", "--out", "first.safetensors"], tiny_dataset)
    assert first.returncode == 0, first.stderr
    assert first.stdout.count("saved") == 1  # rank 0 alone reports
    assert first.stderr.count("training 784-16-10") == 1
    second = nnet_train(2, [*TRAIN, "--epochs", "3", "--resume", "run", "--out", "resumed.safetensors", "--quiet"], tiny_dataset)
    assert second.returncode == 0, second.stderr
    alone = nnet_train(1, [*TRAIN, "--epochs", "3", "--out", "alone.safetensors", "--quiet"], tiny_dataset)
    assert alone.returncode == 0, alone.stderr
    resumed, expected = nnet.load(tiny_dataset / "resumed.safetensors"), nnet.load(tiny_dataset / "alone.safetensors")
    assert [record["epoch"] for record in resumed.metadata["history"]["epochs"]] == [1, 2, 3]
    assert np.abs(resumed.parameters - expected.parameters).max() <= PARITY * np.abs(expected.parameters).max()


@needs_mpi
def test_nnet_train_under_mpiexec_refuses_bad_settings_in_one_line(tiny_dataset):
    done = nnet_train(2, [*TRAIN, "--dataset", "./missing.npz", "--epochs", "1"], tiny_dataset)
    assert done.returncode == 1
    assert error_lines(done.stderr) == ["nnet: error: --dataset ./missing.npz: no such file or folder"]


@needs_mpi
def test_ctrl_c_under_mpiexec_ends_every_process_and_leaves_the_last_checkpoint(tiny_dataset):
    import signal

    command = [mpiexec(), "-n", "2", sys.executable, "-m", "nnet.cli", "train", *TRAIN, "--epochs", "500",
               "--batch-size", "8", "--checkpoint-dir", "run", "--quiet"]
    job = subprocess.Popen(command, cwd=tiny_dataset, env=_environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    checkpoint = tiny_dataset / "run" / "checkpoint.safetensors"
    deadline = time.monotonic() + 60
    while not checkpoint.exists() and time.monotonic() < deadline and job.poll() is None:
        time.sleep(0.05)
    assert checkpoint.exists(), "no epoch finished within a minute"
    job.send_signal(signal.SIGINT)  # what Ctrl-C in the terminal does to mpiexec
    try:
        _, stderr = job.communicate(timeout=PROMPTLY)
    except subprocess.TimeoutExpired:
        job.kill()
        raise
    assert job.returncode == 130
    ours = [line for line in error_lines(stderr) if line.startswith("nnet:")]
    assert len(ours) == 1 and re.fullmatch(r"nnet: error: rank [01] of 2: interrupted", ours[0]), stderr
    assert nnet.checkpoints.load_checkpoint(checkpoint)[1]["next_epoch"] >= 1
