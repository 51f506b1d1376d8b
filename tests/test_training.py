"""Tests for nnet.training: the History, validation, callbacks, early stopping, the divergence
guard, determinism, resuming from a checkpoint, input handling, schedules, input checks, and
(marked slow) learning on the real MNIST digits.
"""

import gzip
import math
import re
import struct
from pathlib import Path

import numpy as np
import pytest

import nnet
from nnet import data, optimizers, schedules
from nnet.training import TrainingState

# -- data and helpers ------------------------------------------------------------------------


def blobs(n, *, d=6, k=3, seed=0, spread=1.0):
    """n points around k fixed centres in d dimensions, labels 0, 1, ..., k-1 in turn."""
    rng = np.random.default_rng(seed)
    centers = np.random.default_rng(100).normal(size=(k, d)) * 2
    labels = np.arange(n) % k
    x = centers[labels] + spread * rng.normal(size=(n, d))
    return x.astype(np.float32), labels


def relu_net(sizes=(6, 16, 3), seed=0, **kwargs):
    return nnet.Network(list(sizes), activation="relu", cost="cross_entropy", seed=seed, **kwargs)


class Recorder(nnet.Callback):
    """Counts every call and keeps a copy of the parameters at the end of each epoch."""

    def __init__(self):
        self.calls = {"train_begin": 0, "epoch_begin": 0, "batch_end": 0, "epoch_end": 0, "train_end": 0}
        self.batches_per_epoch = {}
        self.batch_indices = []
        self.samples_per_epoch = {}
        self.parameters = {}  # epoch (from 1) -> parameters at its end
        self.checkpoints = {}  # epoch (from 1) -> trainer.checkpoint() at its end

    def on_train_begin(self, state):
        self.calls["train_begin"] += 1

    def on_epoch_begin(self, state):
        self.calls["epoch_begin"] += 1
        self.batches_per_epoch[state.epoch] = 0
        self.samples_per_epoch[state.epoch] = 0

    def on_batch_end(self, state):
        self.calls["batch_end"] += 1
        self.batches_per_epoch[state.epoch] += 1
        self.samples_per_epoch[state.epoch] += state.batch_size
        self.batch_indices.append((state.epoch, state.batch))
        assert math.isfinite(state.batch_cost)
        assert 0.0 <= state.batch_accuracy <= 1.0

    def on_epoch_end(self, state):
        self.calls["epoch_end"] += 1
        self.parameters[state.record.epoch] = state.network.parameters.copy()
        self.checkpoints[state.record.epoch] = state.trainer.checkpoint()

    def on_train_end(self, state):
        self.calls["train_end"] += 1


# -- the History -----------------------------------------------------------------------------


def test_fit_returns_history_with_every_field():
    x, y = blobs(90)
    x_val, y_val = blobs(30, seed=1)
    net = relu_net()
    history = net.fit(
        x, y, epochs=3, batch_size=16, learning_rate=0.1, validation_data=(x_val, y_val), seed=5
    )
    assert isinstance(history, nnet.History)
    assert [record.epoch for record in history.epochs] == [1, 2, 3]
    last = history.epochs[-1]
    assert isinstance(last, nnet.EpochRecord)
    assert math.isfinite(last.train_cost) and last.train_cost >= 0
    assert 0.0 <= last.train_accuracy <= 1.0
    # validation numbers are the network's own evaluation at the end of the run
    scores = net.evaluate(x_val, y_val)
    assert last.validation_cost == pytest.approx(scores.cost, rel=1e-12)
    assert last.validation_accuracy == pytest.approx(scores.accuracy, rel=1e-12)
    assert last.learning_rate == pytest.approx(0.1)
    assert last.seconds >= 0
    assert history.seconds == pytest.approx(sum(r.seconds for r in history.epochs))
    assert history.seed == 5
    assert history.stopped_early is False
    assert history.column("epoch") == [1, 2, 3]
    # three well-separated blobs: learned
    assert last.train_accuracy > 0.9


def test_history_without_validation_has_none():
    x, y = blobs(30)
    last = relu_net().fit(x, y, epochs=1, seed=0).epochs[-1]
    assert last.validation_cost is None and last.validation_accuracy is None


def test_history_dict_round_trip():
    x, y = blobs(30)
    history = relu_net().fit(x, y, epochs=2, early_stopping=1, seed=0)
    again = nnet.History.from_dict(history.to_dict())
    assert again == history


