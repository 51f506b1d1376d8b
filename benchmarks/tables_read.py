"""Reading a big CSV table: nnet.tables.read_csv beside pandas.read_csv, time and peak memory.

A generated table (seeded): ``--columns`` columns in all, of which 5 are text (a handful of
categories each), the rest numbers (floats and integers), a target ``y``, and about 2% of the
cells missing (empty, or ``NA``). For each row count (by default 125k, 250k, 500k and 1M rows)
each library reads the same file in a fresh process of its own, best of ``--repeats``; peak
memory is the process's high-water mark (VmHWM) less what it held before reading. The last
columns say how each grows from the smallest file: linear growth keeps "per row" flat.

    python benchmarks/tables_read.py                       # 125k .. 1M rows, 50 columns
    python benchmarks/tables_read.py --rows 20000 40000 --json results/tables_read.json

Writes the generated files to a temporary folder (about 0.4 GB for 1M rows), removed after;
``--folder DIR`` keeps them there and reuses them (``--generate-only`` makes them and stops, so
that the timed run that follows does not generate).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
N_TEXT = 5
MISSING_RATE = 0.02

READERS = {
    "nnet": "from nnet.tables import read_csv; table = read_csv(PATH); n = len(table)",
    "pandas": "import pandas; frame = pandas.read_csv(PATH); n = len(frame)",
}

MEASURE = """
import sys, time
def memory(key):
    for line in open('/proc/self/status'):
        if line.startswith(key):
            return int(line.split()[1]) * 1024
PATH = sys.argv[1]
import numpy
{imports}
before = memory('VmRSS:')
started = time.perf_counter()
{read}
seconds = time.perf_counter() - started
print(seconds, memory('VmHWM:') - before, n)
"""


def generate(path: Path, rows: int, columns: int, seed: int = 0, block: int = 100_000) -> None:
    """Write the table: numbers, N_TEXT text columns, missing cells, and the target y."""
    rng = np.random.default_rng(seed)
    n_numbers = columns - N_TEXT - 1
    names = [f"n{j}" for j in range(n_numbers)] + [f"t{j}" for j in range(N_TEXT)] + ["y"]
    categories = [np.array([f"c{j}_{k}" for k in range(3 + 2 * j)]) for j in range(N_TEXT)]
    with open(path, "w") as file:
        file.write(",".join(names) + "\n")
        for start in range(0, rows, block):
            n = min(block, rows - start)
            cells = []
            for j in range(n_numbers):
                values = rng.normal(0, 10, n) if j % 2 else rng.integers(0, 1000, n)
                text = np.char.mod("%.4f" if j % 2 else "%d", values).astype(object)
                text[rng.random(n) < MISSING_RATE] = "" if j % 3 else "NA"
                cells.append(text)
            for j in range(N_TEXT):
                text = categories[j][rng.integers(0, len(categories[j]), n)].astype(object)
                text[rng.random(n) < MISSING_RATE] = ""
                cells.append(text)
            cells.append(np.char.mod("%.3f", rng.normal(size=n)).astype(object))
            lines = [",".join(row) for row in zip(*cells)]
            file.write("\n".join(lines) + "\n")


def measure(library: str, path: Path, repeats: int) -> dict:
    imports = "import pandas" if library == "pandas" else "import nnet.tables"
    code = MEASURE.format(imports=imports, read=READERS[library])
    env = {**os.environ, "PYTHONPATH": str(HERE.parent / "src")}
    runs = []
    for _ in range(repeats):
        result = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, env=env, check=True)
        seconds, peak, n = result.stdout.split()
        runs.append((float(seconds), int(peak), int(n)))
    seconds = min(run[0] for run in runs)
    return {"seconds": seconds, "peak_bytes": min(run[1] for run in runs), "rows": runs[0][2]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[125_000, 250_000, 500_000, 1_000_000])
    parser.add_argument("--columns", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--folder", type=Path, help="keep the generated tables here, and reuse them")
    parser.add_argument("--generate-only", action="store_true")
    args = parser.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory() as temporary:
        folder = args.folder or Path(temporary)
        folder.mkdir(parents=True, exist_ok=True)
        for rows in args.rows:
            path = folder / f"table-{rows}x{args.columns}.csv"
            if not path.exists():
                generate(path, rows, args.columns)
        if args.generate_only:
            return 0
        for rows in args.rows:
            path = folder / f"table-{rows}x{args.columns}.csv"
            entry = {"rows": rows, "columns": args.columns, "file_bytes": path.stat().st_size}
            for library in READERS:
                entry[library] = measure(library, path, args.repeats)
                assert entry[library]["rows"] == rows, (library, entry[library])
            results.append(entry)
    first = results[0]
    print(f"{'rows':>9} {'MB':>6} | {'nnet s':>7} {'pandas s':>8} | {'nnet MB':>7} {'pandas MB':>9} | "
          f"{'nnet s/row':>10} {'pandas s/row':>12} {'nnet B/row':>10} {'pandas B/row':>12}")
    for entry in results:
        nnet, pandas = entry["nnet"], entry["pandas"]
        print(f"{entry['rows']:>9} {entry['file_bytes'] / 1e6:>6.0f} | {nnet['seconds']:>7.2f} {pandas['seconds']:>8.2f} | "
              f"{nnet['peak_bytes'] / 1e6:>7.0f} {pandas['peak_bytes'] / 1e6:>9.0f} | "
              f"{nnet['seconds'] / entry['rows'] * 1e6:>9.2f}µ {pandas['seconds'] / entry['rows'] * 1e6:>11.2f}µ "
              f"{nnet['peak_bytes'] / entry['rows']:>10.0f} {pandas['peak_bytes'] / entry['rows']:>12.0f}")
    last = results[-1]
    growth = last["rows"] / first["rows"]
    for library in READERS:
        time_growth = last[library]["seconds"] / first[library]["seconds"]
        memory_growth = last[library]["peak_bytes"] / max(first[library]["peak_bytes"], 1)
        print(f"{library}: rows x{growth:.0f} -> time x{time_growth:.1f}, peak memory x{memory_growth:.1f}")
    if args.json:
        args.json.write_text(json.dumps({"benchmark": "tables_read", "results": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
