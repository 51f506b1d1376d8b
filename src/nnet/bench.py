"""Side-by-side speed: nnet against PyTorch and scikit-learn, in one process, interleaved.

For each configuration, every library trains (or predicts) the same network from the same
initial weights on the same minibatches in the same order with the same number of threads;
the libraries take turns, repeat after repeat, and the medians are compared. Ratios measured
this way are fair on a noisy shared machine; absolute figures are not.

Configurations (MNIST shapes, float32):

    lessons     [784, 30, 10] sigmoid, softmax + cross-entropy, SGD, batch 10
    small       [784, 100, 10] ReLU, SGD momentum 0.9, batch 128
    wide        [784, 800, 10] ReLU, SGD momentum 0.9, batch 128
    deep        [784, 1024, 1024, 10] ReLU, Adam, batch 128
    predict-1   [784, 100, 10] inference, batch 1
    predict-1000  [784, 100, 10] inference, batch 1000

plus ``train-98``: the whole ``nnet train`` command (default settings) as a user runs it, its
wall time, peak resident memory and test accuracy; and the training time until the test accuracy
first reaches 98% with those settings, for nnet and for PyTorch.

For each training configuration the table gives samples per second, seconds per epoch (60,000
images), nnet's speed as a multiple of PyTorch's, the GFLOP/s of the matrix products, and that
rate as a percentage of what the BLAS does on the very same products measured on the spot
(``GEMM %``): how close to the machine's limit the whole training step runs.

Run ``nnet bench`` (or ``python benchmarks/speed.py``); ``--help`` lists the options.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field

import numpy as np

N_TRAIN = 60_000  # seconds per epoch are per 60,000 MNIST training images
SETTLE_SECONDS = 0.3  # pause before each timed run


@dataclass
class Config:
    name: str
    title: str
    sizes: list[int]
    activation: str = "relu"
    optimizer: str = "momentum"
    learning_rate: float = 0.1
    momentum: float | None = 0.9
    batch_size: int = 128
    kind: str = "train"  # or "predict"
    samples: int = N_TRAIN  # samples timed per repeat: a whole epoch for training


CONFIGS = {
    config.name: config
    for config in (
        Config("lessons", "[784, 30, 10] sigmoid, SGD, batch 10", [784, 30, 10], "sigmoid", "sgd", 0.5, None, 10),
        Config("small", "[784, 100, 10] ReLU, momentum, batch 128", [784, 100, 10]),
        Config("wide", "[784, 800, 10] ReLU, momentum, batch 128", [784, 800, 10]),
        Config("deep", "[784, 1024, 1024, 10] ReLU, Adam, batch 128", [784, 1024, 1024, 10], "relu", "adam", 1e-3, None, 128),
        Config("predict-1", "[784, 100, 10] inference, batch 1", [784, 100, 10], batch_size=1, kind="predict", samples=3_000),
        Config("predict-1000", "[784, 100, 10] inference, batch 1000", [784, 100, 10], batch_size=1000, kind="predict", samples=20_000),
    )
}


@dataclass
class Result:
    config: str
    library: str
    seconds: list[float] = field(default_factory=list)  # per repeat, for `samples` samples

    def median(self) -> float:
        return statistics.median(self.seconds)


# -- the libraries ---------------------------------------------------------------------------


class NnetRunner:
    name = "nnet"

    def __init__(self, config: Config, weights, x, y):
        import nnet

        self.config = config
        self.network = nnet.Network(config.sizes, activation=config.activation, output="softmax", cost="cross_entropy", seed=0)
        self.network.set_weights(weights)
        self.initial = self.network.parameters.copy()
        self.x, self.y = x, y  # uint8 pixels, int labels: nnet's own path
        if config.kind == "predict":  # prediction is timed on float32 inputs, as for the others
            self.x_float = _floats(x)

    def train(self, seed: int) -> None:
        np.copyto(self.network.parameters, self.initial)
        config = self.config
        self.network.fit(
            self.x, self.y, epochs=1, batch_size=config.batch_size, optimizer=config.optimizer,
            learning_rate=config.learning_rate, momentum=config.momentum, seed=seed,
        )

    def predict(self) -> None:
        network, x, step = self.network, self.x_float, self.config.batch_size
        for start in range(0, len(x), step):
            network.predict_proba(x[start : start + step])


class TorchRunner:
    name = "pytorch"

    def __init__(self, config: Config, weights, x, y):
        import torch

        self.torch = torch
        self.config = config
        layers = []
        for index, (W, b) in enumerate(weights):
            linear = torch.nn.Linear(W.shape[1], W.shape[0])
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(W))
                linear.bias.copy_(torch.from_numpy(b))
            layers.append(linear)
            if index < len(weights) - 1:
                layers.append(torch.nn.Sigmoid() if config.activation == "sigmoid" else torch.nn.ReLU())
        self.model = torch.nn.Sequential(*layers)
        self.initial = [p.detach().clone() for p in self.model.parameters()]
        self.x = torch.from_numpy(_floats(x))
        self.y = torch.from_numpy(y.astype(np.int64))

    def _optimizer(self):
        torch, config = self.torch, self.config
        parameters = self.model.parameters()
        if config.optimizer == "adam":
            return torch.optim.Adam(parameters, lr=config.learning_rate)
        return torch.optim.SGD(parameters, lr=config.learning_rate, momentum=config.momentum or 0.0)

    def train(self, seed: int) -> None:
        torch = self.torch
        with torch.no_grad():
            for parameter, initial in zip(self.model.parameters(), self.initial):
                parameter.copy_(initial)
        self.epoch(self._optimizer(), seed=[seed, 0])

    def epoch(self, optimizer, seed) -> None:
        """One epoch in nnet's batch order for ``seed`` (nnet shuffles with default_rng(seed))."""
        torch = self.torch
        order = torch.from_numpy(np.random.default_rng(seed).permutation(len(self.x)))
        step, model, x, y = self.config.batch_size, self.model, self.x, self.y
        cross_entropy = torch.nn.functional.cross_entropy
        for start in range(0, len(x), step):
            rows = order[start : start + step]
            optimizer.zero_grad(set_to_none=True)
            loss = cross_entropy(model(x[rows]), y[rows])
            loss.backward()
            optimizer.step()

    def predict(self) -> None:
        torch, model, x, step = self.torch, self.model, self.x, self.config.batch_size
        with torch.inference_mode():
            for start in range(0, len(x), step):
                torch.softmax(model(x[start : start + step]), dim=1)


