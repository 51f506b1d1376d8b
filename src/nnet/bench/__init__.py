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
    nielsen-conv  the book's conv net: conv 20 5x5, pool 2, conv 40 5x5, pool 2, FC 100, batch 64
    conv-32-64  PyTorch's MNIST example: conv 32 3x3, conv 64 3x3, pool 2, FC 128, batch 64
                (without its dropout, whose masks no two libraries draw alike)

plus ``train-98``: the whole ``nnet train`` command (default settings) as a user runs it, its
wall time, peak resident memory and test accuracy; and the training time until the test accuracy
first reaches 98% with those settings, for nnet and for PyTorch; and ``conv-99``: the training
time until 99% test accuracy of ``nnet train --preset conv``, for nnet and for PyTorch with the
same settings, initial weights, batches and augmented images (not in the default run: minutes).

For each training configuration the table gives samples per second, seconds per epoch (60,000
images), nnet's speed as a multiple of PyTorch's, the GFLOP/s of the matrix products, and that
rate as a percentage of what the BLAS does on the very same products measured on the spot
(``GEMM %``): how close to the machine's limit the whole training step runs.

Run ``nnet bench`` (or ``python benchmarks/speed.py``); ``--help`` lists the options.
"""

from __future__ import annotations

from .. import _program

_program.prepare()  # before anything loads NumPy, as the nnet command does

import json  # noqa: E402 - after the program's settings
import os  # noqa: E402
import sys  # noqa: E402

from .measure import machine, run_config, run_train_98, set_threads  # noqa: E402
from .runners import CONFIGS, RUNNERS, Config, available_libraries  # noqa: E402

__all__ = ["CONFIGS", "RUNNERS", "Config", "add_arguments", "format_table", "main", "run", "set_threads"]

# -- the report ------------------------------------------------------------------------------


def format_table(report: dict) -> str:
    lines = []
    width = max([44] + [len(entry["title"]) + 1 for entry in report["results"] if "libraries" in entry])  # the titles' column
    header = (f"{'configuration':<{width}}{'library':<14}{'samples/s':>11}{'s/epoch':>9}{'vs torch':>10}"
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
        if entry["kind"] == "race":
            lines.append(entry["title"] + ":")
            for library, row in entry["seconds_to_99"].items():
                reached = f"after {row['epochs']} epochs" if row["reached"] else f"NOT reached in {row['epochs']} epochs"
                lines.append(f"  {library:<8} {row['seconds']:6.1f} s of training ({reached}, {row['test_accuracy']:.2%})")
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
            lines.append(f"{title:<{width}}{library:<14}{row['samples_per_second']:>11,.0f}{extra}{memory}")
        if entry.get("gemm_gflops"):
            lines.append(f"{'':<{width}}(BLAS on these products: {entry['gemm_gflops']:.0f} GFLOP/s)")
    lines.append("")
    lines.append("s/epoch: seconds per 60,000 images; for inference the column is µs per call. vs torch: "
                 "nnet's (or sklearn's) speed as a multiple of PyTorch's (higher is faster). peak MB: a fresh "
                 "process loading MNIST and running the configuration once, its library's import included.")
    return "\n".join(lines)


EXAMPLES = """\
examples:
  nnet bench                                   # every configuration, 5 repeats (several minutes)
  nnet bench --only lessons,wide --repeats 7
  nnet bench --only nielsen-conv,conv-32-64 --libraries nnet,pytorch
  nnet bench --only conv-99                    # nnet train --preset conv against PyTorch, to 99%
  nnet bench --libraries nnet,pytorch --json bench.json"""


def add_arguments(parser) -> None:
    parser.add_argument("--only", help=f"comma-separated configurations: {', '.join(CONFIGS)}, train-98, conv-99")
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
    unknown = [name for name in names if name not in CONFIGS and name not in ("train-98", "conv-99")]
    if unknown:
        raise ValueError(f"unknown configuration {', '.join(unknown)}; choose from {', '.join(CONFIGS)}, train-98, conv-99")
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
        elif name == "conv-99":
            from .conv import run_conv_99

            report["results"].append(run_conv_99(libraries, datasets.load_mnist(), log))
        else:
            config = CONFIGS[name]
            usable = [lib for lib in libraries if not (lib == "scikit-learn" and (config.batch_size == 1 or config.layers))]
            report["results"].append(run_config(config, usable, args.repeats, (x_train, y_train), log,
                                                memory=not args.no_memory, threads=args.threads))
        log("\n")
    print(format_table(report))
    if args.json:
        from .._atomic import atomic_file

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
