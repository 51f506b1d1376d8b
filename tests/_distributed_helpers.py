"""The small training run that tests/test_distributed.py does alone and under mpiexec alike."""

import numpy as np

import nnet
from nnet.checkpoints import load_checkpoint

#: Rows, inputs, hidden sizes and classes: 97 rows in batches of 16 leave a last batch of one
#: row, so under -n 3 two processes have no row of it.
ROWS, INPUTS, HIDDEN, CLASSES = 97, 12, [16, 8], 3
VALIDATION_ROWS = 20
#: With "augment": the rows are 6 x 6 images (36 inputs), distorted afresh at every batch.
IMAGE_SIDE = 6


def data(poison: bool = False, regression: bool = False, images: bool = False):
    """Seeded (x, y) and validation data; ``poison`` puts a NaN into x; ``regression``: y holds
    two values per row (far from 0, as raw targets may be) instead of labels; ``images``: x holds
    rows of 6 x 6 uint8 pixels."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=(ROWS + VALIDATION_ROWS, INPUTS)).astype(np.float32)
    y = (x[:, :CLASSES] + 0.3 * rng.normal(size=(len(x), CLASSES))).argmax(axis=1)
    if images:
        x = rng.integers(0, 256, (len(x), IMAGE_SIDE * IMAGE_SIDE)).astype(np.uint8)
        x[np.arange(len(x)), y * 12 + 7] = 255  # a bright pixel where the class says
    if regression:
        y = 50.0 + x[:, :2] @ np.array([[1.0, 0.5], [-2.0, 1.0]]) + 0.1 * rng.normal(size=(len(x), 2))
    if poison:
        x[5, 3] = np.nan
    return (x[:ROWS], y[:ROWS]), (x[ROWS:], y[ROWS:])


def train(settings: dict, comm=None, callbacks=(), poison: bool = False, resume: str | None = None):
    """Train the test network with ``settings`` (optimizer, learning_rate, dropout, epochs,
    batch_size, early_stopping, validation, weighted: seeded sample weights, regression: two
    values from an identity output, augment: an augmentation's written form, on images);
    ``resume``: continue the checkpoint in that file. Returns (network, trainer)."""
    settings = dict(settings)
    dropout = settings.pop("dropout", 0.0)
    regression = settings.pop("regression", False)
    augment = settings.pop("augment", None)
    inputs = IMAGE_SIDE * IMAGE_SIDE if augment else INPUTS
    network = nnet.Network([inputs, *HIDDEN, 2 if regression else CLASSES], activation="relu",
                           output="identity" if regression else "softmax",
                           cost="quadratic" if regression else "cross_entropy", dropout=dropout, seed=3)
    checkpoint = None
    if resume:
        network, checkpoint = load_checkpoint(resume)
    (x, y), validation = data(poison, regression, images=augment is not None)
    if not settings.pop("validation", True):
        validation = None
    weights = np.random.default_rng(5).uniform(0.2, 2.0, len(x)) if settings.pop("weighted", False) else None
    optimizer = nnet.optimizers.get(settings.pop("optimizer", "sgd"), learning_rate=settings.pop("learning_rate", None))
    trainer = nnet.Trainer(network, optimizer, seed=11, comm=comm, callbacks=callbacks, **settings,
                           augment=None if augment is None else nnet.augment.Augmentation.parse(augment))
    if checkpoint is not None:
        trainer.restore(checkpoint)
    trainer.run(x, y, validation, sample_weight=weights)
    return network, trainer
