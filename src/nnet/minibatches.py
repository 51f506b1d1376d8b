"""Minibatches: each training step's rows gathered into the workspace by the data path, the images
distorted on the way when training augments them, and prepared a step ahead in a background
thread while the step before trains.

    feeder = Feeder(examples, space, group, augment=Augmentation(shift=2), seed=seed)
    feeder.epoch(epoch, order, batch_size)   # the epoch's shuffled order: batch 0 is under way
    batch = feeder.batch(b)                  # this process's rows of batch b, in the workspace
    feeder.close()

Augmentation draws, for batch b of epoch e, from a generator of its own seeded by (seed, e, b)
(:func:`augment_generator`), never from the epoch's generator that the step's dropout draws from.
So preparing batch b + 1 while batch b trains changes nothing (the same numbers, the same
images); a run resumed at the start of an epoch augments as the uninterrupted run did; and one
of several processes (:mod:`nnet.distributed`) draws exactly its rows' numbers of the batch
(:class:`nnet.distributed.ShardRandom`): the images one process alone would make of them.
"""

from __future__ import annotations

import math

import numpy as np

from .distributed import Group, ShardRandom
from .speed import Ahead, Workspace

#: The stream of a run's seed that augmentation draws from, apart from the initial weights' (the
#: seed itself), the epochs' shuffles and dropout (``[seed, epoch]``) and the validation split's
#: (:data:`nnet.data.SPLIT_STREAM`).
AUGMENT_STREAM = 2


def augment_generator(seed: int, epoch: int, batch: int) -> np.random.Generator:
    """The generator that augments batch ``batch`` (from 0) of epoch ``epoch`` of a run seeded
    with ``seed``."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(AUGMENT_STREAM, epoch, batch)))


def image_shape(sample_shape: tuple[int, ...]) -> tuple[int, ...]:
    """The shape of one image, for samples of ``sample_shape``: (H, W) or (C, H, W) as they are,
    and rows of side² values as (side, side) squares (784 inputs: 28 x 28 pixels). Raises
    ValueError for rows that are not square images."""
    if len(sample_shape) in (2, 3):
        return tuple(sample_shape)
    size = int(np.prod(sample_shape))
    side = math.isqrt(size)
    if len(sample_shape) != 1 or side < 2 or side * side != size:
        raise ValueError(f"augment moves the pixels of images, and samples of shape {tuple(sample_shape)} are not "
                         f"square images (such as 784 values: 28x28 pixels, or (1, 28, 28))")
    return side, side


class Feeder:
    """The minibatches of a training run, for one process (``group``, a
    :class:`nnet.distributed.Group`, says which rows of a batch are its own).

    Parameters
    ----------
    examples : nnet.data.Examples
        The training set, as the data path checked it.
    space : nnet.speed.Workspace
        Where each batch goes (made with ``spare=True`` when ``ahead``).
    augment : nnet.augment.Augmentation, optional
        Distorts every training image afresh at every batch (None, or one that moves nothing:
        the images as they are).
    seed : int
        The run's seed (:func:`augment_generator`).
    ahead : bool
        Prepare batch b + 1 in a background thread (:class:`nnet.speed.Ahead`) while batch b
        trains; the same batches as without.
    """

    def __init__(self, examples, space: Workspace, group: Group, *, augment=None, seed: int = 0, ahead: bool = False):
        self.examples, self.space, self.group, self.seed = examples, space, group, seed
        self.augment = None if augment is None or augment.is_identity else augment
        self.shape = None if self.augment is None else image_shape(examples.x.shape[1:])
        self._ahead = Ahead() if ahead else None
        self._cache: dict = {}  # the augmentation's working arrays, kept from batch to batch
        self._epoch, self._order, self._batch_size = 0, np.arange(0), 1

    def epoch(self, epoch: int, order: np.ndarray, batch_size: int) -> None:
        """Begin an epoch: its rows in ``order``, cut into batches of ``batch_size``."""
        if self._ahead is not None and self._ahead.busy:  # the last epoch was left early
            self._ahead.result()
        self._epoch, self._order, self._batch_size = epoch, order, batch_size
        if self._ahead is not None:
            self._ahead.start(self._prepare, 0, True)

    def batch(self, index: int) -> Workspace | None:
        """Batch ``index`` of the epoch gathered into the workspace: a view of its rows (this
        process's share of them), or None when this process has none of them."""
        if self._ahead is None:
            if self.augment is None and not self.group.parallel:  # the lessons' path, kept as short as it was
                rows = self._order[index * self._batch_size : (index + 1) * self._batch_size]
                view = self.space.rows(len(rows))
                self.examples.gather(rows, view.x, view.targets, view.labels, view.weights)
                return view
            rows = self._prepare(index, False)
        else:
            rows = self._ahead.result()
            self.space.swap()
            if (index + 1) * self._batch_size < len(self._order):
                self._ahead.start(self._prepare, index + 1, True)
        return self.space.rows(rows) if rows else None

    def close(self) -> None:
        """Wait for the work under way, and end the background thread."""
        if self._ahead is not None:
            self._ahead.close()

    def _prepare(self, index: int, spare: bool) -> int:
        """Gather this process's rows of batch ``index`` into the workspace (its spare minibatch
        with ``spare``); returns how many."""
        rows = self._order[index * self._batch_size : (index + 1) * self._batch_size]
        start, stop = self.group.shard(len(rows))
        n = stop - start
        if not n:
            return 0
        if spare:
            into = self.space.spare_rows(n)
        else:
            view = self.space.rows(n)
            into = (view.x, view.targets, view.labels, view.weights)
        augment = None
        if self.augment is not None:
            rng = augment_generator(self.seed, self._epoch, index)
            if self.group.parallel:
                rng = ShardRandom(rng, start, stop, len(rows))
            shape = (n, *self.shape)

            def augment(raw, out, scale):
                self.augment(raw.reshape(shape), rng, out=out.reshape(shape), dtype=out.dtype, scale=scale,
                             cache=self._cache)

        self.examples.gather(rows[start:stop], *into, augment=augment)
        return n