def test_train_cost_is_measured_before_each_update():
    # one batch per epoch: epoch 1's training cost is the cost of the initial network
    x, y = blobs(40)
    net = relu_net()
    before = net.evaluate(x, y)
    record = net.fit(x, y, epochs=1, batch_size=40, learning_rate=0.05, seed=0).epochs[0]
    assert record.train_cost == pytest.approx(before.cost, rel=1e-5)
    assert record.train_accuracy == pytest.approx(before.accuracy)
    assert net.evaluate(x, y).cost < before.cost  # and the update happened


# -- validation ------------------------------------------------------------------------------


def test_validation_split_holds_out_a_seeded_stratified_draw():
    x, y = blobs(100)
    order = np.argsort(y, kind="stable")
    x, y = x[order], y[order]  # sorted by class: the last tenth would be class 2 alone
    recorder = Recorder()
    net = relu_net()
    history = net.fit(
        x, y, epochs=4, batch_size=8, optimizer="adam", learning_rate=0.02,
        validation_split=0.1, callbacks=[recorder], seed=0,
    )
    (kept, _), (held, y_held) = data.split_validation(np.arange(100), y, 0.1, seed=0)  # the rule, the run's seed
    assert np.bincount(y_held).tolist() == [4, 3, 3]  # every class, in its share of 34, 33, 33
    last = history.epochs[-1]
    held_out = net.evaluate(x[held], y[held])
    assert last.validation_cost == pytest.approx(held_out.cost, rel=1e-12)
    assert last.validation_accuracy == pytest.approx(held_out.accuracy, rel=1e-12)
    assert abs(last.validation_cost - net.evaluate(x[90:], y[90:]).cost) > 1e-6  # not the last rows
    # and trained on the other 90 rows: ceil(90 / 8) = 12 batches of 90 samples
    assert recorder.batches_per_epoch == {epoch: 12 for epoch in range(4)}
    assert recorder.samples_per_epoch == {epoch: 90 for epoch in range(4)}


def test_validation_split_equals_explicit_validation_data():
    x, y = blobs(60)
    weights = np.linspace(0.5, 2.0, 60)
    split = relu_net().fit(x, y, epochs=2, batch_size=8, validation_split=0.25, seed=1, sample_weight=weights)
    (kept, _), (held, _) = data.split_validation(np.arange(60), y, 0.25, seed=1)
    explicit_net = relu_net()
    explicit = explicit_net.fit(x[kept], y[kept], epochs=2, batch_size=8, validation_data=(x[held], y[held]), seed=1,
                                sample_weight=weights[kept])
    np.testing.assert_array_equal(split.column("validation_cost"), explicit.column("validation_cost"))
    np.testing.assert_array_equal(split.column("train_cost"), explicit.column("train_cost"))


def test_validation_split_of_a_regression_network_is_seeded_and_not_stratified():
    x, _ = blobs(40)
    targets = x[:, :2].sum(axis=1)
    net = nnet.Network([6, 8, 1], activation="relu", output="identity", seed=0)
    split = net.fit(x, targets, epochs=2, batch_size=8, validation_split=10, seed=3)
    (kept, _), (held, _) = data.split_validation(np.arange(40), targets, 10, seed=3, task="regression")
    again = nnet.Network([6, 8, 1], activation="relu", output="identity", seed=0)
    explicit = again.fit(x[kept], targets[kept], epochs=2, batch_size=8, validation_data=(x[held], targets[held]), seed=3)
    np.testing.assert_array_equal(split.column("validation_cost"), explicit.column("validation_cost"))



def test_validation_data_and_split_together_is_an_error():
    x, y = blobs(30)
    with pytest.raises(ValueError, match="give validation_data or validation_split, not both"):
        relu_net().fit(x, y, validation_data=(x, y), validation_split=0.1)


@pytest.mark.parametrize("split", [0.0, 1.0, 1.5, -0.1, True, 30, "0.1"])
def test_validation_split_must_be_a_count_or_a_fraction(split):
    x, y = blobs(30)
    rule = "validation_split must be an int in [1, 29] (a count of the 30 rows) or a float in (0, 1) (a fraction of them)"
    with pytest.raises(ValueError, match=re.escape(f"{rule}; got {split!r}")):
        relu_net().fit(x, y, validation_split=split)


def test_validation_split_too_small_leaves_nothing():
    x, y = blobs(30)
    with pytest.raises(ValueError, match=r"validation_split must be .*; got 0\.01, which leaves 0 of 30 for validation"):
        relu_net().fit(x, y, validation_split=0.01)


