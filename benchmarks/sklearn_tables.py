"""nnet's estimators beside scikit-learn's MLPs on scikit-learn's bundled tables.

For each table (iris, wine, breast cancer, digits: accuracy; diabetes: R²) and each seed, one
split (75% train, 25% test; stratified for the classifiers) is shared by both, each estimator in
a ``make_pipeline(StandardScaler(), ...)`` with its default settings and ``random_state=seed``;
the test score and the fit time (the pipeline's ``fit``) are recorded, the two libraries taking
turns on the same split. The table gives the mean and standard deviation over the seeds.

    python benchmarks/sklearn_tables.py                       # 5 seeds
    python benchmarks/sklearn_tables.py --seeds 3 --json benchmarks/results/sklearn_tables.json
    python benchmarks/sklearn_tables.py --threads 1     # both libraries' BLAS in one thread

nnet's estimators train a small network (under 100,000 parameters) in one thread; scikit-learn's
BLAS uses every core unless ``--threads`` limits it (threadpoolctl), so the default run compares
them as a practitioner would run them, and ``--threads 1`` compares the code alone.

On a shared machine, time only while nothing else runs (see ../README and /work/QUIET).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn import datasets
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
from nnet.sklearn import NNetClassifier, NNetRegressor  # noqa: E402

TABLES = {
    "iris": (datasets.load_iris, "classification"),
    "wine": (datasets.load_wine, "classification"),
    "breast cancer": (datasets.load_breast_cancer, "classification"),
    "digits": (datasets.load_digits, "classification"),
    "diabetes": (datasets.load_diabetes, "regression"),
}
ESTIMATORS = {
    "classification": {"nnet": NNetClassifier, "scikit-learn": MLPClassifier},
    "regression": {"nnet": NNetRegressor, "scikit-learn": MLPRegressor},
}


def run(seeds: int) -> list[dict]:
    results = []
    for table, (loader, task) in TABLES.items():
        X, y = loader(return_X_y=True)
        for seed in range(seeds):
            split = train_test_split(X, y, test_size=0.25, random_state=seed, stratify=y if task == "classification" else None)
            x_train, x_test, y_train, y_test = split
            for library, estimator in ESTIMATORS[task].items():
                pipeline = make_pipeline(StandardScaler(), estimator(random_state=seed))
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    started = time.perf_counter()
                    pipeline.fit(x_train, y_train)
                    seconds = time.perf_counter() - started
                results.append({"table": table, "task": task, "seed": seed, "library": library,
                                "score": float(pipeline.score(x_test, y_test)), "fit_seconds": seconds,
                                "epochs": int(pipeline[-1].n_iter_)})
    return results


def summary(results: list[dict]) -> str:
    lines = [f"{'table':<14} {'metric':<8} | {'nnet':>15} {'scikit-learn':>15} | {'nnet fit s':>10} {'sklearn fit s':>13} "
             f"| {'speed-up':>8}"]
    for table, (_, task) in TABLES.items():
        rows = {library: [r for r in results if r["table"] == table and r["library"] == library] for library in ("nnet", "scikit-learn")}
        scores = {library: np.array([r["score"] for r in rows[library]]) for library in rows}
        seconds = {library: np.array([r["fit_seconds"] for r in rows[library]]) for library in rows}
        metric = "accuracy" if task == "classification" else "R²"
        lines.append(f"{table:<14} {metric:<8} | {scores['nnet'].mean():>8.3f} ± {scores['nnet'].std():.3f} "
                     f"{scores['scikit-learn'].mean():>8.3f} ± {scores['scikit-learn'].std():.3f} | "
                     f"{np.median(seconds['nnet']):>10.3f} {np.median(seconds['scikit-learn']):>13.3f} | "
                     f"{np.median(seconds['scikit-learn']) / np.median(seconds['nnet']):>7.1f}x")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--json", type=Path, help="write every run's results here")
    parser.add_argument("--threads", type=int, help="limit the BLAS of both libraries to this many threads")
    args = parser.parse_args(argv)
    if args.threads:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(args.threads):
            results = run(args.seeds)
    else:
        results = run(args.seeds)
    print(summary(results))
    if args.json:
        args.json.write_text(json.dumps({"benchmark": "sklearn_tables", "seeds": args.seeds, "threads": args.threads,
                                         "results": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
