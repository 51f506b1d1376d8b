"""Unit tests for nnet.layers: the layer contract as Dense keeps it (shapes, dtypes, the two
forward paths, a hand-worked backward step: BP3, BP4, BP2's two halves) and dropout as a rate of
a layer (prediction pass-through, the mask's statistics, the error through the mask)."""

import re

import numpy as np
import pytest

from nnet import Dense

# -- Dense: forward --------------------------------------------------------------------------


def training_pass(layer, x, rng=None):
    """A training-mode forward pass as the network runs it: z and a in the caller's arrays,
    what the layer keeps for the backward pass in ``cache``. Returns (output, z, a, cache)."""
    z = np.empty((len(x), layer.n_out), layer.dtype)
    a = np.empty_like(z)
    cache = {}
    output = layer.forward(x, z, a, cache, rng)
    return output, z, a, cache


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [1, 5])
def test_dense_forward_shape_and_dtype(dtype, n):
    layer = Dense(7, 4, activation="tanh", seed=0, dtype=dtype)
    assert layer.W.shape == (4, 7) and layer.b.shape == (4,)
    assert layer.W.dtype == dtype and layer.b.dtype == dtype
    x = np.random.default_rng(1).normal(size=(n, 7)).astype(dtype)
    for a in (layer.forward(x), training_pass(layer, x)[0]):
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
    assert set(vars(layer)) == {"input_shape", "output_shape", "activation", "dropout", "init", "dtype",
                                "parameters", "gradients"}  # the parameters, nothing of a pass


def test_dense_training_forward_writes_z_and_a_into_the_given_arrays():
    layer = Dense(3, 2, activation="sigmoid", seed=0, dtype=np.float64)
    x = np.array([[0.5, -1.0, 2.0], [1.0, 0.0, -0.5]])
    out, z, a, cache = training_pass(layer, x)
    np.testing.assert_allclose(z, x @ layer.W.T + layer.b, rtol=1e-12)
    np.testing.assert_allclose(a, 1 / (1 + np.exp(-z)), rtol=1e-12)
    assert out is a  # no dropout: the output is a itself
    assert cache == {}  # nothing else to keep
    # the arrays are the caller's: the next pass into them overwrites them
    before = a.copy()
    layer.forward(-x, z, a, cache)
    assert not np.array_equal(a, before)


def test_dense_training_into_the_first_rows_of_larger_arrays():
    layer = Dense(3, 2, activation="identity", seed=0, dtype=np.float64)
    big = np.arange(15, dtype=np.float64).reshape(5, 3)
    z, a = np.empty((5, 2)), np.empty((5, 2))
    np.testing.assert_allclose(layer.forward(big, z, a, {}), big @ layer.W.T + layer.b, rtol=1e-12)
    small = np.ones((2, 3))
    out = layer.forward(small, z[:2], a[:2], {})  # a smaller batch: the first rows
    assert out.shape == (2, 2) and np.shares_memory(out, a)
    np.testing.assert_allclose(out, small @ layer.W.T + layer.b, rtol=1e-12)


# -- Dense: backward -------------------------------------------------------------------------


def test_dense_backward_by_hand_identity():
    layer = Dense(2, 2, activation="identity", dtype=np.float64, seed=0)
    layer.W = [[1.0, 2.0], [3.0, 4.0]]
    layer.b = [0.0, 0.0]
    x = np.array([[1.0, 0.0], [2.0, 1.0]])
    delta = np.array([[1.0, -1.0], [0.5, 2.0]])
    layer.gradient(delta, x)
    # BP4: dW = δᵀ x = [[1·1 + 0.5·2, 0 + 0.5·1], [-1·1 + 2·2, 0 + 2·1]] = [[2, 0.5], [3, 2]]
    np.testing.assert_allclose(layer.dW, [[2.0, 0.5], [3.0, 2.0]], rtol=1e-12)
    # BP3: db = Σ_rows δ = [1.5, 1]  (no 1/n here: the cost's delta already has it)
    np.testing.assert_allclose(layer.db, [1.5, 1.0], rtol=1e-12)
    # BP2's first half: dx = δ W = [[1 - 3, 2 - 4], [0.5 + 6, 1 + 8]] = [[-2, -2], [6.5, 9]]
    np.testing.assert_allclose(layer.backpropagate(delta), [[-2.0, -2.0], [6.5, 9.0]], rtol=1e-12)


def test_dense_error_multiplies_by_activation_derivative():
    layer = Dense(2, 2, activation="relu", dtype=np.float64, seed=0)
    layer.W = [[1.0, 0.0], [0.0, 1.0]]
    layer.b = [0.0, 0.0]
    x = np.array([[3.0, -3.0]])  # neuron 0 on, neuron 1 off
    _, z, a, cache = training_pass(layer, x)
    # BP2's second half: δ = ∂C/∂a ⊙ relu'(z) = [2, 5] ⊙ [1, 0] = [2, 0]
    delta = layer.error(np.array([[2.0, 5.0]]), z, a, cache)
    np.testing.assert_allclose(delta, [[2.0, 0.0]], rtol=1e-12)
    layer.gradient(delta, x)  # dW = δᵀ x
    np.testing.assert_allclose(layer.dW, [[6.0, -6.0], [0.0, 0.0]], rtol=1e-12)
    np.testing.assert_allclose(layer.db, [2.0, 0.0], rtol=1e-12)
    # given δ itself (the output layer's, from the cost), gradient applies no σ' again
    layer.gradient(np.array([[2.0, 5.0]]), x)
    np.testing.assert_allclose(layer.db, [2.0, 5.0], rtol=1e-12)


