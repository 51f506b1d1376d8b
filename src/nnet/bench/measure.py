"""Measuring: the configurations timed in turns, the BLAS rate on the same products, peak memory
in fresh processes, and `nnet train` as a whole command."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time

import numpy as np

from . import conv
from .common import N_TRAIN, SETTLE_SECONDS, floats, weights_of
from .runners import RUNNERS, Config, Result, TorchRunner, reference

def training_flops(sizes: list[int], samples: int) -> float:
    """Matrix-product FLOPs of training a dense network of ``sizes`` on ``samples`` samples
    (:func:`nnet.bench.conv.flops` of its products)."""
    return conv.flops([(samples, n_in, n_out) for n_in, n_out in zip(sizes[:-1], sizes[1:])])


def gemm_rate(sizes: list[int], batch_size: int, repeats: int = 30) -> float:
    """GFLOP/s of NumPy's BLAS on exactly the products of one dense training step (float32), in
    nnet's layout: W as (n_out, n_in), z = x Wᵀ (conv.gemm_rate times a convolution's, whose
    filters are laid out the other way)."""
    rng = np.random.default_rng(0)
    products = []
    for index, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        x = rng.random((batch_size, n_in), dtype=np.float32)
        W = rng.random((n_out, n_in), dtype=np.float32)
        delta = rng.random((batch_size, n_out), dtype=np.float32)
        z, dW, dx = np.empty((batch_size, n_out), np.float32), np.empty_like(W), np.empty_like(x)
        products.append((x, W, delta, z, dW, dx, index > 0))
    flops = training_flops(sizes, batch_size)
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(repeats):
            for x, W, delta, z, dW, dx, input_gradient in products:
                np.matmul(x, W.T, out=z)
                np.matmul(delta.T, x, out=dW)
                if input_gradient:
                    np.matmul(delta, W, out=dx)
        best = min(best, (time.perf_counter() - started) / repeats)
    return flops / best / 1e9


def set_threads(threads: int, libraries=("nnet", "pytorch", "scikit-learn")) -> str:
    """Give every library the same number of threads; returns a note on how."""
    from nnet import speed

    speed.set_threads(threads)  # nnet's own threads while training
    notes = ["nnet's optimizer threads"]
    try:
        import threadpoolctl

        threadpoolctl.threadpool_limits(threads)
        notes.append("BLAS via threadpoolctl")
    except ImportError:
        notes.append("BLAS threads as set by OPENBLAS_NUM_THREADS (threadpoolctl missing)")
    if "pytorch" in libraries:
        try:
            import torch

            torch.set_num_threads(threads)
            notes.append("torch.set_num_threads")
        except ImportError:
            pass
    return ", ".join(notes)


def run_config(config: Config, libraries: list[str], repeats: int, data, log, *, memory: bool = True, threads: int = 1) -> dict:
    x_all, y_all = data
    x, y = x_all[: config.samples], y_all[: config.samples]
    network = reference(config)
    weights = weights_of(network)
    runners = [RUNNERS[name](config, weights, x, y) for name in libraries]
    results = {runner.name: Result(config.name, runner.name) for runner in runners}
    action = "train" if config.kind == "train" else "predict"
    for runner in runners:  # warm up: first calls allocate, page in, spin up threads
        getattr(runner, action)(seed=0) if action == "train" else runner.predict()
    for repeat in range(repeats):
        for runner in runners if repeat % 2 == 0 else reversed(runners):
            # Let the previous library's idle threads stop spinning (OpenBLAS and OpenMP
            # workers busy-wait for a while after each call) so they do not steal a core.
            time.sleep(SETTLE_SECONDS)
            started = time.perf_counter()
            getattr(runner, action)(seed=repeat) if action == "train" else runner.predict()
            results[runner.name].seconds.append(time.perf_counter() - started)
        log(".")
    summary = summarize(config, results, network)
    if memory:
        for name in libraries:
            summary["libraries"][name]["peak_memory_mb"] = peak_memory(config, name, threads)
        log("m")
    return summary


def summarize(config: Config, results: dict[str, Result], network) -> dict:
    rows = {}
    torch_seconds = results["pytorch"].median() if "pytorch" in results else None
    step = conv.products(network, config.batch_size)  # (the dense ones are training_flops's and gemm_rate's)
    gemm = (conv.gemm_rate(step) if config.layers else gemm_rate(config.sizes, config.batch_size)) \
        if config.kind == "train" else None
    for name, result in results.items():
        seconds = result.median()
        row = {
            "samples_per_second": config.samples / seconds,
            "seconds_per_repeat": result.seconds,
            "vs_pytorch": None if torch_seconds is None else torch_seconds / seconds,
        }
        if config.kind == "train":
            flop_rate = conv.flops(step, config.samples / config.batch_size) / seconds / 1e9
            row.update(
                seconds_per_epoch=seconds * N_TRAIN / config.samples,
                gflops=flop_rate,
                gemm_percent=100.0 * flop_rate / gemm,
            )
        else:
            row["microseconds_per_call"] = 1e6 * seconds * config.batch_size / config.samples
        rows[name] = row
    return {"config": config.name, "title": config.title, "kind": config.kind, "gemm_gflops": gemm, "libraries": rows}


_CHILD = """
import sys
from nnet.cli import main
code = main(sys.argv[1:])
with open("/proc/self/status") as status:  # VmHWM: this program's peak resident memory
    peak = next(line.split()[1] for line in status if line.startswith("VmHWM"))