def test_validation_split_takes_a_count_as_datasets_split_validation_does():
    x, y = blobs(30)
    by_count = relu_net().fit(x, y, epochs=2, batch_size=8, validation_split=6, seed=1)
    by_fraction = relu_net().fit(x, y, epochs=2, batch_size=8, validation_split=0.2, seed=1)
    assert by_count.to_dict() == {**by_fraction.to_dict(), "epochs": [
        {**record, "seconds": mine["seconds"]} for record, mine in zip(by_fraction.to_dict()["epochs"], by_count.to_dict()["epochs"])]}


# -- callbacks -------------------------------------------------------------------------------


@pytest.mark.parametrize("n, batch_size", [(50, 16), (50, 10), (50, 50), (50, 7), (20, 64)])
def test_callbacks_are_called_per_train_epoch_and_batch(n, batch_size):
    x, y = blobs(n)
    recorder = Recorder()
    epochs = 3
    relu_net().fit(x, y, epochs=epochs, batch_size=batch_size, callbacks=[recorder], seed=0)
    batches = math.ceil(n / batch_size)
    assert recorder.calls == {
        "train_begin": 1,
        "epoch_begin": epochs,
        "batch_end": epochs * batches,
        "epoch_end": epochs,
        "train_end": 1,
    }
    assert recorder.batch_indices == [(e, b) for e in range(epochs) for b in range(batches)]
    assert recorder.samples_per_epoch == {e: n for e in range(epochs)}


def test_stop_training_from_a_batch_stops_after_it():
    class StopAtSecondBatch(nnet.Callback):
        def on_batch_end(self, state):
            self.trainer = state.trainer
            if state.batch == 1:
                state.stop_training = True

    x, y = blobs(50)
    callback = StopAtSecondBatch()
    history = relu_net().fit(x, y, epochs=5, batch_size=10, callbacks=[callback], seed=0)
    assert len(history.epochs) == 1
    assert callback.trainer.optimizer.steps == 2  # two updates, then it stopped


def test_stop_training_from_an_epoch_end():
    class StopAfterTwo(nnet.Callback):
        def on_epoch_end(self, state):
            if state.record.epoch == 2:
                state.stop_training = True

    x, y = blobs(30)
    history = relu_net().fit(x, y, epochs=10, callbacks=[StopAfterTwo()], seed=0)
    assert [record.epoch for record in history.epochs] == [1, 2]


def test_callback_state_describes_the_run():
    seen = []

    class Look(nnet.Callback):
        def on_train_begin(self, state):
            seen.append(state)

    x, y = blobs(45)
    net = relu_net()
    net.fit(x, y, epochs=2, batch_size=10, callbacks=[Look()], seed=0)
    state = seen[0]
    assert isinstance(state, TrainingState)
    assert state.network is net
    assert (state.epochs, state.batches) == (2, 5)


def test_callbacks_must_be_callback_objects():
    x, y = blobs(30)
    with pytest.raises(TypeError, match="callbacks must be nnet.training.Callback objects; got"):
        relu_net().fit(x, y, callbacks=[lambda state: None])


# -- early stopping --------------------------------------------------------------------------


def test_early_stopping_restores_the_best_weights():
    # A small training set with a third of its labels scrambled, a wide network and a large
    # step: the validation cost falls for a few epochs, then rises as it memorises the noise.
    x, y = blobs(24, spread=3.0, seed=2)
    y = y.copy()
    y[:8] = np.random.default_rng(5).integers(0, 3, 8)
    x_val, y_val = blobs(300, spread=3.0, seed=3)
    recorder = Recorder()
    net = relu_net(sizes=(6, 64, 64, 3))
    history = net.fit(
        x, y, epochs=200, batch_size=8, optimizer="adam", learning_rate=0.03,
        validation_data=(x_val, y_val), early_stopping=5, callbacks=[recorder], seed=0,
    )
    costs = history.column("validation_cost")
    assert history.stopped_early is True
    assert history.best_epoch == int(np.argmin(costs)) + 1
    assert 1 < history.best_epoch < len(history.epochs)  # a genuine rise after the best
    assert len(history.epochs) == history.best_epoch + 5  # five epochs without improvement
    np.testing.assert_array_equal(net.parameters, recorder.parameters[history.best_epoch])
    assert not np.array_equal(net.parameters, recorder.parameters[len(history.epochs)])
    assert net.evaluate(x_val, y_val).cost == pytest.approx(min(costs), rel=1e-12)


