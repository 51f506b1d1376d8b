"""What the ``nnet`` program sets for itself before NumPy loads: settings of NumPy's BLAS that
can only be made then, through the environment. The library never does this (importing nnet
changes nothing); a program of its own (the ``nnet`` command, ``nnet bench``) may.

``OPENBLAS_THREAD_TIMEOUT=20``: after each matrix product OpenBLAS's idle threads spin for 2^28
cycles (about 0.1 s) before they sleep, taking the core that the training step's next
elementwise work (and the optimizer's second thread, :mod:`nnet.speed`) wants on a small machine.
2^20 cycles (~0.4 ms) still keeps them ready between the products of one step. Measured on the
2-core machine nnet is built on (best of three, ms a step, 784-1024-1024-10 Adam): 15.3 by
default, 12.3 with it (benchmarks/README.md). A value already in the environment wins.
"""

import os
import sys

#: The environment the ``nnet`` program runs in, unless the user's environment says otherwise.
ENVIRONMENT = {"OPENBLAS_THREAD_TIMEOUT": "20"}


def prepare() -> bool:
    """Set ``ENVIRONMENT``'s defaults, if NumPy is not loaded yet; returns whether it could."""
    if "numpy" in sys.modules:
        return False
    for name, value in ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    return True
