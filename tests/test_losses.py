"""Unit tests for nnet.losses: hand-computed costs, the batch mean, δᴸ and its single 1/n.

Every expected value is computed here the naive way (ln of a softmax, the textbook binary
cross-entropy) on inputs where the naive way is safe; gradient checks live elsewhere.
"""

import math
import re
import warnings

import numpy as np
import pytest

from nnet import activations, losses
from nnet.losses import COSTS

SIGMOID = activations.get("sigmoid")
SOFTMAX = activations.get("softmax")
IDENTITY = activations.get("identity")
QUADRATIC = losses.get("quadratic")
CROSS_ENTROPY = losses.get("cross_entropy")


def naive_softmax(z):
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def naive_sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


# -- quadratic -------------------------------------------------------------------------------


def test_quadratic_by_hand():
    a = np.array([[0.2, 0.8], [1.0, 0.0]])
    y = np.array([[0.0, 1.0], [0.0, 1.0]])
    # row 0: ½ (0.2² + 0.2²) = 0.04; row 1: ½ (1 + 1) = 1.0; mean over 2 rows = 0.52
    cost = QUADRATIC.value(a, a, y, IDENTITY)
    assert isinstance(cost, float)
    assert cost == pytest.approx(0.52, rel=1e-12)


def test_quadratic_delta_by_hand_sigmoid():
    z = np.array([[0.0, math.log(3.0)]])
    a = SIGMOID.value(z)  # [1/2, 3/4]
    y = np.array([[1.0, 0.0]])
    # δ = (a - y) σ'(z) / n = [(-1/2)(1/4), (3/4)(3/16)] / 1 = [-1/8, 9/64]
    np.testing.assert_allclose(QUADRATIC.delta(z, a, y, SIGMOID), [[-1 / 8, 9 / 64]], rtol=1e-12)


def test_quadratic_with_softmax_output_uses_the_jacobian():
    z = np.array([[0.3, -0.2, 1.1]])
    s = SOFTMAX.value(z)
    y = np.array([[0.0, 1.0, 0.0]])
    jacobian = np.diag(s[0]) - np.outer(s[0], s[0])
    expected = (s - y) @ jacobian
    np.testing.assert_allclose(QUADRATIC.delta(z, s, y, SOFTMAX), expected, rtol=1e-12)


# -- cross-entropy ---------------------------------------------------------------------------


def test_categorical_cross_entropy_matches_naive_formula():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(5, 4))
    labels = np.array([0, 3, 1, 1, 2])
    y = np.eye(4)[labels]
    naive = -np.sum(y * np.log(naive_softmax(z))) / len(z)
    a = SOFTMAX.value(z)
    assert CROSS_ENTROPY.value(z, a, y, SOFTMAX) == pytest.approx(naive, rel=1e-12)


def test_categorical_cross_entropy_with_probability_targets():
    z = np.array([[1.0, 2.0, 0.5]])
    y = np.array([[0.25, 0.5, 0.25]])  # soft targets: rows of probabilities
    naive = -np.sum(y * np.log(naive_softmax(z)))
    assert CROSS_ENTROPY.value(z, SOFTMAX.value(z), y, SOFTMAX) == pytest.approx(naive, rel=1e-12)


def test_categorical_cross_entropy_uniform_is_log_k():
    z = np.zeros((3, 10))
    y = np.eye(10)[[0, 4, 9]]
    assert CROSS_ENTROPY.value(z, SOFTMAX.value(z), y, SOFTMAX) == pytest.approx(math.log(10), rel=1e-12)


def test_binary_cross_entropy_matches_naive_formula():
    z = np.array([[0.5, -1.5, 3.0], [-0.2, 2.0, -4.0]])
    y = np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    a = naive_sigmoid(z)
    naive = -np.sum(y * np.log(a) + (1 - y) * np.log(1 - a)) / len(z)
    assert CROSS_ENTROPY.value(z, SIGMOID.value(z), y, SIGMOID) == pytest.approx(naive, rel=1e-12)


@pytest.mark.parametrize("output", [SOFTMAX, SIGMOID])
def test_cross_entropy_delta_is_a_minus_y_over_n(output):
    z = np.array([[0.1, -0.3, 0.7], [1.2, 0.4, -0.9]])
    a = output.value(z)
    y = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    np.testing.assert_allclose(CROSS_ENTROPY.delta(z, a, y, output), (a - y) / 2, rtol=1e-12)