def test_early_stopping_when_validation_gets_worse_from_the_start():
    # validation labels shifted by one class: learning the training labels makes it worse
    x, y = blobs(90)
    x_val, y_val = blobs(30, seed=1)
    recorder = Recorder()
    net = relu_net()
    history = net.fit(
        x, y, epochs=30, batch_size=10, optimizer="adam", learning_rate=0.01,
        validation_data=(x_val, (y_val + 1) % 3), early_stopping=3, callbacks=[recorder], seed=0,
    )
    assert history.stopped_early is True
    assert history.best_epoch == 1
    assert len(history.epochs) == 4
    np.testing.assert_array_equal(net.parameters, recorder.parameters[1])


def test_early_stopping_without_validation_uses_training_cost():
    x, y = blobs(30)
    history = relu_net().fit(x, y, epochs=5, learning_rate=0.1, early_stopping=2, seed=0)
    costs = history.column("train_cost")
    assert history.best_epoch == int(np.argmin(costs)) + 1


@pytest.mark.parametrize("patience", [0, -1, 1.5, True])
def test_early_stopping_must_be_a_positive_integer(patience):
    x, y = blobs(30)
    with pytest.raises(ValueError, match=re.escape(f"early_stopping must be a positive integer; got {patience!r}")):
        relu_net().fit(x, y, early_stopping=patience)


# -- the divergence guard --------------------------------------------------------------------


@pytest.mark.filterwarnings("error")  # no RuntimeWarning (overflow, invalid) may escape
def test_divergence_in_the_first_epoch_restores_initial_weights():
    x, y = blobs(200, d=8)
    net = relu_net(sizes=(8, 16, 3))
    initial = net.parameters.copy()
    with pytest.raises(nnet.DivergenceError) as info:
        net.fit(x, y, epochs=3, batch_size=20, learning_rate=1e6, seed=0)
    error = info.value
    assert isinstance(error, nnet.TrainingError)
    message = str(error)
    assert re.search(r"at epoch 1, batch \d+ of 10 \(learning_rate=1e\+06\)", message)
    assert "restored to their initial values" in message
    assert "Try a smaller learning rate, e.g. 100000" in message
    assert error.epoch == 1 and 1 <= error.batch <= 10
    assert not math.isfinite(error.cost)
    assert np.isfinite(net.parameters).all()
    np.testing.assert_array_equal(net.parameters, initial)


class JumpAfterFirstEpoch(schedules.Schedule):
    """A sane learning rate for epoch 1, then a factor of 1e8."""

    name = "jump"

    def factor(self, epoch, epochs):
        return 1.0 if epoch == 0 else 1e8


@pytest.mark.filterwarnings("error")
def test_divergence_later_restores_the_end_of_the_last_good_epoch():
    x, y = blobs(200, d=8)
    net = relu_net(sizes=(8, 16, 3))
    recorder = Recorder()
    with pytest.raises(nnet.DivergenceError, match="at epoch 2, batch .* restored to the end of epoch 1") as info:
        net.fit(
            x, y, epochs=4, batch_size=20, learning_rate=0.1, lr_schedule=JumpAfterFirstEpoch(),
            callbacks=[recorder], seed=0,
        )
    assert info.value.epoch == 2
    assert "smaller learning rate" in str(info.value)
    assert list(recorder.parameters) == [1]
    np.testing.assert_array_equal(net.parameters, recorder.parameters[1])


@pytest.mark.filterwarnings("error")
def test_divergence_also_restores_the_optimizer_state():
    # the velocities of the diverging epoch would carry the blow-up into the next fit
    x, y = blobs(200, d=8)
    net = relu_net(sizes=(8, 16, 3))

    class Velocity(nnet.Callback):
        def on_epoch_end(self, state):
            self.velocity = state.trainer.optimizer.velocity.copy()
            self.steps = state.trainer.optimizer.steps

    seen = Velocity()
    trainer = nnet.Trainer(net, optimizers.get("momentum", learning_rate=0.01), epochs=3, batch_size=20, lr_schedule=JumpAfterFirstEpoch(), callbacks=[seen], seed=0)
    with pytest.raises(nnet.DivergenceError, match="at epoch 2"):
        trainer.run(x, y)
    assert trainer.optimizer.steps == seen.steps == 10
    np.testing.assert_array_equal(trainer.optimizer.velocity, seen.velocity)
    assert np.isfinite(trainer.optimizer.velocity).all()


