"""Denormal floats are flushed to zero while training, and only then."""

import threading

import numpy as np
import pytest

import nnet
from nnet import _fpu

pytestmark = pytest.mark.skipif(not _fpu.supported(), reason="FTZ/DAZ is set through glibc on x86-64 only")

TINY = np.array([1e-30], np.float32)
SMALL = np.array([1e-10], np.float32)
DENORMAL = np.array([1e-40], np.float32)  # below float32's smallest normal, 1.18e-38


def flushed() -> bool:
    """Whether this thread flushes: a product that would be denormal comes out 0."""
    return float((TINY * SMALL)[0]) == 0.0


def test_denormals_are_zero_inside_the_block_only():
    assert not flushed()
    assert float((DENORMAL * np.float32(1.0))[0]) > 0.0
    with _fpu.flush_denormals():
        assert flushed()  # FTZ: denormal results become 0
        assert float((DENORMAL * np.float32(1.0))[0]) == 0.0  # DAZ: denormal inputs read as 0
    assert not flushed()


def test_disabled_block_and_nesting_restore_the_state():
    with _fpu.flush_denormals(enabled=False):
        assert not flushed()
    with _fpu.flush_denormals():
        with _fpu.flush_denormals():
            assert flushed()
        assert flushed()
    assert not flushed()


def test_it_is_per_thread():
    # A thread that already runs keeps its own setting (threads started inside inherit it).
    go, seen = threading.Event(), {}

    def worker():
        go.wait()
        seen["other"] = flushed()

    thread = threading.Thread(target=worker)
    thread.start()
    with _fpu.flush_denormals():
        go.set()
        thread.join()
        assert flushed()
    assert seen["other"] is False


def test_training_flushes_and_restores():
    seen = []

    class Probe(nnet.Callback):
        def on_batch_end(self, state):
            seen.append(flushed())

    net = nnet.Network([4, 3, 2], activation="relu", cost="cross_entropy", seed=0)
    x = np.random.default_rng(0).random((8, 4))
    net.fit(x, np.arange(8) % 2, epochs=1, batch_size=4, callbacks=[Probe()], seed=0)
    assert seen == [True, True]
    assert not flushed()


def test_training_restores_after_an_error():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(200, 8)).astype(np.float32), np.arange(200) % 3
    net = nnet.Network([8, 16, 3], activation="relu", cost="cross_entropy", seed=0)
    with pytest.raises(nnet.DivergenceError):
        net.fit(x, y, epochs=3, batch_size=20, learning_rate=1e6, seed=0)
    assert not flushed()