print("VmHWM", peak, file=sys.stderr)
sys.exit(code)
"""


def run_command(arguments: list[str]) -> tuple[float, float | None, str]:
    """Run ``nnet ARGUMENTS`` in a fresh Python; return (wall seconds, peak resident MB, stdout).

    The peak is the child's own VmHWM from /proc (Linux), read as it ends: rusage would also count
    the memory of this process, which the child shares between fork and exec.
    """
    started = time.perf_counter()
    process = subprocess.run([sys.executable, "-c", _CHILD, *arguments], capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"nnet {' '.join(arguments)} failed:\n{process.stderr}")
    peaks = [line.split()[1] for line in process.stderr.splitlines() if line.startswith("VmHWM ")]
    return seconds, float(peaks[-1]) / 1024.0 if peaks else None, process.stdout


_MEMORY_CHILD = """
import sys
import nnet
from nnet import bench, datasets
name, library, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
bench.set_threads(threads, [library])
config = bench.CONFIGS[name]
(x, y), _ = datasets.load_mnist()
x, y = x[: config.samples], y[: config.samples]
network = bench.runners.reference(config)
runner = bench.RUNNERS[library](config, bench.common.weights_of(network), x, y)
del network
runner.train(seed=0) if config.kind == "train" else runner.predict()
with open("/proc/self/status") as status:
    print(next(line.split()[1] for line in status if line.startswith("VmHWM")))
"""


def peak_memory(config: Config, library: str, threads: int) -> float | None:
    """Peak resident memory (MB) of a fresh process that loads MNIST and runs ``config`` once in
    ``library``: everything it takes, the library's own import included. None off Linux."""
    if not os.path.exists("/proc/self/status"):
        return None
    process = subprocess.run([sys.executable, "-c", _MEMORY_CHILD, config.name, library, str(threads)],
                             capture_output=True, text=True)
    if process.returncode != 0:
        raise RuntimeError(f"measuring the memory of {library} on {config.name} failed:\n{process.stderr}")
    return float(process.stdout.split()[-1]) / 1024.0


def run_train_98(libraries: list[str], data, log) -> dict:
    """`nnet train` as a user types it (a child process: wall time, peak memory, accuracy), and
    the training time until the test accuracy first reaches 98%, for nnet and PyTorch with the
    same settings, initial weights and batch order (the test set is scored after each epoch,
    outside the timing)."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        out = os.path.join(folder, "model.safetensors")
        seconds, peak_mb, output = run_command(["train", "--json", "--out", out])
    report = json.loads(output)
    log(".")
    time.sleep(SETTLE_SECONDS)
    to_98 = {name: _seconds_to_98(name, data) for name in libraries if name in ("nnet", "pytorch")}
    log(".")
    return {
        "config": "train-98",
        "title": "`nnet train` (default settings), whole command",
        "kind": "command",
        "seconds": seconds,
        "peak_memory_mb": peak_mb,
        "test_accuracy": report["scores"]["test"]["accuracy"],
        "training_seconds": report.get("training_seconds"),
        "seconds_to_98": to_98,
    }


def _seconds_to_98(library: str, data) -> dict:
    """Train `nnet train`'s default network until the test accuracy reaches 98%."""
    import nnet
    from nnet import runs
    from nnet.data import split_validation

    (x_train, y_train), (x_test, y_test) = data
    settings = runs.resolve({})  # `nnet train`'s defaults, on the same 55,000 images it uses
    (x_train, y_train), _ = split_validation(x_train, y_train, settings["validation"], seed=settings["seed"])
    network = runs.build_network(settings, x_train.shape[1], 10)
    sizes, epochs, seed = network.sizes, settings["epochs"], settings["seed"]
    trained, accuracy, epoch = 0.0, 0.0, 0
    if library == "nnet":

        class StopAt98(nnet.Callback):  # runs after each epoch's timing (EpochRecord.seconds)
            def on_epoch_end(self, state):
                self.accuracy = network.evaluate(x_test, y_test).accuracy
                state.stop_training = self.accuracy >= 0.98

        stop = StopAt98()
        history = runs.build_trainer(network, settings, [stop]).run(x_train, y_train)
        trained, accuracy, epoch = history.seconds, stop.accuracy, len(history.epochs)
    else:
        import torch

        runner = TorchRunner(Config("train-98", "", sizes, batch_size=settings["batch_size"],
                                    learning_rate=settings["learning_rate"], momentum=settings["momentum"]),
                             weights_of(network), x_train, y_train)
        optimizer = runner._optimizer()
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
        x_test_t = torch.from_numpy(floats(x_test))
        while accuracy < 0.98 and epoch < epochs:
            started = time.perf_counter()
            runner.epoch(optimizer, seed=[seed, epoch])
            schedule.step()
            trained += time.perf_counter() - started
            with torch.inference_mode():
                accuracy = float((runner.model(x_test_t).argmax(1).numpy() == y_test).mean())
            epoch += 1
    return {"seconds": trained, "epochs": epoch, "test_accuracy": accuracy, "reached": accuracy >= 0.98}


def machine() -> dict:
    info = {"platform": platform.platform(), "python": platform.python_version(), "numpy": np.__version__, "cpus": os.cpu_count()}
    try:
        with open("/proc/cpuinfo") as file:
            for line in file:
                if line.startswith("model name"):
                    info["processor"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    for name, module in (("pytorch", "torch"), ("scikit-learn", "sklearn")):
        try:
            info[name] = __import__(module).__version__
        except ImportError:
            pass
    return info
