"""The speed room: what makes training fast, kept out of the modules that read like the lessons.

Nothing here changes what is computed, only how fast. Four things:

``Workspace``
    Every array one training step writes (the minibatch, each layer's z, a and δ, what a layer
    keeps between the forward and the backward pass), allocated once for the largest batch and
    reused by every step: a step allocates nothing.
``training(threads)``
    The context manager the training loop runs in. Inside it, denormal floats are flushed to
    zero (:mod:`nnet._fpu`: x86 processors handle them in microcode, up to a hundred times
    slower), the BLAS uses ``threads`` threads when given, and ``split`` shares an optimizer's
    elementwise update between a pool of threads (NumPy releases the GIL inside its loops). On
    the way out everything is as it was.
``set_threads(n)``
    How many threads nnet's training uses, for the whole process (None: one per core).
``Ahead``
    Work done one step ahead in a background thread (the next minibatch, gathered and augmented
    while this one trains): the same work in the same order as done in line, so the same result.

Nothing is set when nnet is imported. One setting can only be made before NumPy is imported, so
nnet leaves it to the program: ``OPENBLAS_THREAD_TIMEOUT=20`` makes OpenBLAS's idle threads
sleep after ~0.4 ms instead of spinning ~0.1 s, leaving the core to the optimizer's second
thread (the ``nnet`` command sets it; see benchmarks/README.md for the measurements).
"""

from __future__ import annotations

import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from . import _fpu

#: An update of at least this many parameters is split between threads, one part each.
PARALLEL_MIN = 1 << 18

_threads: int | None = None
_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_pool_lock = threading.Lock()


# -- threads -----------------------------------------------------------------------------------


def set_threads(threads: int | None) -> None:
    """Use at most ``threads`` threads while training (the BLAS and nnet's own); None: one per
    core this process may run on."""
    global _threads
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ValueError(f"threads must be a positive integer or None; got {threads!r}")
    _threads = threads


def cores() -> int:
    """The cores this process may run on, capped by :func:`set_threads`."""
    try:
        count = len(os.sched_getaffinity(0))
    except AttributeError:
        count = os.cpu_count() or 1
    return count if _threads is None else min(count, _threads)


