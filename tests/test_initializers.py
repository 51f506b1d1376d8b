"""Unit tests for nnet.initializers: shapes, the distributions' statistics, seeding, dtypes.

The statistics are measured on a 400 x 500 layer (200,000 weights), where the standard error
of a sample standard deviation is about σ / sqrt(2 * 200,000) ≈ 0.16 % of σ; the tolerances
below (2 % on a std, a few standard errors on a mean) fail for a wrong formula (a factor
sqrt(2) is 41 %) but not by chance.
"""

import math
import re

import numpy as np
import pytest

import nnet
from nnet import initializers
from nnet.initializers import INITIALIZERS

N_OUT, N_IN = 400, 500


def draw(name, seed=0, n_out=N_OUT, n_in=N_IN):
    return initializers.get(name)(np.random.default_rng(seed), n_out, n_in)


@pytest.mark.parametrize("name", sorted(INITIALIZERS))
@pytest.mark.parametrize("n_out, n_in", [(1, 1), (3, 7), (10, 784)])
def test_shapes_are_out_by_in(name, n_out, n_in):
    W, b = draw(name, n_out=n_out, n_in=n_in)
    assert W.shape == (n_out, n_in)
    assert b.shape == (n_out,)
    assert W.dtype == np.float64 and b.dtype == np.float64
    assert np.isfinite(W).all() and np.isfinite(b).all()


def assert_std(values, expected):
    assert values.std() == pytest.approx(expected, rel=0.02)


def assert_mean_zero(values, std):
    # |mean| within 5 standard errors of 0
    assert abs(values.mean()) < 5 * std / math.sqrt(values.size)


def test_normal_weights_and_biases_are_standard_normal():
    W, b = draw("normal", n_out=4000, n_in=50)
    assert_std(W, 1.0)
    assert_mean_zero(W, 1.0)
    # 4000 biases: std within 10 % (the standard error is ~1.1 %)
    assert b.std() == pytest.approx(1.0, rel=0.1)
    assert_mean_zero(b, 1.0)


def test_lecun_std_is_sqrt_one_over_n_in():
    W, b = draw("lecun")
    assert_std(W, math.sqrt(1.0 / N_IN))
    assert_mean_zero(W, math.sqrt(1.0 / N_IN))
    np.testing.assert_array_equal(b, np.zeros(N_OUT))


def test_he_std_is_sqrt_two_over_n_in():
    W, b = draw("he")
    assert_std(W, math.sqrt(2.0 / N_IN))
    assert_mean_zero(W, math.sqrt(2.0 / N_IN))
    np.testing.assert_array_equal(b, np.zeros(N_OUT))


def test_xavier_is_uniform_in_glorot_range():
    W, b = draw("xavier")
    limit = math.sqrt(6.0 / (N_IN + N_OUT))
    assert np.abs(W).max() <= limit
    # 200,000 uniform draws come within 0.1 % of both ends
    assert W.max() > 0.999 * limit and W.min() < -0.999 * limit
    assert_std(W, limit / math.sqrt(3.0))  # the std of U(-r, r)
    assert_mean_zero(W, limit / math.sqrt(3.0))
    # uniform, not normal: a quarter of the values in each quarter of the range
    counts, _ = np.histogram(W, bins=4, range=(-limit, limit))
    np.testing.assert_allclose(counts / W.size, 0.25, atol=0.005)
    np.testing.assert_array_equal(b, np.zeros(N_OUT))


@pytest.mark.parametrize("name", sorted(INITIALIZERS))
def test_same_seed_same_values_different_seed_different(name):
    W1, b1 = draw(name, seed=7, n_out=5, n_in=6)
    W2, b2 = draw(name, seed=7, n_out=5, n_in=6)
    W3, _ = draw(name, seed=8, n_out=5, n_in=6)
    np.testing.assert_array_equal(W1, W2)
    np.testing.assert_array_equal(b1, b2)
    assert not np.array_equal(W1, W3)


def test_does_not_touch_global_numpy_random():
    np.random.seed(123)
    expected = np.random.random()
    np.random.seed(123)
    for name in INITIALIZERS:
        draw(name, n_out=3, n_in=3)
    assert np.array_equal(np.random.random(), expected)  # bit-identity: the global stream untouched


@pytest.mark.parametrize("init", ["normal", "lecun", "xavier", "he"])
def test_float32_and_float64_networks_agree_to_float32_rounding(init):
    kwargs = dict(activation="tanh", init=init, seed=3)
    net32 = nnet.Network([20, 15, 5], **kwargs, dtype="float32")
    net64 = nnet.Network([20, 15, 5], **kwargs, dtype="float64")
    assert net32.parameters.dtype == np.float32
    assert net64.parameters.dtype == np.float64
    # drawn in float64 then cast: the float32 network holds exactly the rounded float64 values
    np.testing.assert_array_equal(net32.parameters, net64.parameters.astype(np.float32))


def test_dense_layer_uses_the_initializer():
    layer = nnet.Dense(30, 20, activation="relu", init="he", seed=4, dtype=np.float64)
    W, b = initializers.he(np.random.default_rng(4), 20, 30)
    np.testing.assert_array_equal(layer.W, W)
    np.testing.assert_array_equal(layer.b, b)


def test_custom_callable_is_passed_through():
    def ones(rng, n_out, n_in):
        return np.ones((n_out, n_in)), np.full(n_out, 0.5)

    assert initializers.get(ones) is ones
    layer = nnet.Dense(3, 2, init=ones, seed=0)
    np.testing.assert_array_equal(layer.W, np.ones((2, 3)))
    np.testing.assert_array_equal(layer.b, [0.5, 0.5])


def test_table_and_get():
    assert sorted(INITIALIZERS) == ["he", "lecun", "normal", "xavier"]
    for name, function in INITIALIZERS.items():
        assert initializers.get(name) is function


@pytest.mark.parametrize("bad", ["glorot", "He", None, 5])
def test_get_unknown_lists_choices(bad):
    with pytest.raises(ValueError, match=re.escape(f"unknown init {bad!r}; choose one of: normal, lecun, xavier, he")):
        initializers.get(bad)
