"""Speed beside PyTorch and scikit-learn, interleaved in one run: the same as `nnet bench`.

    python benchmarks/speed.py                       # everything (several minutes)
    python benchmarks/speed.py --only wide --repeats 7
    python benchmarks/speed.py --json benchmarks/results/speed.json

The code lives in the package (src/nnet/bench/) so an installed nnet can run it too.
"""

from nnet.bench import main

if __name__ == "__main__":
    raise SystemExit(main())
