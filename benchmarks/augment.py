"""What data augmentation costs a training step: nnet.augment on MNIST minibatches.

    python benchmarks/augment.py              # batch 64 and 128, every kind of distortion
    python benchmarks/augment.py --batch 64

Times (medians of 200, one thread: augmentation runs beside the BLAS, not inside it) the
distortion of one minibatch of 28 x 28 uint8 images into float32, and, for comparison, the
same rounded back to uint8, so the choice of floats out can be checked. A training step of
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
        print(f"batch {batch}, ms per minibatch (median of 200):")
        for name, augment in KINDS.items():
            floats = median_ms(lambda: augment(images, rng, out=out))
            rounded = median_ms(lambda: np.rint(augment(images, rng, out=out)).astype(np.uint8))
            print(f"  {name:40s} float32 {floats:6.3f}   uint8 {rounded:6.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
