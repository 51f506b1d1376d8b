"""What data augmentation costs a training step: nnet.augment on MNIST minibatches.

    python benchmarks/augment.py              # batch 64 and 128, every kind of distortion
    python benchmarks/augment.py --batch 64

Times (medians of 200, one thread: augmentation runs beside the BLAS, not inside it) the
distortion of one minibatch of 28 x 28 uint8 images into float32 scaled to [0, 1] (what the
data path needs), for comparison the same rounded back to uint8, and without a kept cache (its
arrays made afresh at every batch: page faults). A training step of
Nielsen's conv net takes about 6 ms at batch 64, of the 784-800-10 network about 1 ms at batch
128 (benchmarks/conv.py, nnet bench): the issue allows augmentation 15% of training time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import nnet  # noqa: E402
from nnet.augment import Augmentation  # noqa: E402

KINDS = {
    "shift 2 px": Augmentation(shift=2.0),
    "affine (shift, rotation, scale, shear)": Augmentation(shift=2.0, rotation=10.0, scale=0.1, shear=10.0),
    "elastic (alpha 34, sigma 4)": Augmentation(alpha=34.0, sigma=4.0),
    "affine + elastic": Augmentation(shift=2.0, rotation=10.0, scale=0.1, shear=10.0, alpha=34.0, sigma=4.0),
}


def median_ms(function, repeats=200) -> float:
    function()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e3


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, nargs="+", default=[64, 128])
    args = parser.parse_args(argv)
    (x_train, _), _ = nnet.datasets.load_mnist()
    rng = np.random.default_rng(0)
    for batch in args.batch:
        images = x_train[:batch].reshape(batch, 28, 28)
        out = np.empty(images.shape, np.float32)
        rounded = np.empty(images.shape, np.uint8)
        cache: dict = {}
        print(f"batch {batch}, ms per minibatch (median of 200):")
        print(f"  {'':40s} {'float32 (scaled)':>16s} {'uint8':>8s} {'no cache':>9s}")
        for name, augment in KINDS.items():
            floats = median_ms(lambda: augment(images, rng, out=out, scale=1 / 255, cache=cache))

            def to_uint8():
                np.rint(augment(images, rng, out=out, cache=cache), out=out)
                np.copyto(rounded, out, casting="unsafe")
            bytes_out = median_ms(to_uint8)
            fresh = median_ms(lambda: augment(images, rng, out=out, scale=1 / 255))
            print(f"  {name:40s} {floats:16.3f} {bytes_out:8.3f} {fresh:9.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