def test_dense_backpropagate_writes_into_out():
    layer = Dense(3, 2, seed=0)
    out = np.empty((2, 3), np.float32)
    result = layer.backpropagate(np.ones((2, 2), np.float32), out)
    assert result is out and np.isfinite(out).all()
    np.testing.assert_allclose(out, np.ones((2, 2)) @ layer.W, rtol=1e-6)


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


# -- dropout: a rate of the layer ----------------------------------------------------------------


def passing(rate, width, dtype=np.float64):
    """A layer whose activations are its inputs (identity, W = I, b = 0), dropping at ``rate``."""
    layer = Dense(width, width, activation="identity", dropout=rate, dtype=dtype, seed=0)
    layer.W, layer.b = np.eye(width), np.zeros(width)
    return layer


def test_dropout_prediction_passes_activations_through_unchanged():
    layer = passing(0.5, 6)
    x = np.random.default_rng(0).normal(size=(4, 6))
    np.testing.assert_array_equal(layer.forward(x), x)  # prediction: no dropout
    np.testing.assert_array_equal(layer.forward(x, rng=np.random.default_rng(0)), x)


def test_dropout_rate_zero_is_a_no_op_in_training():
    layer = passing(0.0, 3)
    x = np.ones((3, 3))
    out, _, a, cache = training_pass(layer, x, np.random.default_rng(0))
    assert out is a and cache == {}
    np.testing.assert_array_equal(out, x)


@pytest.mark.parametrize("rate", [0.2, 0.5, 0.8])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dropout_training_statistics(rate, dtype):
    layer = passing(rate, 1000, dtype)
    x = np.ones((1000, 1000), dtype)
    out, _, a, _ = training_pass(layer, x, np.random.default_rng(42))
    assert out.shape == x.shape and out.dtype == dtype
    dropped = np.mean(out == 0)
    # 10⁶ Bernoulli(rate) draws: standard error ≤ 0.0005, so 0.003 is 6 standard errors
    assert dropped == pytest.approx(rate, abs=0.003)
    survivors = out[out != 0]
    np.testing.assert_allclose(survivors, 1.0 / (1.0 - rate), rtol=1e-6)
    # inverted dropout: the expected value of each activation is preserved
    assert out.mean() == pytest.approx(1.0, abs=0.02)
    np.testing.assert_array_equal(a, np.ones_like(x))  # a = σ(z) itself is kept whole, for σ'


def test_dropout_mask_matches_output_and_the_error_goes_through_it():
    layer = passing(0.5, 20)
    rng = np.random.default_rng(3)
    x = rng.normal(size=(50, 20))
    out, z, a, cache = training_pass(layer, x, np.random.default_rng(7))
    mask = cache["mask"]
    np.testing.assert_array_equal(out, x * mask)
    grad = rng.normal(size=(50, 20))
    expected = grad * mask  # identity: σ' = 1
    delta = layer.error(grad.copy(), z, a, cache)
    np.testing.assert_array_equal(delta, expected)
    np.testing.assert_array_equal(delta == 0, out == 0)  # errors stop where activations were dropped


def test_dropout_masks_differ_between_calls_and_follow_the_rng():
    layer = passing(0.5, 20)
    x = np.ones((20, 20))
    first = training_pass(layer, x, np.random.default_rng(1))[0].copy()
    second = training_pass(layer, x, np.random.default_rng(2))[0].copy()
    again = training_pass(layer, x, np.random.default_rng(1))[0].copy()
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(first, again)


def test_dropout_handles_changing_batch_sizes_in_one_cache():
    layer = passing(0.3, 5)
    rng = np.random.default_rng(0)
    cache = {}
    for n in (8, 3, 10, 4, 4):
        x = np.ones((n, 5))
        z, a = np.empty((n, 5)), np.empty((n, 5))
        out = layer.forward(x, z, a, cache, rng)
        assert out.shape == (n, 5)
        np.testing.assert_array_equal(out, cache["mask"][:n])


def test_dropout_training_needs_rng():
    with pytest.raises(ValueError, match=r"training with dropout needs rng"):
        training_pass(passing(0.5, 2), np.ones((2, 2)))


@pytest.mark.parametrize("rate", [1.0, -0.1, 1.5, True, "0.5", None, float("nan")])
def test_dropout_rate_validation(rate):
    with pytest.raises(ValueError, match=re.escape(f"dropout rate must be a number in [0, 1); got {rate!r}")):
        Dense(3, 2, dropout=rate)


def test_dropout_repr_and_description():
    layer = Dense(10, 4, activation="relu", dropout=0.25)
    assert repr(layer) == "Dense(n_in=10, n_out=4, activation='relu', dropout=0.25, dtype=float32)"
    assert layer.n_parameters == 10 * 4 + 4
    assert layer.describe() == {"kind": "dense", "n_in": 10, "n_out": 4, "activation": "relu", "dropout": 0.25,
                                "parameters": 44}