@pytest.mark.filterwarnings("error")
def test_bounded_cost_with_huge_learning_rate_stays_finite():
    # sigmoid outputs with the quadratic cost cannot overflow the cost (it is at most k/2 per
    # sample): a huge step saturates the neurons but leaves every number finite
    x, y = blobs(60)
    net = nnet.Network([6, 8, 3], seed=0)
    history = net.fit(x, y, epochs=2, batch_size=10, learning_rate=1e6, seed=0)
    assert np.isfinite(net.parameters).all()
    assert all(math.isfinite(c) for c in history.column("train_cost"))


# -- determinism -----------------------------------------------------------------------------


def train(optimizer="sgd", *, init_seed=0, seed=0, dropout=0.0, epochs=3, **settings):
    x, y = blobs(64)
    net = relu_net(sizes=(6, 12, 12, 3), seed=init_seed, dropout=dropout)
    history = net.fit(x, y, epochs=epochs, batch_size=8, optimizer=optimizer, seed=seed, **settings)
    return net, history


@pytest.mark.parametrize("optimizer", sorted(optimizers.OPTIMIZERS))
def test_same_seed_same_data_bit_identical(optimizer):
    first, h1 = train(optimizer)
    second, h2 = train(optimizer)
    np.testing.assert_array_equal(first.parameters, second.parameters)
    np.testing.assert_array_equal(h1.column("train_cost"), h2.column("train_cost"))


def test_dropout_training_is_bit_identical_with_the_same_seed():
    first, _ = train("momentum", dropout=0.3)
    second, _ = train("momentum", dropout=0.3)
    no_dropout, _ = train("momentum")
    np.testing.assert_array_equal(first.parameters, second.parameters)
    assert not np.array_equal(first.parameters, no_dropout.parameters)


def test_different_seed_gives_different_weights():
    base, _ = train("adam")
    other_shuffle, _ = train("adam", seed=1)
    other_init, _ = train("adam", init_seed=1)
    assert not np.array_equal(base.parameters, other_shuffle.parameters)
    assert not np.array_equal(base.parameters, other_init.parameters)


def test_dropout_masks_follow_the_seed():
    first, _ = train("sgd", dropout=0.5, seed=0)
    second, _ = train("sgd", dropout=0.5, seed=1)
    assert not np.array_equal(first.parameters, second.parameters)


def test_unseeded_run_records_its_seed_and_can_be_replayed():
    first, history = train("sgd", seed=None)
    assert isinstance(history.seed, int)
    replay, _ = train("sgd", seed=history.seed)
    np.testing.assert_array_equal(first.parameters, replay.parameters)


def test_shuffle_false_trains_in_order():
    a, _ = train("sgd", shuffle=False, seed=0)
    b, _ = train("sgd", shuffle=False, seed=1)  # the seed only shuffles (no dropout here)
    c, _ = train("sgd", shuffle=True, seed=0)
    np.testing.assert_array_equal(a.parameters, b.parameters)
    assert not np.array_equal(a.parameters, c.parameters)


# -- resuming --------------------------------------------------------------------------------


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
@pytest.mark.parametrize("dropout", [0.0, 0.25])
def test_resume_from_a_trainer_checkpoint_is_bit_identical(optimizer, dropout):
    x, y = blobs(64)
    x_val, y_val = blobs(21, seed=1)
    settings = dict(batch_size=8, optimizer=optimizer, learning_rate=0.05, seed=3)

    straight = relu_net(dropout=dropout)
    history = straight.fit(x, y, epochs=4, validation_data=(x_val, y_val), **settings)

    half = relu_net(dropout=dropout)
    trainer = nnet.Trainer(half, optimizers.get(optimizer, learning_rate=0.05), epochs=2, batch_size=8, seed=3)
    trainer.run(x, y, (x_val, y_val))
    checkpoint = trainer.checkpoint()
    assert checkpoint["next_epoch"] == 2

    fresh = relu_net(seed=99, dropout=dropout)  # different initial weights, overwritten next
    fresh.parameters[:] = half.parameters
    resumed = fresh.fit(x, y, epochs=4, validation_data=(x_val, y_val), resume=checkpoint, **settings)

    np.testing.assert_array_equal(fresh.parameters, straight.parameters)
    assert [record.epoch for record in resumed.epochs] == [1, 2, 3, 4]
    np.testing.assert_array_equal(resumed.column("train_cost"), history.column("train_cost"))
    np.testing.assert_array_equal(resumed.column("validation_cost"), history.column("validation_cost"))