class SklearnRunner:
    name = "scikit-learn"

    def __init__(self, config: Config, weights, x, y):
        from sklearn.neural_network import MLPClassifier

        self.config = config
        self.x = _floats(x)
        self.y = y
        self.model = MLPClassifier(
            hidden_layer_sizes=tuple(config.sizes[1:-1]),
            activation="logistic" if config.activation == "sigmoid" else "relu",
            solver="adam" if config.optimizer == "adam" else "sgd",
            learning_rate_init=config.learning_rate,
            momentum=config.momentum or 0.0,
            nesterovs_momentum=False,
            batch_size=config.batch_size,
            alpha=0.0,
            random_state=0,
        )
        self.classes = np.arange(config.sizes[-1])
        self.model.partial_fit(self.x[: config.batch_size], self.y[: config.batch_size], classes=self.classes)
        self.model.coefs_ = [W.T.astype(self.x.dtype).copy() for W, _ in weights]
        self.model.intercepts_ = [b.astype(self.x.dtype).copy() for _, b in weights]

    def train(self, seed: int) -> None:
        self.model.partial_fit(self.x, self.y)

    def predict(self) -> None:
        model, x, step = self.model, self.x, self.config.batch_size
        for start in range(0, len(x), step):
            model.predict_proba(x[start : start + step])


def _floats(pixels: np.ndarray) -> np.ndarray:
    """uint8 pixels as float32 in [0, 1], in one pass."""
    return np.multiply(pixels, np.float32(1.0 / 255.0), dtype=np.float32)


RUNNERS = {"nnet": NnetRunner, "pytorch": TorchRunner, "scikit-learn": SklearnRunner}


def available_libraries() -> list[str]:
    names = ["nnet"]
    for name, module in (("pytorch", "torch"), ("scikit-learn", "sklearn")):
        try:
            __import__(module)
        except ImportError:
            continue
        names.append(name)
    return names


# -- measuring --------------------------------------------------------------------------------