def parts(size: int, threads: int) -> list[tuple[int, int]]:
    """Cut 0..size into one part per thread (at most), each of PARALLEL_MIN or more, 64-aligned."""
    count = max(1, min(threads, size // PARALLEL_MIN))
    bounds = [size * i // count // 64 * 64 for i in range(count)] + [size]
    return list(zip(bounds[:-1], bounds[1:]))


def _workers(count: int) -> ThreadPoolExecutor:
    """The pool of nnet's worker threads, with at least ``count`` of them."""
    global _pool, _pool_size
    with _pool_lock:
        if _pool_size < count:
            _pool = ThreadPoolExecutor(
                max_workers=count,
                thread_name_prefix="nnet-worker",
                initializer=_fpu.flush_denormals_in_this_thread,  # these threads only ever train
            )
            _pool_size = count
        return _pool


class Threads:
    """``split(function, size)`` calls ``function(start, stop)`` over parts of 0..size: the first
    part in the calling thread, the others in the pool, all at once."""

    def __init__(self, threads: int):
        self.threads = threads
        self._parts: dict[int, list[tuple[int, int]]] = {}

    def split(self, function, size: int) -> None:
        bounds = self._parts.get(size)
        if bounds is None:
            bounds = self._parts[size] = parts(size, self.threads)
        if len(bounds) == 1:
            function(0, size)
            return
        pool = _workers(len(bounds) - 1)
        futures = [pool.submit(function, *part) for part in bounds[1:]]
        function(*bounds[0])
        for future in futures:
            future.result()


@contextlib.contextmanager
def training(threads: int | None = None):
    """Run a training loop fast; yields a :class:`Threads` for the optimizer's updates.

    ``threads`` caps the BLAS's threads and nnet's (default: :func:`cores`). Denormals are
    flushed to zero in the calling thread; the previous state is restored on the way out.
    """
    threads = cores() if threads is None else min(threads, cores())
    with contextlib.ExitStack() as stack:
        if threads < (os.cpu_count() or 1):
            stack.enter_context(_blas_threads(threads))
        stack.enter_context(_fpu.flush_denormals())
        yield Threads(threads)


@contextlib.contextmanager
def _blas_threads(threads: int):
    """The BLAS limited to ``threads`` threads, through threadpoolctl where it is installed."""
    try:
        import threadpoolctl
    except ImportError:  # the BLAS keeps its own setting (OPENBLAS_NUM_THREADS)
        yield
        return
    with threadpoolctl.threadpool_limits(threads, user_api="blas"):
        yield


# -- the workspace -----------------------------------------------------------------------------


class Workspace:
    """Preallocated arrays for training steps on batches of up to ``capacity`` rows.

    Attributes, each with ``capacity`` rows (use :meth:`rows` for a smaller batch):

    x, targets, labels, weights
        The minibatch: inputs scaled to floats, targets, int labels, and with ``weighted`` the
        rows' weights (None otherwise): the data path fills them.
    zs, activations, deltas
        One array per layer: its weighted inputs z, activations a = σ(z) (before dropout), and
        errors δ = ∂C/∂z.
    caches
        One dict per layer, for what it keeps between the forward and the backward pass.

    With ``spare``, a second minibatch (x, targets, labels, weights) is kept, which the next
    step's rows can be gathered into while this step trains (:class:`Ahead`), then swapped in
    (:meth:`spare_rows`, :meth:`swap`).
    """

    def __init__(self, layers, capacity: int, n_outputs: int, dtype, weighted: bool = False, spare: bool = False):
        dtype = np.dtype(dtype)
        self.capacity = capacity

        def minibatch():
            return (np.empty((capacity, *layers[0].input_shape), dtype), np.empty((capacity, n_outputs), dtype),
                    np.empty(capacity, np.int64), np.empty(capacity, dtype) if weighted else None)

        self.x, self.targets, self.labels, self.weights = minibatch()
        self._spare = minibatch() if spare else None
        self.zs = [np.empty((capacity, *layer.output_shape), dtype) for layer in layers]
        self.activations = [np.empty_like(z) for z in self.zs]
        self.deltas = [np.empty_like(z) for z in self.zs]
        self.caches = [{} for _ in layers]
        self._views = {capacity: self}

    def rows(self, n: int) -> Workspace:
        """The same workspace for a batch of ``n`` rows (n <= capacity): views of its first rows."""
        view = self._views.get(n)
        if view is None:
            if not 0 < n <= self.capacity:
                raise ValueError(f"a workspace for {self.capacity} rows cannot hold {n}")
            view = object.__new__(Workspace)
            view.capacity, view.caches, view._views, view._spare = n, self.caches, self._views, None
            view.x, view.targets, view.labels, view.weights = _first(n, self.x, self.targets, self.labels, self.weights)
            view.zs = [z[:n] for z in self.zs]
            view.activations = [a[:n] for a in self.activations]
            view.deltas = [d[:n] for d in self.deltas]
            self._views[n] = view
        return view

    def spare_rows(self, n: int) -> tuple:
        """The first ``n`` rows of the spare minibatch: ``(x, targets, labels, weights)``."""
        if self._spare is None:
            raise ValueError("this workspace was made without a spare minibatch (spare=True)")
        return _first(n, *self._spare)

    def swap(self) -> None:
        """Exchange the minibatch with the spare one, in this workspace and its views by rows."""
        current = (self.x, self.targets, self.labels, self.weights)
        self.x, self.targets, self.labels, self.weights = self._spare
        self._spare = current
        for n, view in self._views.items():
            if view is not self:
                view.x, view.targets, view.labels, view.weights = _first(n, self.x, self.targets, self.labels, self.weights)


def _first(n: int, *arrays):
    """The first n rows of each array (None stays None)."""
    return tuple(None if array is None else array[:n] for array in arrays)


# -- one step ahead ----------------------------------------------------------------------------


class Ahead:
    """Work done one step ahead, in one background thread: ``start(function, *args)`` begins
    it, ``result()`` waits for it and returns what it returned (raising what it raised).

    One piece of work at a time, in the order started, in a thread that flushes denormals as
    the training thread does: work that depends only on its arguments gives what it gives in
    line. ``close()`` waits for the work under way (a loop left early must not leave a thread
    writing into arrays it reuses).
    """

    def __init__(self):
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nnet-ahead",
                                          initializer=_fpu.flush_denormals_in_this_thread)
        self._pending = None

    def start(self, function, *args) -> None:
        if self._pending is not None:
            raise RuntimeError("Ahead runs one piece of work at a time: take result() first")
        self._pending = self._thread.submit(function, *args)

    @property
    def busy(self) -> bool:
        return self._pending is not None

    def result(self):
        pending, self._pending = self._pending, None
        if pending is None:
            raise RuntimeError("no work was started")
        return pending.result()

    def close(self) -> None:
        if self._pending is not None:
            self._pending.exception()  # waited for; its failure no longer matters
            self._pending = None
        self._thread.shutdown(wait=True)
