"""Unit tests for nnet.layers: Dense (shapes, dtypes, the two forward paths, a hand-worked
backward step) and Dropout (prediction pass-through, the mask's statistics, backward)."""

import re

import numpy as np
import pytest

from nnet import Dense, Dropout

# -- Dense: forward --------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [1, 5])
def test_dense_forward_shape_and_dtype(dtype, n):
    layer = Dense(7, 4, activation="tanh", seed=0, dtype=dtype)
    assert layer.W.shape == (4, 7) and layer.b.shape == (4,)
    assert layer.W.dtype == dtype and layer.b.dtype == dtype
    x = np.random.default_rng(1).normal(size=(n, 7)).astype(dtype)
    for training in (False, True):
        a = layer.forward(x, training=training)
        assert a.shape == (n, 4)
        assert a.dtype == dtype


def test_dense_forward_by_hand():
    layer = Dense(2, 3, activation="identity", dtype=np.float64, seed=0)
    layer.W = [[1.0, 2.0], [0.0, -1.0], [0.5, 0.5]]
    layer.b = [0.1, 0.2, 0.3]
    x = np.array([[1.0, 1.0], [2.0, -1.0]])
    # z = x Wᵀ + b: row 0: [3, -1, 1] + b; row 1: [0, 1, 0.5] + b
    expected = [[3.1, -0.8, 1.3], [0.1, 1.2, 0.8]]
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-12)
    np.testing.assert_allclose(layer.weighted_input(x), expected, rtol=1e-12)


def test_dense_forward_applies_activation():
    layer = Dense(3, 2, activation="relu", dtype=np.float64, seed=0)
    layer.W = [[1.0, 0.0, 0.0], [-1.0, 0.0, 0.0]]
    layer.b = [0.0, 0.0]
    np.testing.assert_array_equal(layer.forward(np.array([[2.0, 5.0, 5.0]])), [[2.0, 0.0]])


def test_dense_prediction_forward_returns_fresh_arrays_and_keeps_nothing():
    layer = Dense(3, 2, seed=0)
    x = np.ones((4, 3), np.float32)
    first = layer.forward(x)
    second = layer.forward(x * 2)
    assert not np.shares_memory(first, second)
    assert layer.input is None and layer.z is None and layer.a is None


def test_dense_training_forward_keeps_input_z_a_in_buffers():
    layer = Dense(3, 2, activation="sigmoid", seed=0, dtype=np.float64)
    x = np.array([[0.5, -1.0, 2.0], [1.0, 0.0, -0.5]])
    a = layer.forward(x, training=True)
    assert layer.input is x
    np.testing.assert_allclose(layer.z, x @ layer.W.T + layer.b, rtol=1e-12)
    np.testing.assert_allclose(layer.a, 1 / (1 + np.exp(-layer.z)), rtol=1e-12)
    assert np.shares_memory(a, layer.a)
    np.testing.assert_array_equal(a, layer.a)
    # the returned view is the layer's buffer: the next training call overwrites it
    before = a.copy()
    layer.forward(-x, training=True)
    assert not np.array_equal(a, before)


def test_dense_training_buffers_grow_for_a_larger_batch():
    layer = Dense(3, 2, activation="identity", seed=0, dtype=np.float64)
    small = np.ones((2, 3))
    big = np.arange(15, dtype=np.float64).reshape(5, 3)
    layer.forward(small, training=True)
    a = layer.forward(big, training=True)
    np.testing.assert_allclose(a, big @ layer.W.T + layer.b, rtol=1e-12)
    a = layer.forward(small, training=True)  # smaller again: a slice of the big buffer
    assert a.shape == (2, 2)
    np.testing.assert_allclose(a, small @ layer.W.T + layer.b, rtol=1e-12)


# -- Dense: backward -------------------------------------------------------------------------


def test_dense_backward_before_forward_raises():
    layer = Dense(3, 2, seed=0)
    with pytest.raises(RuntimeError, match=re.escape("Dense.backward() needs a forward(x, training=True) first")):
        layer.backward(np.ones((1, 2), np.float32))


def test_dense_backward_after_prediction_forward_still_raises():
    layer = Dense(3, 2, seed=0)
    layer.forward(np.ones((1, 3), np.float32))  # prediction mode keeps nothing
    with pytest.raises(RuntimeError, match="needs a forward"):
        layer.backward(np.ones((1, 2), np.float32))


