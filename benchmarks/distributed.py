"""Data-parallel training on this machine, measured, and on a cluster, modelled.

    python benchmarks/distributed.py                      # both networks, 3 epochs each way
    python benchmarks/distributed.py --only wide --epochs 2 --json benchmarks/results/distributed.json

Measured, on MNIST's 60,000 training images, the benchmark's two networks (nnet bench's "wide"
784-800-10 momentum and "deep" 784-1024-1024-10 Adam, batch 128):

- 1 process x 2 threads (``fit`` alone, two BLAS and optimizer threads) against 2 processes x 1
  thread (``mpiexec -n 2``, each backpropagating 64 rows of every batch): seconds per epoch, and
  the share of each step spent in the Allreduce;
- the compute time of one step (backprop + optimizer update, 1 thread) at 1 .. 128 rows, which
  the model below needs.

Modelled: the speed-up at p = 4, 16, 64 machines (one process each, the global batch of 128 cut
into p shards) from the measured step time t(rows) and the ring Allreduce time
``2 (p-1)/p * bytes / bandwidth + 2 (p-1) * latency`` over two stated networks, and the global
batch from which a step's compute outlasts its Allreduce (from there on, overlapping the two
would hide the communication entirely). Nothing here asserts a time; see benchmarks/README.md.
Create /work/QUIET (or stop other work) while it runs: timings on a shared machine are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

NETWORKS = {
    "wide": {"sizes": [784, 800, 10], "optimizer": "momentum", "learning_rate": 0.05},
    "deep": {"sizes": [784, 1024, 1024, 10], "optimizer": "adam", "learning_rate": 1e-3},
}
BATCH = 128
SHARD_ROWS = (1, 2, 4, 8, 16, 32, 64, 128)
MACHINES = (4, 16, 64)
#: The networks of the model: (name, bytes per second, latency in seconds).
LINKS = (("10 Gb/s Ethernet, 25 µs", 1.25e9, 25e-6), ("100 Gb/s InfiniBand, 2 µs", 12.5e9, 2e-6))


def build(name: str):
    import nnet

    spec = NETWORKS[name]
    return nnet.Network(spec["sizes"], activation="relu", output="softmax", cost="cross_entropy", seed=0)


class TimedComm:
    """An mpi4py communicator whose Allreduce calls are timed (everything else passes through)."""

    def __init__(self, comm):
        self._comm, self.seconds, self.calls = comm, 0.0, 0

    def Allreduce(self, *args, **kwargs):  # noqa: N802 - mpi4py's name
        started = time.perf_counter()
        self._comm.Allreduce(*args, **kwargs)
        self.seconds += time.perf_counter() - started
        self.calls += 1

    def __getattr__(self, name):
        return getattr(self._comm, name)


def train(name: str, epochs: int, threads: int, comm=None) -> dict:
    """Seconds of each epoch (and of Allreduce, under MPI) for ``epochs`` epochs of ``name``."""
    import nnet
    from nnet.datasets import load_mnist

    nnet.speed.set_threads(threads)
    (x, y), _ = load_mnist()
    network, spec = build(name), NETWORKS[name]
    timed = TimedComm(comm) if comm is not None else None
    seconds, reduce = [], []
    for epoch in range(epochs):
        before = timed.seconds if timed else 0.0
        history = network.fit(x, y, epochs=1, batch_size=BATCH, optimizer=spec["optimizer"],
                              learning_rate=spec["learning_rate"], seed=epoch, comm=timed)
        seconds.append(history.epochs[0].seconds)
        reduce.append((timed.seconds - before) if timed else 0.0)
    return {"epoch_seconds": seconds, "allreduce_seconds": reduce, "steps": -(-len(x) // BATCH)}


def step_seconds(name: str, repeats: int = 20) -> dict:
    """Best time of one training step (backprop + optimizer update) at each shard size, 1 thread."""
    import nnet

    nnet.speed.set_threads(1)
    network, spec = build(name), NETWORKS[name]
    optimizer = nnet.optimizers.get(spec["optimizer"], learning_rate=spec["learning_rate"])
    optimizer.bind(network.parameters, network.gradients, network.n_decayed)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (max(SHARD_ROWS), network.n_inputs), dtype=np.uint8)
    examples = network.examples(x, rng.integers(0, network.n_outputs, len(x)))
    space = nnet.speed.Workspace(network.layers, max(SHARD_ROWS), network.n_outputs, network.dtype)
    found = {}
    with nnet.speed.training(1) as threads:
        for rows in SHARD_ROWS:
            part = space.rows(rows)
            examples.gather(np.arange(rows), part.x, part.targets, part.labels)
            best = float("inf")
            for _ in range(repeats):
                started = time.perf_counter()
                network.backprop_batch(part, mean_over=BATCH)
                optimizer.step(threads.split)
                best = min(best, time.perf_counter() - started)
            found[rows] = best
    return {"parameters": int(network.n_parameters), "step_seconds": found}


def ring_allreduce(bytes_: float, machines: int, bandwidth: float, latency: float) -> float:
    """Seconds of a ring Allreduce of ``bytes_`` over ``machines``."""
    return 2 * (machines - 1) / machines * bytes_ / bandwidth + 2 * (machines - 1) * latency


def model(steps: dict) -> list[dict]:
    """The modelled speed-up of each network at each number of machines over each link.

    A step's compute is fitted as ``t(rows) = fixed + per_row * rows`` (least squares over the
    measured shard sizes: steadier than any one of them on a shared machine); ``fixed`` is what
    every machine pays whatever its rows (the optimizer's update over all the parameters, and
    NumPy's per-call costs), the part data parallelism does not divide.
    """
    rows = []
    for name, measured in steps.items():
        times = {int(r): s for r, s in measured["step_seconds"].items()}
        per_row, fixed = np.polyfit(list(times), list(times.values()), 1)
        alone = fixed + per_row * BATCH
        bytes_ = measured["parameters"] * 4
        for link, bandwidth, latency in LINKS:
            for machines in MACHINES:
                shard = -(-BATCH // machines)
                compute = fixed + per_row * shard
                communicate = ring_allreduce(bytes_, machines, bandwidth, latency)
                # the global batch from which a shard's compute outlasts the Allreduce
                hidden_from = machines * max(1, int(np.ceil((communicate - fixed) / per_row)))
                rows.append({"network": name, "link": link, "machines": machines, "shard": shard,
                             "fixed_ms": fixed * 1e3, "per_row_ms": per_row * 1e3,
                             "compute_ms": compute * 1e3, "allreduce_ms": communicate * 1e3,
                             "speedup": alone / (compute + communicate),
                             "speedup_overlapped": alone / max(compute, communicate),
                             # examples per second against one machine, with BATCH rows on each machine
                             "speedup_batch_per_machine": machines * alone / (alone + communicate),
                             "batch_hidden_from": hidden_from})
    return rows


def allreduce_alone(comm, size: int, repeats: int = 30) -> float:
    """Best seconds of one in-place Allreduce of ``size`` float32 (both processes start together)."""
    from mpi4py import MPI

    buffer, best = np.ones(size, np.float32), float("inf")
    for _ in range(repeats):
        comm.Barrier()
        started = time.perf_counter()
        comm.Allreduce(MPI.IN_PLACE, buffer, op=MPI.SUM)
        best = min(best, time.perf_counter() - started)
    return best


def worker(names, epochs: int, out: str) -> None:
    from mpi4py import MPI

    results = {name: train(name, epochs, 1, MPI.COMM_WORLD) for name in names}
    for name in names:  # the Allreduce of that network's gradients alone, without waiting for a peer
        results[name]["allreduce_alone_seconds"] = allreduce_alone(MPI.COMM_WORLD, build(name).n_parameters + 3)
    if MPI.COMM_WORLD.Get_rank() == 0:
        Path(out).write_text(json.dumps(results))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=list(NETWORKS), action="append")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--json", metavar="FILE")
    parser.add_argument("--model-from", metavar="FILE", help="only recompute the model from a saved --json run")
    parser.add_argument("--worker", metavar="OUT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.model_from:
        results = json.loads(Path(args.model_from).read_text())
        results["model"] = model(results["steps"])
        report(results)
        return
    names = args.only or list(NETWORKS)
    if args.worker:
        worker(names, args.epochs, args.worker)
        return

    results = {"load_average_before": os.getloadavg()[0]}  # other work on the machine shows here
    results["one_process_two_threads"] = {name: train(name, args.epochs, 2) for name in names}
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "mpi.json"
        environment = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
        command = ["mpiexec", "-n", "2", sys.executable, __file__, "--worker", str(out), "--epochs", str(args.epochs)]
        for name in names:
            command += ["--only", name]
        subprocess.run(command, check=True, env=environment)
        results["two_processes_one_thread"] = json.loads(out.read_text())
    results["steps"] = {name: step_seconds(name) for name in names}
    results["model"] = model(results["steps"])
    results["load_average_after"] = os.getloadavg()[0]
    report(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


def report(results: dict) -> None:
    print(f"load average (1 min) before {results['load_average_before']:.2f}, after {results['load_average_after']:.2f}")
    print(f"{'network':8} {'way':24} {'s/epoch (median)':>17} {'Allreduce share':>16}")
    for way, label in (("one_process_two_threads", "1 process x 2 threads"), ("two_processes_one_thread", "2 processes x 1 thread")):
        for name, found in results[way].items():
            timed = found["epoch_seconds"][1:] or found["epoch_seconds"]
            share = sum(found["allreduce_seconds"][1:] or found["allreduce_seconds"]) / sum(timed)
            alone = found.get("allreduce_alone_seconds")
            note = f"   (one Allreduce alone: {alone * 1e3:.2f} ms, {found['steps'] * alone / np.median(timed):.0%} of the epoch)" if alone else ""
            print(f"{name:8} {label:24} {np.median(timed):17.3f} {share:16.1%}{note}")
    print("\nstep (backprop + update, 1 thread), ms, by rows:")
    for name, found in results["steps"].items():
        print(f"  {name}: " + "  ".join(f"{rows}: {seconds * 1e3:.2f}" for rows, seconds in found["step_seconds"].items()))
        fit = next(row for row in results["model"] if row["network"] == name)
        print(f"  {name}: fitted t(rows) = {fit['fixed_ms']:.2f} ms + {fit['per_row_ms'] * 1e3:.1f} µs x rows")
    print(f"\n{'network':8} {'link':28} {'p':>3} {'rows':>5} {'compute ms':>10} {'allreduce ms':>12} {'speed-up':>8} "
          f"{'overlapped':>10} {'hidden from batch':>17} {'128 rows each':>13}")
    for row in results["model"]:
        print(f"{row['network']:8} {row['link']:28} {row['machines']:3} {row['shard']:5} {row['compute_ms']:10.2f} "
              f"{row['allreduce_ms']:12.2f} {row['speedup']:8.2f} {row['speedup_overlapped']:10.2f} {row['batch_hidden_from']:17} "
              f"{row['speedup_batch_per_machine']:13.1f}")


if __name__ == "__main__":
    main()