def test_resume_from_a_callback_checkpoint_with_schedule_and_early_stopping_state():
    x, y = blobs(64)
    settings = dict(
        batch_size=8, optimizer="nesterov", learning_rate=0.05, lr_schedule="cosine",
        early_stopping=10, seed=4,
    )
    recorder = Recorder()
    straight = relu_net()
    history = straight.fit(x, y, epochs=4, callbacks=[recorder], **settings)

    fresh = relu_net(seed=7)
    np.copyto(fresh.parameters, recorder.parameters[2])
    resumed = fresh.fit(x, y, epochs=4, resume=recorder.checkpoints[2], **settings)

    np.testing.assert_array_equal(fresh.parameters, straight.parameters)
    assert len(resumed.epochs) == 4
    assert resumed.best_epoch == history.best_epoch
    np.testing.assert_array_equal(resumed.column("learning_rate"), history.column("learning_rate"))


def test_checkpoint_is_a_snapshot():
    x, y = blobs(32)
    recorder = Recorder()
    relu_net().fit(x, y, epochs=3, optimizer="adam", callbacks=[recorder], seed=0)
    first, last = recorder.checkpoints[1], recorder.checkpoints[3]
    assert first["next_epoch"] == 1 and last["next_epoch"] == 3
    assert len(first["history"]["epochs"]) == 1
    assert first["optimizer"]["steps"] < last["optimizer"]["steps"]
    assert not np.array_equal(first["optimizer"]["arrays"]["m"], last["optimizer"]["arrays"]["m"])


# -- what the data may look like -------------------------------------------------------------


def test_uint8_inputs_train_like_scaled_floats():
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(64, 784), dtype=np.uint8)
    labels = rng.integers(0, 10, size=64)
    settings = dict(epochs=2, batch_size=16, optimizer="adam", learning_rate=1e-3, seed=0)

    def fresh():
        return nnet.Network([784, 20, 10], activation="relu", cost="cross_entropy", seed=0)

    from_uint8 = fresh()
    from_uint8.fit(pixels, labels, **settings)

    # Bit-identical to the floats the network itself makes of those pixels (the prediction
    # path, forward's record): training and prediction scale a uint8 image the same way.
    as_network_floats = fresh()
    as_network_floats.fit(as_network_floats.forward(pixels, record=True).activations[0], labels, **settings)
    np.testing.assert_array_equal(from_uint8.parameters, as_network_floats.parameters)

    # Only allclose to x.astype(float32) / 255: the library multiplies by float32(1/255), which
    # differs from a true division by one ulp for about half of the 256 byte values, and those
    # rounding differences carry through training.
    divided = fresh()
    divided.fit(pixels.astype(np.float32) / 255, labels, **settings)
    np.testing.assert_allclose(from_uint8.parameters, divided.parameters, rtol=1e-4, atol=1e-6)


def test_uint8_images_may_come_as_28_by_28():
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(32, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=32)
    settings = dict(epochs=1, batch_size=8, seed=0)
    square = nnet.Network([784, 10, 10], seed=0)
    flat = nnet.Network([784, 10, 10], seed=0)
    square.fit(images, labels, **settings)
    flat.fit(images.reshape(32, 784), labels, **settings)
    np.testing.assert_array_equal(square.parameters, flat.parameters)


def test_one_hot_and_int_labels_train_identically():
    x, y = blobs(48)
    one_hot = np.eye(3, dtype=np.float32)[y]
    a, b = relu_net(), relu_net()
    ha = a.fit(x, y, epochs=3, batch_size=8, optimizer="momentum", validation_split=0.25, seed=2)
    hb = b.fit(x, one_hot, epochs=3, batch_size=8, optimizer="momentum", validation_split=0.25, seed=2)
    np.testing.assert_array_equal(a.parameters, b.parameters)
    np.testing.assert_array_equal(ha.column("train_accuracy"), hb.column("train_accuracy"))


def test_float64_inputs_on_a_float32_network():
    x, y = blobs(40)
    a, b = relu_net(), relu_net()
    a.fit(x, y, epochs=2, seed=0)
    b.fit(x.astype(np.float64), y, epochs=2, seed=0)  # cast once: x holds float32 values
    assert a.parameters.dtype == np.float32
    np.testing.assert_array_equal(a.parameters, b.parameters)