def test_dense_backward_by_hand_identity():
    layer = Dense(2, 2, activation="identity", dtype=np.float64, seed=0)
    layer.W = [[1.0, 2.0], [3.0, 4.0]]
    layer.b = [0.0, 0.0]
    x = np.array([[1.0, 0.0], [2.0, 1.0]])
    layer.forward(x, training=True)
    delta = np.array([[1.0, -1.0], [0.5, 2.0]])
    dx = layer.backward(delta.copy())
    # dW = δᵀ x = [[1·1 + 0.5·2, 0 + 0.5·1], [-1·1 + 2·2, 0 + 2·1]] = [[2, 0.5], [3, 2]]
    np.testing.assert_allclose(layer.dW, [[2.0, 0.5], [3.0, 2.0]], rtol=1e-12)
    # db = Σ_rows δ = [1.5, 1]  (no 1/n here: the cost's delta already has it)
    np.testing.assert_allclose(layer.db, [1.5, 1.0], rtol=1e-12)
    # dx = δ W = [[1 - 3, 2 - 4], [0.5 + 6, 1 + 8]] = [[-2, -2], [6.5, 9]]
    np.testing.assert_allclose(dx, [[-2.0, -2.0], [6.5, 9.0]], rtol=1e-12)


def test_dense_backward_multiplies_by_activation_derivative():
    layer = Dense(2, 2, activation="relu", dtype=np.float64, seed=0)
    layer.W = [[1.0, 0.0], [0.0, 1.0]]
    layer.b = [0.0, 0.0]
    x = np.array([[3.0, -3.0]])  # neuron 0 on, neuron 1 off
    layer.forward(x, training=True)
    layer.backward(np.array([[2.0, 5.0]]))
    # δ = grad ⊙ relu'(z) = [2, 0]; dW = δᵀ x
    np.testing.assert_allclose(layer.dW, [[6.0, -6.0], [0.0, 0.0]], rtol=1e-12)
    np.testing.assert_allclose(layer.db, [2.0, 0.0], rtol=1e-12)
    # is_delta: the grad is already δ, σ' is not applied again
    layer.forward(x, training=True)
    layer.backward(np.array([[2.0, 5.0]]), is_delta=True)
    np.testing.assert_allclose(layer.db, [2.0, 5.0], rtol=1e-12)


def test_dense_backward_without_input_gradient_returns_none():
    layer = Dense(3, 2, seed=0)
    layer.forward(np.ones((2, 3), np.float32), training=True)
    assert layer.backward(np.ones((2, 2), np.float32), input_gradient=False) is None
    assert np.isfinite(layer.dW).all()


# -- Dense: construction ---------------------------------------------------------------------


@pytest.mark.parametrize("name, n_in, n_out", [("n_in", 0, 3), ("n_out", 3, -1), ("n_in", 2.5, 3), ("n_out", 3, True)])
def test_dense_rejects_bad_sizes(name, n_in, n_out):
    bad = n_in if name == "n_in" else n_out
    with pytest.raises(ValueError, match=re.escape(f"Dense {name} must be a positive integer; got {bad!r}")):
        Dense(n_in, n_out)


def test_dense_rejects_other_dtypes():
    with pytest.raises(ValueError, match="dtype must be float32 or float64; got float16"):
        Dense(3, 2, dtype=np.float16)


def test_dense_rejects_unknown_activation():
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        Dense(3, 2, activation="swish")


def test_dense_weight_setter_checks_shape_and_copies():
    layer = Dense(2, 3, seed=0)
    W_before = layer.W
    with pytest.raises(ValueError, match=re.escape("Dense.W must have shape (3, 2); got (2, 3)")):
        layer.W = np.zeros((2, 3))
    with pytest.raises(ValueError, match=re.escape("Dense.b must have shape (3,); got (2,)")):
        layer.b = np.zeros(2)
    new = np.arange(6, dtype=np.float64).reshape(3, 2)
    layer.W = new
    assert layer.W is W_before  # written into the existing array, cast to the layer's dtype
    assert layer.W.dtype == np.float32
    np.testing.assert_array_equal(layer.W, new.astype(np.float32))
    new[0, 0] = 100.0  # a copy, not the caller's array: the layer keeps the old value
    np.testing.assert_array_equal(layer.W, np.arange(6, dtype=np.float32).reshape(3, 2))


