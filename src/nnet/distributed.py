"""Data-parallel training on MPI: several processes, one network, the steps of one process.

Started by ``mpiexec -n p`` (or a cluster's ``srun``), every process holds the whole network and
takes its share of the rows of every minibatch, the minibatch one process would take::

    the batch (m rows, in the epoch's shuffled order):   r₀  r₁  ...  r_{m-1}
    process k of p takes rows  ⌊m k / p⌋ ... ⌊m (k+1) / p⌋ - 1   (shards differ by one row at most)

Each process backpropagates its rows with the 1/m of the whole batch in the cost (not the 1/n of
its shard), so the sum of the shards' gradients is the batch's gradient. One Allreduce per step
sums them, in place, over the network's flat gradient array (:attr:`Network.gradient_buffer`),
whose last three entries carry the step's tally: its share of the batch's cost, its correct
answers, and whether a callback asked to stop. Every process then takes the same optimizer step
with the same sum, so the weights stay equal everywhere, and equal to one process's but for the
order in which the sums were added up.

Every process shuffles with the same seeded generator, so each knows the whole order of the epoch
and needs only its rows (which may stay on disk, memory-mapped). Dropout draws, for a shard, its
rows of the mask the whole batch would draw: :class:`ShardRandom` skips the other rows' numbers in
the generator's stream instead of drawing them.

Failures end the whole job, never hang it: an error every process meets at the same point (bad
settings, bad data, a diverging cost) is agreed on (:meth:`Group.agreement`) and raised on every
process, rank 0 reporting it; an error one process meets alone while the others wait in a step
ends the job at once (:meth:`Group.abort`) with one line naming the process and the cause.

Nothing here imports mpi4py unless the process was started as one of several: ``nnet train``
and ``fit`` alone pay nothing.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time

import numpy as np

#: Environment variables by which MPI process managers tell a process how many were started:
#: MPICH's and Intel MPI's Hydra, Slurm's PMI2 (PMI_SIZE), Open MPI, MVAPICH.
WORLD_SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE")

#: The step's tally, after the gradients: this process's share of the batch's mean cost, its
#: correct answers, and 1 if a callback asked to stop after the previous batch.
TALLY = ("cost", "correct", "stop")

#: The exit status of a job ended by Ctrl-C (as the ``nnet`` command's), and the seconds the
#: other processes leave rank 0 to end it.
EXIT_INTERRUPTED, INTERRUPT_GRACE = 130, 1.0

#: Numbers a shard's draws skip at once when they must be drawn and thrown away.
DISCARD_CHUNK = 1 << 16


class PeerFailure(RuntimeError):
    """Another process of the job failed where all of them had to agree; names it and why."""


def world():
    """MPI's COMM_WORLD when this process is one of several started by ``mpiexec``, else None.

    Raises ImportError, saying how to install it, when several were started but mpi4py is missing
    (each would otherwise train alone and write the same files).
    """
    sizes = [os.environ.get(name) for name in WORLD_SIZE_VARIABLES]
    if not any(size and size.isdigit() and int(size) > 1 for size in sizes):
        return None
    try:
        from mpi4py import MPI
    except ImportError:
        raise ImportError(
            "this process is one of several started by mpiexec, but mpi4py is not installed; "
            "pip install 'nnet[mpi]' (mpi4py, and mpich for an MPI of its own)"
        ) from None
    return MPI.COMM_WORLD if MPI.COMM_WORLD.Get_size() > 1 else None


class Group:
    """The processes training one network together: ``comm`` (an mpi4py communicator), or one
    process alone when ``comm`` is None or holds one process.

    Attributes
    ----------
    rank, size : int
        This process's number (from 0) and how many there are.
    parallel : bool
        More than one process: only then is anything sent.
    """

    def __init__(self, comm=None):
        if comm is not None and not all(hasattr(comm, name) for name in ("Get_rank", "Get_size", "Allreduce")):
            raise TypeError(f"comm must be an mpi4py communicator such as MPI.COMM_WORLD, or None; got {comm!r}")
        self.comm = comm
        self.rank = 0 if comm is None else comm.Get_rank()
        self.size = 1 if comm is None else comm.Get_size()
        self.parallel = self.size > 1

    def shard(self, rows: int) -> tuple[int, int]:
        """This process's part ``(start, stop)`` of a batch of ``rows`` rows."""
        return rows * self.rank // self.size, rows * (self.rank + 1) // self.size

    def largest_shard(self, rows: int) -> int:
        """The most rows any process takes of a batch of ``rows``."""
        return -(-rows // self.size)

    # -- the step ---------------------------------------------------------------------------
    def sum_step(self, network, cost: float, correct: int, stop: bool) -> tuple[float, int, bool]:
        """Sum the shards' gradients (in ``network.gradients``, in place) and tallies, in one
        Allreduce; returns the batch's ``(cost, correct answers, stop requested)``."""
        from mpi4py import MPI

        buffer = network.gradient_buffer
        tally = buffer[-len(TALLY):]
        tally[0], tally[1], tally[2] = cost, correct, stop
        self.comm.Allreduce(MPI.IN_PLACE, buffer, op=MPI.SUM)
        return float(tally[0]), int(round(float(tally[1]))), bool(tally[2])

    def end_epoch(self, validation, stop: bool):
        """Share rank 0's validation scores (``(cost, accuracy, r2)``, accuracy None for
        regression, R² None for a classifier; or None) and whether any process asked to stop;
        returns them, alike on every process."""
        from mpi4py import MPI

        message = np.zeros(5)
        if self.rank == 0 and validation is not None:
            message[:4] = 1.0, *(np.nan if value is None else value for value in validation)
        message[4] = stop
        self.comm.Allreduce(MPI.IN_PLACE, message, op=MPI.SUM)
        scores = tuple(None if np.isnan(value) else float(value) for value in message[1:4]) if message[0] else None
        return scores, bool(message[4])

    def sum(self, values: np.ndarray) -> np.ndarray:
        """``values`` (float64) summed over every process, alike on each."""
        from mpi4py import MPI

        total = np.array(values, dtype=np.float64)
        self.comm.Allreduce(MPI.IN_PLACE, total, op=MPI.SUM)
        return total

    def any(self, flag: bool) -> bool:
        """Whether ``flag`` is true on any process."""
        from mpi4py import MPI

        flags = np.array([flag], np.int32)
        self.comm.Allreduce(MPI.IN_PLACE, flags, op=MPI.SUM)
        return bool(flags[0])

    # -- failures ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def agreement(self):
        """A stretch of work every process does, after which all go on or all stop: an exception
        on any process is raised on every one (its own where it failed, a :class:`PeerFailure`
        naming the first process that failed elsewhere). Every process must reach its end."""
        if not self.parallel:
            yield
            return
        try:
            yield
        except BaseException as failure:
            self._agree(failure)
            raise
        peer = self._agree(None)
        if peer is not None:
            raise peer

    def _agree(self, failure: BaseException | None) -> PeerFailure | None:
        from mpi4py import MPI

        failed = np.zeros(self.size, np.int8)
        failed[self.rank] = failure is not None
        self.comm.Allreduce(MPI.IN_PLACE, failed, op=MPI.SUM)
        if not failed.any():
            return None
        first = int(np.flatnonzero(failed)[0])
        text = describe(failure).encode() if self.rank == first else b""
        length = np.array([len(text)], np.int64)
        self.comm.Bcast(length, root=first)
        message = np.frombuffer(text, np.uint8).copy() if self.rank == first else np.empty(int(length[0]), np.uint8)
        self.comm.Bcast(message, root=first)
        if failure is not None:
            return None
        return PeerFailure(f"rank {first} of {self.size}: {message.tobytes().decode(errors='replace')}")

    @contextlib.contextmanager
    def ending_the_job(self, agreed=()):
        """Work during which the other processes may wait for this one (the training steps): an
        exception raised here ends the whole job (:meth:`abort`), but for the ``agreed`` kinds,
        which every process raises at the same point."""
        try:
            yield
        except agreed:
            raise
        except BaseException as failure:
            if self.parallel:
                self.abort(failure)
            raise

    def abort(self, failure: BaseException):
        """End the whole job now, after one line on stderr naming this process and the cause:
        the other processes may be waiting for this one in a step and would wait forever.

        Ctrl-C reaches every process (mpiexec passes it on): rank 0 says so and ends the job,
        with status 130 as ``nnet`` does when interrupted; the others leave it a moment to, and
        speak only if it could not (it may be waiting inside a step for one of them).
        """
        interrupted = isinstance(failure, KeyboardInterrupt)
        line = f"nnet: error: rank {self.rank} of {self.size}: {describe(failure)}\n"
        if interrupted and self.rank:
            time.sleep(INTERRUPT_GRACE)
        with contextlib.suppress(OSError):
            sys.stdout.flush()
            os.write(2, line.encode(errors="replace"))
            # MPI_Abort writes a line of its own; ours says it better
            os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
        self.comm.Abort(EXIT_INTERRUPTED if interrupted else 1)


def shard_step(network, examples, group: Group):
    """The training step of one of several processes: ``step(rows, mine, rng, asked)``
    backpropagates this process's rows of the batch ``rows``, already gathered into the workspace
    ``mine`` (None when it has none: :mod:`nnet.minibatches`), its gradient a share of the batch's
    mean; sums every process's gradients and tallies (:meth:`Group.sum_step`), and returns the
    batch's ``(cost, correct answers, stop)``: stop is True when a process's callback ``asked`` to
    stop after the previous batch (then this batch is not to be taken)."""
    dropout_widths = [layer.n_out for layer in network.layers if layer.dropout]

    def step(rows, mine, rng, asked):
        start, stop = group.shard(len(rows))
        shard_rng = ShardRandom(rng, start, stop, len(rows))
        cost, correct = 0.0, 0
        if mine is not None:
            cost = network.backprop_batch(mine, shard_rng, mean_over=_batch_weight(examples, rows))
            correct = examples.count_correct(mine.activations[-1], mine.labels)
        else:  # fewer rows than processes: this one adds nothing but keeps the draws in step
            network.gradients[...] = 0.0
            shard_rng.skip_batch(dropout_widths, network.dtype)
        return group.sum_step(network, cost, correct, asked)

    return step


def _batch_weight(examples, rows) -> float:
    """What the whole batch's mean is over: its row count, or with weighted rows the sum of
    their weights, added up as one process adds them (:meth:`nnet.losses.Cost.value`)."""
    if examples.weights is None:
        return len(rows)
    return float(np.add.reduce(examples.weights[rows], dtype=np.float64))


def group(comm) -> Group:
    """``comm`` as a :class:`Group` (a Group is kept as it is)."""
    return comm if isinstance(comm, Group) else Group(comm)


def describe(failure: BaseException) -> str:
    """One line for an exception: its message (its kind too where the message alone is unclear)."""
    message = " ".join(str(failure).split())
    if isinstance(failure, KeyboardInterrupt):
        return "interrupted"
    if isinstance(failure, (ValueError, OSError, RuntimeError, PeerFailure)) and message:
        return message
    return f"{type(failure).__name__}: {message}" if message else type(failure).__name__


# -- dropout's masks, a shard's rows of them ---------------------------------------------------


class ShardRandom:
    """A generator for one shard of a batch: ``random(out=...)`` fills ``out`` (this shard's
    ``stop - start`` rows) with the numbers the whole batch of ``rows`` would have drawn for
    them, and moves ``rng`` past the whole batch's draw, as one process drawing it would.

    The numbers of the other rows are skipped, not drawn (:func:`skip`), so a shard's masks cost
    its own rows only, whatever the number of processes.
    """

    def __init__(self, rng: np.random.Generator, start: int, stop: int, rows: int):
        self.rng, self.start, self.stop, self.rows = rng, start, stop, rows

    def random(self, size=None, dtype=np.float64, out=None):
        if out is None or len(out) != self.stop - self.start:
            raise ValueError("a shard draws into out=, one row per row of its shard")
        width = out[0].size
        skip(self.rng, self.start * width, dtype)
        self.rng.random(dtype=dtype, out=out)
        skip(self.rng, (self.rows - self.stop) * width, dtype)
        return out

    def skip_batch(self, widths, dtype) -> None:
        """Move past a batch of which this shard has no row: one draw of ``rows x width`` for
        each width in ``widths`` (the dropout layers' sizes, in their order)."""
        for width in widths:
            skip(self.rng, self.rows * width, dtype)

    def __getattr__(self, name):
        raise AttributeError(
            f"data-parallel training draws uniform masks only (rng.random(out=...)); rng.{name} would "
            f"need a shard-aware draw in nnet.distributed.ShardRandom"
        )


def skip(rng: np.random.Generator, count: int, dtype) -> None:
    """Move ``rng`` past ``count`` draws of ``rng.random(dtype=dtype)``, as if they were drawn.

    For NumPy's PCG64 (``default_rng``) this jumps ahead (``advance``, a few microseconds however
    far): a float64 takes one 64-bit output, a float32 half of one (the other half is kept for the
    next float32). Checked against real draws the first time; any other generator, or a NumPy
    that draws differently, draws and throws the numbers away.
    """
    count = int(count)
    if count <= 0:
        return
    bits = rng.bit_generator
    if type(bits).__name__ == "PCG64" and _jumps_agree():
        _jump(bits, count, np.dtype(dtype))
        return
    scratch = np.empty(min(count, DISCARD_CHUNK), dtype)
    while count:
        part = scratch[: min(count, len(scratch))]
        rng.random(dtype=dtype, out=part)
        count -= len(part)


def _jump(bits, count: int, dtype: np.dtype) -> None:
    """PCG64: skip ``count`` float64s or float32s (see :func:`skip`)."""
    state = bits.state
    if dtype == np.float64:  # one output each; a kept 32-bit half stays kept
        bits.advance(count)
        bits.state = {**bits.state, "has_uint32": state["has_uint32"], "uinteger": state["uinteger"]}
        return
    if state["has_uint32"]:  # the first float32 takes the kept half
        count -= 1
        bits.state = {**state, "has_uint32": 0, "uinteger": 0}
    pairs, odd = divmod(count, 2)
    bits.advance(pairs)
    if odd:  # draw one output: its low half is the last float32 skipped, its high half is kept
        high = int(bits.random_raw()) >> 32
        bits.state = {**bits.state, "has_uint32": 1, "uinteger": high}


_agreed: bool | None = None


def _jumps_agree() -> bool:
    """Whether jumping ahead lands where drawing does, in this NumPy (checked once)."""
    global _agreed
    if _agreed is None:
        _agreed = True
        for dtype, before, count in ((np.float32, 1, 7), (np.float32, 0, 8), (np.float64, 1, 5)):
            drawn, jumped = np.random.default_rng(12345), np.random.default_rng(12345)
            for rng in (drawn, jumped):
                rng.random(before, dtype=np.float32)
            drawn.random(count, dtype=dtype)
            _jump(jumped.bit_generator, count, np.dtype(dtype))
            if not np.array_equal(drawn.random(3, dtype=np.float32), jumped.random(3, dtype=np.float32)):
                _agreed = False
    return _agreed