# -- learning-rate schedules -----------------------------------------------------------------


def test_step_schedule_in_history():
    x, y = blobs(30)
    history = relu_net().fit(
        x, y, epochs=5, learning_rate=0.2, lr_schedule=schedules.StepDecay(step_size=2, gamma=0.5), seed=0
    )
    # η γ^⌊e/2⌋ for e = 0 .. 4
    assert history.column("learning_rate") == pytest.approx([0.2, 0.2, 0.1, 0.1, 0.05], rel=1e-12)


def test_step_schedule_by_name_uses_its_defaults():
    x, y = blobs(24)
    history = relu_net().fit(x, y, epochs=12, batch_size=24, learning_rate=0.5, lr_schedule="step", seed=0)
    # step_size 10, gamma 0.1
    assert history.column("learning_rate") == pytest.approx([0.5] * 10 + [0.05] * 2, rel=1e-12)


def test_cosine_schedule_in_history():
    x, y = blobs(30)
    epochs = 4
    history = relu_net().fit(x, y, epochs=epochs, optimizer="adam", learning_rate=0.01, lr_schedule="cosine", seed=0)
    expected = [0.01 * (1 + math.cos(math.pi * e / epochs)) / 2 for e in range(epochs)]
    # 0.01, 0.0085355, 0.005, 0.0014645: from η down towards 0
    assert history.column("learning_rate") == pytest.approx(expected, rel=1e-12)


def test_constant_schedule_is_the_default():
    x, y = blobs(30)
    history = relu_net().fit(x, y, epochs=3, learning_rate=0.3, seed=0)
    assert history.column("learning_rate") == pytest.approx([0.3] * 3)


def test_schedule_changes_the_training():
    constant, _ = train("sgd", learning_rate=0.1)
    stepped, _ = train("sgd", learning_rate=0.1, lr_schedule=schedules.StepDecay(step_size=1, gamma=0.5))
    assert not np.array_equal(constant.parameters, stepped.parameters)


def test_unknown_schedule_is_an_error():
    x, y = blobs(30)
    with pytest.raises(ValueError, match="unknown learning-rate schedule 'linear'; choose one of"):
        relu_net().fit(x, y, lr_schedule="linear")


# -- input checks ----------------------------------------------------------------------------


def test_nan_in_x_is_rejected_with_its_row():
    x, y = blobs(30)
    x[7, 2] = np.nan
    with pytest.raises(ValueError, match=re.escape("x must be finite; found nan at row 7, column 2")):
        relu_net().fit(x, y)


def test_infinity_in_validation_x_is_rejected():
    x, y = blobs(30)
    x_val = x[:5].copy()
    x_val[3, 0] = np.inf
    with pytest.raises(ValueError, match=re.escape("x must be finite; found inf at row 3, column 0")):
        relu_net().fit(x, y, validation_data=(x_val, y[:5]))


def test_nan_target_is_rejected():
    x, y = blobs(30)
    targets = np.eye(3, dtype=np.float32)[y]
    targets[4, 1] = np.nan
    with pytest.raises(ValueError, match="y must be finite; found a non-finite target at row 4"):
        relu_net().fit(x, targets)


def test_label_count_must_match():
    x, y = blobs(30)
    with pytest.raises(ValueError, match="y has 29 labels but x has 30 samples"):
        relu_net().fit(x, y[:-1])


def test_wrong_width_names_the_first_layer():
    with pytest.raises(ValueError, match=re.escape("expects inputs of width 6; got x of shape (4, 5)")):
        relu_net().fit(np.zeros((4, 5), np.float32), np.zeros(4, int))
    with pytest.raises(ValueError, match="expects inputs of width 6"):
        relu_net().fit(np.zeros((4, 5), np.uint8), np.zeros(4, int))


@pytest.mark.parametrize(
    "setting, value",
    [("epochs", 0), ("epochs", -2), ("epochs", 2.0), ("epochs", True), ("batch_size", 0), ("batch_size", 8.5), ("batch_size", None)],
)
def test_bad_epochs_and_batch_size(setting, value):
    x, y = blobs(30)
    with pytest.raises(ValueError, match=re.escape(f"{setting} must be a positive integer; got {value!r}")):
        relu_net().fit(x, y, **{setting: value})