def test_dense_same_seed_same_weights():
    a, b, c = Dense(5, 4, seed=1), Dense(5, 4, seed=1), Dense(5, 4, seed=2)
    np.testing.assert_array_equal(a.W, b.W)
    assert not np.array_equal(a.W, c.W)
    assert a.n_parameters == 5 * 4 + 4
    assert repr(a) == "Dense(n_in=5, n_out=4, activation='sigmoid', dtype=float32)"


# -- Dropout ---------------------------------------------------------------------------------


def test_dropout_prediction_passes_input_through_unchanged():
    layer = Dropout(0.5)
    x = np.random.default_rng(0).normal(size=(4, 6)).astype(np.float32)
    original = x.copy()
    assert layer.forward(x) is x
    assert layer.forward(x, training=False, rng=np.random.default_rng(0)) is x
    np.testing.assert_array_equal(x, original)
    grad = np.ones_like(x)
    assert layer.backward(grad) is grad  # no mask after a prediction pass


def test_dropout_rate_zero_is_a_no_op_in_training():
    layer = Dropout(0.0)
    x = np.ones((3, 3), np.float32)
    assert layer.forward(x, training=True, rng=np.random.default_rng(0)) is x


@pytest.mark.parametrize("rate", [0.2, 0.5, 0.8])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dropout_training_statistics(rate, dtype):
    layer = Dropout(rate)
    x = np.ones((1000, 1000), dtype)
    out = layer.forward(x, training=True, rng=np.random.default_rng(42))
    assert out.shape == x.shape and out.dtype == dtype
    dropped = np.mean(out == 0)
    # 10⁶ Bernoulli(rate) draws: standard error ≤ 0.0005, so 0.003 is 6 standard errors
    assert dropped == pytest.approx(rate, abs=0.003)
    survivors = out[out != 0]
    np.testing.assert_allclose(survivors, 1.0 / (1.0 - rate), rtol=1e-6)
    # inverted dropout: the expected value of each input is preserved
    assert out.mean() == pytest.approx(1.0, abs=0.02)
    np.testing.assert_array_equal(x, np.ones_like(x))  # the input untouched


def test_dropout_mask_matches_output_and_backward_uses_it():
    layer = Dropout(0.5)
    rng = np.random.default_rng(3)
    x = rng.normal(size=(50, 20))
    out = layer.forward(x, training=True, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(out, x * layer.mask)
    grad = rng.normal(size=(50, 20))
    expected = grad * layer.mask
    back = layer.backward(grad.copy())
    np.testing.assert_array_equal(back, expected)
    np.testing.assert_array_equal(back == 0, out == 0)  # gradients stop where inputs were dropped


def test_dropout_masks_differ_between_calls_and_follow_the_rng():
    layer = Dropout(0.5)
    x = np.ones((20, 20), np.float32)
    first = layer.forward(x, training=True, rng=np.random.default_rng(1)).copy()
    second = layer.forward(x, training=True, rng=np.random.default_rng(2)).copy()
    again = layer.forward(x, training=True, rng=np.random.default_rng(1)).copy()
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(first, again)


def test_dropout_handles_changing_batch_sizes_and_widths():
    layer = Dropout(0.3)
    rng = np.random.default_rng(0)
    for shape in [(8, 5), (3, 5), (10, 5), (4, 7), (4, 7)]:
        x = np.ones(shape, np.float32)
        out = layer.forward(x, training=True, rng=rng)
        assert out.shape == shape
        assert layer.mask.shape == shape
        np.testing.assert_array_equal(out, layer.mask)


def test_dropout_training_needs_rng():
    with pytest.raises(ValueError, match=r"Dropout.forward\(training=True\) needs rng"):
        Dropout(0.5).forward(np.ones((2, 2), np.float32), training=True)


@pytest.mark.parametrize("rate", [1.0, -0.1, 1.5, True, "0.5", None, float("nan")])
def test_dropout_rate_validation(rate):
    with pytest.raises(ValueError, match=re.escape(f"dropout rate must be a number in [0, 1); got {rate!r}")):
        Dropout(rate)


def test_dropout_repr_and_parameters():
    layer = Dropout(0.25, size=10)
    assert repr(layer) == "Dropout(rate=0.25)"
    assert layer.n_parameters == 0
    assert layer.n_in == layer.n_out == 10
