"""Augmentation in training (nnet.minibatches): every batch distorted afresh, from a generator
seeded by (seed, epoch, batch), on the data path's way into the workspace.

What must hold: the same seed gives the same weights and another seed others; the labels stay
with their images; a batch is exactly the augmentation of its rows from its own generator; a run
resumed at an epoch boundary augments as the uninterrupted one (the checkpoint keeps the
augmentation); the background thread that prepares the next batch changes nothing, bit for bit;
and one process of several draws its rows' distortions as one process alone draws them (the
MPI parity, under mpiexec in tests/test_distributed.py's manner)."""

from __future__ import annotations

import numpy as np
import pytest

import nnet
from nnet import minibatches
from nnet.augment import Augmentation
from nnet.checkpoints import load_checkpoint, save_checkpoint
from nnet.data import PIXEL_SCALE
from nnet.distributed import Group
from nnet.speed import Workspace

AUGMENT = Augmentation(shift=1.5, rotation=12.0, scale=0.1, shear=8.0, alpha=8.0, sigma=2.0)


def digits(n=50, side=8, seed=0):
    """uint8 images with a class-dependent bright bar, flattened to rows of side² pixels."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = rng.integers(0, 40, (n, side, side)).astype(np.uint8)
    for label in range(3):
        x[y == label, 2 + 2 * label, 1:-1] = 250
    return x.reshape(n, -1), y


def network(side=8, dropout=0.2, seed=0):
    return nnet.Network([side * side, 12, 3], activation="relu", cost="cross_entropy", dropout=dropout, seed=seed)


def trained(augment=AUGMENT, seed=1, epochs=2, ahead=True, batch_size=7, x=None, y=None):
    if x is None:
        x, y = digits()
    net = network()
    trainer = nnet.Trainer(net, "momentum", epochs=epochs, batch_size=batch_size, seed=seed, augment=augment)
    trainer.ahead = ahead
    trainer.run(x, y)
    return net, trainer


class ShardOf:
    """A Group-like stand-in: process ``rank`` of ``size`` (nothing is sent: the feeder only asks
    which rows are its own)."""

    def __init__(self, rank, size):
        self.rank, self.size, self.parallel = rank, size, size > 1

    def shard(self, rows):
        return rows * self.rank // self.size, rows * (self.rank + 1) // self.size


def fed(x, y, group, batch, order, batch_size=7, ahead=False, epoch=3, seed=5):
    """Batch ``batch`` of an epoch as the feeder of ``group`` gathers it: (x, labels) copies."""
    net = network()
    examples = net.examples(x, y)
    space = Workspace(net.layers, batch_size, 3, net.dtype, spare=ahead)
    feeder = minibatches.Feeder(examples, space, group, augment=AUGMENT, seed=seed, ahead=ahead)
    try:
        feeder.epoch(epoch, order, batch_size)
        for index in range(batch + 1):
            view = feeder.batch(index)
        return (None, None) if view is None else (view.x.copy(), view.labels.copy())
    finally:
        feeder.close()


def test_a_batch_is_its_rows_distorted_by_its_own_generator_and_keeps_their_labels():
    x, y = digits()
    order = np.random.default_rng(0).permutation(len(x))
    inputs, labels = fed(x, y, Group(), batch=2, order=order)
    rows = order[14:21]
    np.testing.assert_array_equal(labels, y[rows])
    images = x[rows].reshape(-1, 8, 8)
    expected = AUGMENT(images, minibatches.augment_generator(5, 3, 2), scale=PIXEL_SCALE)
    np.testing.assert_array_equal(inputs.reshape(-1, 8, 8), expected)
    assert not np.allclose(inputs, x[rows] * np.float32(PIXEL_SCALE))  # moved, not merely scaled


def test_the_same_seed_gives_the_same_weights_and_another_seed_others():
    first, _ = trained(seed=1)
    again, _ = trained(seed=1)
    other, _ = trained(seed=2)
    assert first.parameters.tobytes() == again.parameters.tobytes()
    assert not np.allclose(first.parameters, other.parameters)


def test_augmenting_changes_training_and_moving_nothing_does_not():
    plain, _ = trained(augment=None)
    still, _ = trained(augment=Augmentation())
    moved, _ = trained()
    assert still.parameters.tobytes() == plain.parameters.tobytes()
    assert not np.allclose(moved.parameters, plain.parameters)


@pytest.mark.parametrize("batch_size", [7, 50, 64])
def test_the_background_thread_gives_the_weights_of_preparing_in_line_bit_for_bit(batch_size):
    """50 rows in batches of 7 leave a last batch of 1; 50 and 64 make one batch an epoch."""
    ahead, _ = trained(ahead=True, batch_size=batch_size, epochs=3)
    in_line, _ = trained(ahead=False, batch_size=batch_size, epochs=3)
    assert ahead.parameters.tobytes() == in_line.parameters.tobytes()


def test_a_stop_in_the_middle_of_an_epoch_leaves_no_thread_writing():
    class StopAt(nnet.Callback):
        def on_batch_end(self, state):
            state.stop_training = state.batch == 2

    x, y = digits()
    nets = []
    for ahead in (True, False):
        net = network()
        trainer = nnet.Trainer(net, "sgd", epochs=3, batch_size=7, seed=1, augment=AUGMENT, callbacks=[StopAt()])
        trainer.ahead = ahead
        trainer.run(x, y)
        nets.append(net.parameters.tobytes())
    assert nets[0] == nets[1]


def test_a_run_resumed_at_an_epoch_boundary_augments_as_the_uninterrupted_run(tmp_path):
    x, y = digits()
    whole, _ = trained(epochs=3)
    first = network()
    trainer = nnet.Trainer(first, "momentum", epochs=1, batch_size=7, seed=1, augment=AUGMENT)
    trainer.run(x, y)
    assert trainer.checkpoint()["augment"] == AUGMENT.settings()
    save_checkpoint(first, trainer.checkpoint(), tmp_path / "checkpoint.safetensors")
    resumed, checkpoint = load_checkpoint(tmp_path / "checkpoint.safetensors")
    again = nnet.Trainer(resumed, "momentum", epochs=3, batch_size=7, seed=1)  # the checkpoint says how
    again.restore(checkpoint)
    assert again.augment == AUGMENT
    again.run(x, y)
    assert resumed.parameters.tobytes() == whole.parameters.tobytes()


def test_fit_resume_keeps_the_augmentation_and_refuses_another():
    x, y = digits()
    whole = network()
    whole.fit(x, y, epochs=2, batch_size=7, seed=1, augment=AUGMENT)
    first = network()
    trainer = nnet.Trainer(first, "sgd", epochs=1, batch_size=7, seed=1, augment=AUGMENT)
    trainer.run(x, y)
    first.fit(x, y, epochs=2, batch_size=7, seed=1, resume=trainer.checkpoint())
    assert first.parameters.tobytes() == whole.parameters.tobytes()
    with pytest.raises(ValueError, match="the checkpoint's run augments with .* a resumed run keeps its augmentation"):
        network().fit(x, y, epochs=2, seed=1, augment=Augmentation(shift=1), resume=trainer.checkpoint())


@pytest.mark.parametrize("size", [2, 3, 4])
@pytest.mark.parametrize("ahead", [False, True])
def test_a_process_of_several_makes_its_rows_images_as_one_process_does(size, ahead):
    """The MPI parity of augmentation: each shard's rows of a batch, augmented by the shard alone
    (its numbers drawn, the others' skipped), are those rows of the whole batch."""
    x, y = digits()
    order = np.random.default_rng(1).permutation(len(x))
    for batch in (1, 7):  # a whole batch of 7, and the last one of 1 (some shards have no row)
        whole, labels = fed(x, y, Group(), batch, order, ahead=ahead)
        for rank in range(size):
            part, part_labels = fed(x, y, ShardOf(rank, size), batch, order, ahead=ahead)
            start, stop = ShardOf(rank, size).shard(len(whole))
            if stop == start:
                assert part is None
                continue
            np.testing.assert_array_equal(part, whole[start:stop])
            np.testing.assert_array_equal(part_labels, labels[start:stop])


def test_augmenting_rows_that_are_not_images_says_so_in_one_line():
    x = np.random.default_rng(0).random((10, 12)).astype(np.float32)
    with pytest.raises(ValueError, match=r"augment moves the pixels of images, and samples of shape \(12,\) are not "
                                         r"square images"):
        nnet.Network([12, 3], cost="cross_entropy", output="softmax").fit(x, np.arange(10) % 3, augment=AUGMENT)
    with pytest.raises(TypeError, match="augment must be an nnet.augment.Augmentation"):
        nnet.Trainer(network(), augment="shift=2")


def test_conv_networks_take_their_images_as_they_are():
    from nnet import layer_kinds

    x, y = digits()
    layers = layer_kinds.build([{"kind": "conv2d", "out_channels": 2, "kernel_size": 3}, {"kind": "flatten"},
                                {"kind": "dense", "n_out": 3, "activation": "softmax"}], (1, 8, 8), seed=0)
    net = nnet.Network(layers, cost="cross_entropy")
    net.fit(x.reshape(-1, 1, 8, 8), y, epochs=1, batch_size=7, seed=1, augment=AUGMENT)
    assert np.isfinite(net.parameters).all()
    assert minibatches.image_shape((1, 8, 8)) == (1, 8, 8) and minibatches.image_shape((784,)) == (28, 28)


def test_by_default_a_conv_network_augments_a_batch_ahead_and_a_fully_connected_one_in_line(monkeypatch):
    made = []
    feeder = minibatches.Feeder

    def recording(*args, **kwargs):
        made.append(kwargs["ahead"])
        return feeder(*args, **kwargs)

    monkeypatch.setattr(minibatches, "Feeder", recording)
    x, y = digits()
    conv = nnet.Network([nnet.Conv2D(1, 2, 3, input_shape=(1, 8, 8)), nnet.Flatten(), nnet.Dense(72, 3, "softmax")],
                        cost="cross_entropy")
    for net, images in ((network(), x), (conv, x.reshape(-1, 1, 8, 8))):
        trainer = nnet.Trainer(net, "sgd", epochs=1, batch_size=10, seed=0, augment=AUGMENT)
        assert trainer.ahead is None  # nnet's choice
        trainer.run(images, y)
    assert made == [False, True]