def test_adamw_keeps_its_own_default_weight_decay():
    net = relu_net()
    assert nnet.Trainer(net, optimizers.get("adamw")).optimizer.weight_decay == pytest.approx(1e-2)
    assert nnet.Trainer(net, optimizers.get("adamw", weight_decay=0.1)).optimizer.weight_decay == pytest.approx(0.1)


def test_adamw_with_explicit_zero_weight_decay_has_none():
    trainer = nnet.Trainer(relu_net(), optimizers.get("adamw", weight_decay=0.0))
    assert trainer.optimizer.weight_decay == pytest.approx(0.0)


def test_one_uint8_sample_trains_like_one_float_sample():
    pixels = np.arange(6, dtype=np.uint8) * 40
    a, b = relu_net(), relu_net()
    a.fit(pixels.astype(np.float32) / 255, np.array([1]), epochs=1, seed=0)
    b.fit(pixels, np.array([1]), epochs=1, seed=0)
    np.testing.assert_allclose(a.parameters, b.parameters, rtol=1e-5)


def test_bad_settings_leave_the_network_untouched():
    x, y = blobs(30)
    net = relu_net()
    before = net.parameters.copy()
    with pytest.raises(ValueError):
        net.fit(x, y, epochs=0)
    x[0, 0] = np.nan
    with pytest.raises(ValueError):
        net.fit(x, y)
    np.testing.assert_array_equal(net.parameters, before)


# -- learning the real MNIST digits ----------------------------------------------------------

MNIST = Path(nnet.__file__).parent / "datasets" / "data" / "mnist"


def read_idx_head(path, count):
    """The first ``count`` items of a gzipped IDX file of uint8: two zero bytes, type byte 0x08,
    the number of dimensions, big-endian uint32 sizes, then the data."""
    with gzip.open(path, "rb") as file:
        zero, kind, ndim = struct.unpack(">HBB", file.read(4))
        assert (zero, kind) == (0, 0x08), f"{path.name}: not a uint8 IDX file"
        dims = struct.unpack(f">{ndim}I", file.read(4 * ndim))
        count = min(count, dims[0])
        item = int(np.prod(dims[1:], dtype=np.int64))
        data = np.frombuffer(file.read(count * item), np.uint8)
    return data.reshape((count, *dims[1:]))


@pytest.fixture(scope="module")
def mnist():
    """All 60,000 training images (one epoch of the lessons' network needs them to pass 85 %;
    reading takes a fraction of a second) and the first 2,000 test images, as uint8."""
    if not (MNIST / "train-images-idx3-ubyte.gz").exists():
        pytest.skip(f"MNIST files not found in {MNIST}")
    x_train = read_idx_head(MNIST / "train-images-idx3-ubyte.gz", 60000).reshape(-1, 784)
    y_train = read_idx_head(MNIST / "train-labels-idx1-ubyte.gz", 60000)
    x_test = read_idx_head(MNIST / "t10k-images-idx3-ubyte.gz", 2000).reshape(-1, 784)
    y_test = read_idx_head(MNIST / "t10k-labels-idx1-ubyte.gz", 2000)
    assert x_train.shape == (60000, 784) and y_train.shape == (60000,)
    np.testing.assert_array_equal(y_train[:8], [5, 0, 4, 1, 9, 2, 1, 3])  # the canonical first labels
    return x_train, y_train, x_test, y_test


@pytest.mark.slow
def test_lessons_network_learns_mnist_in_one_epoch(mnist):
    x_train, y_train, x_test, y_test = mnist
    net = nnet.Network([784, 30, 10], activation="sigmoid", cost="quadratic", seed=0)
    net.fit(x_train, y_train, epochs=1, batch_size=10, optimizer="sgd", learning_rate=3.0, seed=0)
    # chance is 10 %; the lessons report about 90 % after the first epoch
    assert net.evaluate(x_test, y_test).accuracy >= 0.85


@pytest.mark.slow
def test_relu_adam_network_learns_mnist_in_one_epoch(mnist):
    x_train, y_train, x_test, y_test = mnist
    net = nnet.Network([784, 128, 10], activation="relu", output="softmax", cost="cross_entropy", seed=0)
    history = net.fit(
        x_train[:20000], y_train[:20000], epochs=1, batch_size=16, optimizer="adam", learning_rate=1e-3, seed=0
    )
    assert history.epochs[-1].train_accuracy > 0.8
    assert net.evaluate(x_test, y_test).accuracy >= 0.90
