"""Read the same model files with nnet's own safetensors reader and with the ``safetensors``
package's parser (``safe_open(..., "np")``), side by side: time and peak memory.

This is the measurement behind nnet's choice of container reader (see nnet._safetensors): the
package is not faster, and nnet must read its files with NumPy alone anyway.

    python benchmarks/container.py                 # three model sizes, 30 reads each
    python benchmarks/container.py --repeat 100 --json benchmarks/results/container.json

Each reader runs in its own fresh process per file, so peak memory (the process's maximum
resident set, /proc's VmHWM, less what it held before reading; Linux) is its own. Times are the median of the reads.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

MODELS = {
    "default 784-128-10": [784, 128, 10],
    "wide 784-1024x3-10": [784, 1024, 1024, 1024, 10],
    "large 784-4096x3-10": [784, 4096, 4096, 4096, 10],
}

_CHILD = r"""
import statistics, sys, time
path, reader, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3])
def high_water():  # this process's own peak resident memory (ru_maxrss would include its parent's)
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))
if reader == "nnet":
    from nnet._safetensors import read_safetensors
    def read():
        return read_safetensors(path)[0]
else:
    from safetensors import safe_open
    def read():
        with safe_open(path, "np") as file:
            return {name: file.get_tensor(name) for name in file.keys()}
before = high_water()
times = []
for _ in range(repeat):
    started = time.perf_counter()
    tensors = read()
    times.append(time.perf_counter() - started)
    del tensors
print(statistics.median(times), high_water() - before)
"""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)

    import nnet

    results = []
    with tempfile.TemporaryDirectory() as folder:
        for title, sizes in MODELS.items():
            path = Path(folder) / "model.safetensors"
            nnet.save(nnet.Network(sizes, seed=0), path)
            size = path.stat().st_size
            row = {"model": title, "bytes": size}
            for reader in ("nnet", "safetensors"):
                out = subprocess.run([sys.executable, "-c", _CHILD, str(path), reader, str(args.repeat)],
                                     check=True, capture_output=True, text=True).stdout.split()
                row[reader] = {"seconds": float(out[0]), "peak_bytes": int(out[1])}
            results.append(row)
            print(f"{title:22} {size / 2**20:7.1f} MiB   "
                  + "   ".join(f"{reader}: {row[reader]['seconds'] * 1e3:8.2f} ms, peak +{row[reader]['peak_bytes'] / 2**20:6.1f} MiB"
                             for reader in ("nnet", "safetensors")))
    if args.json:
        import safetensors

        args.json.write_text(json.dumps({"machine": platform.platform(), "python": platform.python_version(),
                                         "numpy": np.__version__, "safetensors": safetensors.__version__,
                                         "repeat": args.repeat, "results": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