def training_flops(sizes: list[int], samples: int) -> float:
    """Matrix-product FLOPs of training on ``samples`` samples: the forward products, the weight
    gradients, and the input gradients of every layer but the first."""
    products = [n_in * n_out for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    return 2.0 * samples * (2 * sum(products) + sum(products[1:]))


def gemm_rate(sizes: list[int], batch_size: int, repeats: int = 30) -> float:
    """GFLOP/s of NumPy's BLAS on exactly the products of one training step (float32)."""
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
    from nnet import optimizers

    optimizers.max_threads = threads  # nnet's own optimizer threads
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
    import nnet

    reference = nnet.Network(config.sizes, activation=config.activation, output="softmax", cost="cross_entropy", seed=0)
    weights = reference.get_weights()
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
    summary = summarize(config, results)
    if memory:
        for name in libraries:
            summary["libraries"][name]["peak_memory_mb"] = peak_memory(config, name, threads)
        log("m")
    return summary


def summarize(config: Config, results: dict[str, Result]) -> dict:
    rows = {}
    torch_seconds = results["pytorch"].median() if "pytorch" in results else None
    gemm = gemm_rate(config.sizes, config.batch_size) if config.kind == "train" else None
    for name, result in results.items():
        seconds = result.median()
        row = {
            "samples_per_second": config.samples / seconds,
            "seconds_per_repeat": result.seconds,
            "vs_pytorch": None if torch_seconds is None else torch_seconds / seconds,
        }
        if config.kind == "train":
            flop_rate = training_flops(config.sizes, config.samples) / seconds / 1e9
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
reference = nnet.Network(config.sizes, activation=config.activation, output="softmax", cost="cross_entropy", seed=0)
runner = bench.RUNNERS[library](config, reference.get_weights(), x, y)
del reference
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
    from nnet.cli.train import DEFAULTS

    (x_train, y_train), (x_test, y_test) = data
    cut = len(x_train) - DEFAULTS["validation"]  # the same 55,000 images `nnet train` uses
    x_train, y_train = x_train[:cut], y_train[:cut]
    sizes = [x_train.shape[1], *DEFAULTS["hidden"], 10]
    network = nnet.Network(sizes, activation=DEFAULTS["activation"], output=DEFAULTS["output"],
                           cost=DEFAULTS["cost"], init=DEFAULTS["init"], seed=DEFAULTS["seed"])
    epochs, seed = DEFAULTS["epochs"], DEFAULTS["seed"]
    settings = dict(learning_rate=DEFAULTS["learning_rate"], momentum=DEFAULTS["momentum"])
    trained, accuracy, epoch = 0.0, 0.0, 0
    if library == "nnet":

        class StopAt98(nnet.Callback):  # runs after each epoch's timing (EpochRecord.seconds)
            def on_epoch_end(self, state):
                self.accuracy = network.evaluate(x_test, y_test).accuracy
                state.stop_training = self.accuracy >= 0.98

        stop = StopAt98()
        history = network.fit(x_train, y_train, epochs=epochs, batch_size=DEFAULTS["batch_size"],
                              optimizer=DEFAULTS["optimizer"], lr_schedule=DEFAULTS["lr_schedule"],
                              callbacks=[stop], seed=seed, **settings)
        trained, accuracy, epoch = history.seconds, stop.accuracy, len(history.epochs)
    else:
        import torch

        runner = TorchRunner(Config("train-98", "", sizes, batch_size=DEFAULTS["batch_size"], **settings),
                             network.get_weights(), x_train, y_train)
        optimizer = runner._optimizer()
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
        x_test_t = torch.from_numpy(_floats(x_test))
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


# -- the report ------------------------------------------------------------------------------


def format_table(report: dict) -> str:
    lines = []
    header = (f"{'configuration':<44}{'library':<14}{'samples/s':>11}{'s/epoch':>9}{'vs torch':>10}"
              f"{'GFLOP/s':>9}{'GEMM %':>8}{'peak MB':>9}")
    lines.append(header)
    lines.append("-" * len(header))
    for entry in report["results"]:
        if entry["kind"] == "command":
            memory = "?" if entry["peak_memory_mb"] is None else f"{entry['peak_memory_mb']:.0f} MB"
            lines.append(f"`nnet train`, the whole command: {entry['seconds']:.1f} s, test accuracy "
                         f"{entry['test_accuracy']:.2%}, peak memory {memory}")
            for library, row in entry["seconds_to_98"].items():
                reached = f"after {row['epochs']} epochs" if row["reached"] else f"NOT reached in {row['epochs']} epochs"
                lines.append(f"  its training until 98% test accuracy, {library:<8} {row['seconds']:5.1f} s ({reached})")
            continue
        for index, (library, row) in enumerate(entry["libraries"].items()):
            title = entry["title"] if index == 0 else ""
            ratio = "" if row["vs_pytorch"] is None else f"{row['vs_pytorch']:.2f}x"
            if entry["kind"] == "train":
                extra = f"{row['seconds_per_epoch']:>9.2f}{ratio:>10}{row['gflops']:>9.1f}{row['gemm_percent']:>7.0f}%"
            else:
                extra = f"{row['microseconds_per_call']:>8.0f}µ{ratio:>10}{'':>9}{'':>8}"
            memory = row.get("peak_memory_mb")
            memory = f"{memory:>9.0f}" if memory is not None else f"{'':>9}"
            lines.append(f"{title:<44}{library:<14}{row['samples_per_second']:>11,.0f}{extra}{memory}")
        if entry.get("gemm_gflops"):
            lines.append(f"{'':<44}(BLAS on these products: {entry['gemm_gflops']:.0f} GFLOP/s)")
    lines.append("")
    lines.append("s/epoch: seconds per 60,000 images; for inference the column is µs per call. vs torch: "
                 "nnet's (or sklearn's) speed as a multiple of PyTorch's (higher is faster). peak MB: a fresh "
                 "process loading MNIST and running the configuration once, its library's import included.")
    return "\n".join(lines)


EXAMPLES = """\
examples:
  nnet bench                                   # every configuration, 5 repeats (several minutes)
  nnet bench --only lessons,wide --repeats 7
  nnet bench --libraries nnet,pytorch --json bench.json"""


def add_arguments(parser) -> None:
    parser.add_argument("--only", help=f"comma-separated configurations: {', '.join(CONFIGS)}, train-98")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats per library (default 5); the median counts")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="threads for every library (default: all cores)")
    parser.add_argument("--libraries", help="comma-separated subset of: nnet, pytorch, scikit-learn")
    parser.add_argument("--json", metavar="FILE", help="write the full results as JSON")
    parser.add_argument("--no-memory", action="store_true",
                        help="skip the peak-memory runs (one fresh process per configuration and library)")
    parser.add_argument("--quiet", action="store_true", help="print only the table")


def run(args) -> int:
    """Run the benchmark the parsed ``args`` describe; print the table; return 0."""
    names = args.only.split(",") if args.only else [*CONFIGS, "train-98"]
    unknown = [name for name in names if name not in CONFIGS and name != "train-98"]
    if unknown:
        raise ValueError(f"unknown configuration {', '.join(unknown)}; choose from {', '.join(CONFIGS)}, train-98")
    if args.repeats < 1 or args.threads < 1:
        raise ValueError(f"--repeats and --threads must be at least 1; got {args.repeats} and {args.threads}")
    libraries = available_libraries()
    if args.libraries:
        wanted = args.libraries.split(",")
        missing = [name for name in wanted if name not in RUNNERS]
        if missing:
            raise ValueError(f"unknown library {', '.join(missing)}; choose from {', '.join(RUNNERS)}")
        libraries = [name for name in wanted if name in libraries]
    log = (lambda text: None) if args.quiet else (lambda text: print(text, end="", file=sys.stderr, flush=True))
    threads_note = set_threads(args.threads, libraries)

    from nnet import datasets

    (x_train, y_train), _ = datasets.load_mnist()
    report = {"machine": machine(), "threads": args.threads, "threads_set_by": threads_note, "libraries": libraries, "repeats": args.repeats, "results": []}
    for name in names:
        log(f"{name} ")
        if name == "train-98":
            report["results"].append(run_train_98(libraries, datasets.load_mnist(), log))
        else:
            config = CONFIGS[name]
            usable = [lib for lib in libraries if not (lib == "scikit-learn" and config.batch_size == 1)]
            report["results"].append(run_config(config, usable, args.repeats, (x_train, y_train), log,
                                                memory=not args.no_memory, threads=args.threads))
        log("\n")
    print(format_table(report))
    if args.json:
        from ._atomic import atomic_file

        with atomic_file(args.json) as file:
            file.write(json.dumps(report, indent=2).encode())
    return 0


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="benchmarks/speed.py",
        description="Speed of nnet beside PyTorch and scikit-learn, measured side by side in one run.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EXAMPLES,
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except ValueError as problem:
        parser.error(str(problem))


if __name__ == "__main__":
    raise SystemExit(main())