@pytest.mark.parametrize("output", [SOFTMAX, SIGMOID])
def test_cross_entropy_extreme_logits_are_finite(output):
    z = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, -1e4]])
    y = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = output.value(z)
        cost = CROSS_ENTROPY.value(z, a, y, output)
        delta = CROSS_ENTROPY.delta(z, a, y, output)
    assert math.isfinite(cost)
    assert np.isfinite(delta).all()
    if output is SOFTMAX:
        # row 0: logsumexp = 1e4, true class logit -1e4 -> 2e4; row 1: 1e4 - (-1e4) = 2e4
        assert cost == pytest.approx(2e4, rel=1e-12)
    else:
        # per element softplus(z) - y z: row 0: 1e4 + 1e4 + ln 2; row 1: 1e4 + 1e4 + 0
        assert cost == pytest.approx((4e4 + math.log(2.0)) / 2, rel=1e-12)


def test_cross_entropy_rejects_other_outputs():
    with pytest.raises(ValueError, match=r"cost 'cross_entropy' needs a 'softmax' output .* got output='relu'"):
        CROSS_ENTROPY.check_output(activations.get("relu"))
    CROSS_ENTROPY.check_output(SOFTMAX)  # accepted: no error
    CROSS_ENTROPY.check_output(SIGMOID)


# -- the batch mean and its single 1/n ---------------------------------------------------------


CASES = [
    (QUADRATIC, SIGMOID),
    (QUADRATIC, SOFTMAX),
    (QUADRATIC, IDENTITY),
    (CROSS_ENTROPY, SOFTMAX),
    (CROSS_ENTROPY, SIGMOID),
]


def batch(output):
    z = np.array([[0.4, -1.1, 2.0], [-0.3, 0.8, 0.1], [1.5, 1.4, -2.2]])
    y = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    return z, output.value(z), y


@pytest.mark.parametrize("cost, output", CASES, ids=lambda c: c.name)
def test_duplicated_batch_has_the_same_cost(cost, output):
    z, a, y = batch(output)
    twice = [np.concatenate([m, m]) for m in (z, a, y)]
    assert cost.value(*twice, output) == pytest.approx(cost.value(z, a, y, output), rel=1e-12)


@pytest.mark.parametrize("cost, output", CASES, ids=lambda c: c.name)
def test_cost_is_mean_of_per_sample_costs(cost, output):
    z, a, y = batch(output)
    per_sample = [cost.value(z[i : i + 1], a[i : i + 1], y[i : i + 1], output) for i in range(len(z))]
    assert cost.value(z, a, y, output) == pytest.approx(np.mean(per_sample), rel=1e-12)


@pytest.mark.parametrize("cost, output", CASES, ids=lambda c: c.name)
@pytest.mark.parametrize("n", [1, 3, 8])
def test_delta_divides_by_n_exactly_once(cost, output, n):
    z, a, y = batch(output)
    one = cost.delta(z[:1], a[:1], y[:1], output)
    rows = [np.repeat(m[:1], n, axis=0) for m in (z, a, y)]
    many = cost.delta(*rows, output)
    assert many.shape == (n, 3)
    np.testing.assert_allclose(many, np.repeat(one, n, axis=0) / n, rtol=1e-12)
    # and it is the summed gradient divided by n (not n², not 1)
    np.testing.assert_allclose(many, cost.summed_delta(*rows, output) / n, rtol=1e-12)


@pytest.mark.parametrize("cost, output", CASES, ids=lambda c: c.name)
def test_delta_writes_into_out(cost, output):
    z, a, y = batch(output)
    expected = cost.delta(z, a, y, output)
    out = np.full_like(z, np.nan)
    assert cost.delta(z, a, y, output, out=out) is out
    np.testing.assert_allclose(out, expected, rtol=1e-15)


@pytest.mark.parametrize("cost, output", CASES, ids=lambda c: c.name)
def test_perfect_prediction_has_zero_delta(cost, output):
    # a = y: nothing to learn. Only reachable exactly with identity/quadratic; the others use
    # targets equal to their own outputs (soft targets).
    z, a, _ = batch(output)
    np.testing.assert_allclose(cost.delta(z, a, a.copy(), output), 0.0, atol=1e-15)


@pytest.mark.parametrize("cost, output", CASES, ids=lambda c: c.name)
def test_float32_stays_float32(cost, output):
    z, a, y = (m.astype(np.float32) for m in batch(output))
    assert cost.delta(z, a, y, output).dtype == np.float32
    assert isinstance(cost.value(z, a, y, output), float)


# -- the name table --------------------------------------------------------------------------


def test_table_and_get():
    assert sorted(COSTS) == ["cross_entropy", "huber", "mae", "quadratic"]
    for name, cost in COSTS.items():
        assert cost.name == name
        assert losses.get(name) is cost
    assert losses.get(QUADRATIC) is QUADRATIC


@pytest.mark.parametrize("bad", ["mse", "crossentropy", None, 0])
def test_get_unknown_lists_choices(bad):
    with pytest.raises(ValueError, match=re.escape(f"unknown cost {bad!r}; choose one of: quadratic, cross_entropy, mae, huber")):
        losses.get(bad)
