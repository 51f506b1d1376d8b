"""Unit tests for nnet.activations: known values, derivatives, ``out=``, the name table.

Gradient checks (finite differences) and PyTorch comparisons live in test_gradients.py and
test_torch_oracle.py; here every expected number is worked out by hand.
"""

import math
import re
import warnings

import numpy as np
import pytest

from nnet import activations
from nnet.activations import ACTIVATIONS

ELEMENTWISE = ["sigmoid", "tanh", "relu", "leaky_relu", "identity"]
ALL_NAMES = ELEMENTWISE + ["softmax"]


def sample(dtype=np.float64):
    """A (2, 3) batch with negatives, a zero and positives."""
    return np.array([[-2.0, 0.0, 1.5], [3.0, -0.5, 0.25]], dtype=dtype)


# -- known values ----------------------------------------------------------------------------


def test_sigmoid_known_values():
    sigmoid = activations.get("sigmoid")
    z = np.array([[0.0, math.log(3.0), -math.log(3.0)]])
    # σ(0) = 1/2; σ(ln 3) = 1 / (1 + 1/3) = 3/4; σ(-ln 3) = 1/4
    np.testing.assert_allclose(sigmoid.value(z), [[0.5, 0.75, 0.25]], rtol=1e-12)
    a = sigmoid.value(z)
    # σ'(z) = σ(1 - σ): 1/4, 3/16, 3/16
    np.testing.assert_allclose(sigmoid.derivative(z, a), [[0.25, 3 / 16, 3 / 16]], rtol=1e-12)


def test_tanh_known_values():
    tanh = activations.get("tanh")
    z = np.array([[0.0, math.log(2.0)]])
    # tanh(ln 2) = (2 - 1/2) / (2 + 1/2) = 3/5; tanh' = 1 - tanh² = 1 and 16/25
    a = tanh.value(z)
    np.testing.assert_allclose(a, [[0.0, 0.6]], atol=1e-15)
    np.testing.assert_allclose(tanh.derivative(z, a), [[1.0, 16 / 25]], rtol=1e-12)


def test_relu_known_values_and_zero_at_zero():
    relu = activations.get("relu")
    z = np.array([[-3.0, 0.0, 2.5]])
    a = relu.value(z)
    np.testing.assert_array_equal(a, [[0.0, 0.0, 2.5]])
    # relu'(0) = 0, as PyTorch defines it
    np.testing.assert_array_equal(relu.derivative(z, a), [[0.0, 0.0, 1.0]])
    grad = np.array([[7.0, 7.0, 7.0]])
    np.testing.assert_array_equal(relu.backward(z, a, grad), [[0.0, 0.0, 7.0]])


def test_leaky_relu_default_slope():
    leaky = activations.get("leaky_relu")
    z = np.array([[-100.0, 0.0, 4.0]])
    a = leaky.value(z)
    np.testing.assert_allclose(a, [[-1.0, 0.0, 4.0]], rtol=1e-12)
    np.testing.assert_allclose(leaky.derivative(z, a), [[0.01, 0.01, 1.0]], rtol=1e-12)


def test_leaky_relu_custom_slope():
    leaky = activations.LeakyReLU(slope=0.25)
    z = np.array([[-2.0, 8.0]])
    a = leaky.value(z)
    np.testing.assert_allclose(a, [[-0.5, 8.0]], rtol=1e-12)
    np.testing.assert_allclose(leaky.derivative(z, a), [[0.25, 1.0]], rtol=1e-12)
    assert "0.25" in repr(leaky)


@pytest.mark.parametrize("slope", [0.0, 1.0, -0.1, 2.0, float("nan")])
def test_leaky_relu_rejects_bad_slope(slope):
    with pytest.raises(ValueError, match=r"leaky_relu slope must be in \(0, 1\); got"):
        activations.LeakyReLU(slope=slope)


def test_identity_passes_through_with_unit_derivative():
    identity = activations.get("identity")
    z = sample()
    a = identity.value(z)
    np.testing.assert_array_equal(a, z)
    assert a is not z  # without out=, a fresh array
    np.testing.assert_array_equal(identity.derivative(z, a), np.ones_like(z))
    grad = np.full_like(z, 3.0)
    np.testing.assert_array_equal(identity.backward(z, a, grad), grad)


def test_softmax_known_values():
    softmax = activations.get("softmax")
    # e^0 : e^{ln 2} : e^{ln 5} = 1 : 2 : 5, so the row is 1/8, 2/8, 5/8
    z = np.array([[0.0, math.log(2.0), math.log(5.0)], [7.0, 7.0, 7.0]])
    np.testing.assert_allclose(
        softmax.value(z), [[1 / 8, 2 / 8, 5 / 8], [1 / 3, 1 / 3, 1 / 3]], rtol=1e-12
    )


def test_softmax_backward_is_the_jacobian_vector_product():
    softmax = activations.get("softmax")
    z = np.array([[0.5, -1.0, 2.0]])
    s = softmax.value(z)
    grad = np.array([[1.0, -2.0, 0.5]])
    # ∂s_i/∂z_j = s_i (δ_ij - s_j): the full Jacobian, written out
    jacobian = np.diag(s[0]) - np.outer(s[0], s[0])
    np.testing.assert_allclose(softmax.backward(z, s, grad), grad @ jacobian, rtol=1e-12)


def test_softmax_has_no_elementwise_derivative():
    softmax = activations.get("softmax")
    z = sample()
    with pytest.raises(TypeError, match="no elementwise derivative"):
        softmax.derivative(z, softmax.value(z))


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_default_backward_is_grad_times_derivative(name):
    act = activations.get(name)
    z = sample()
    a = act.value(z)
    grad = np.array([[0.5, -1.0, 2.0], [1.5, 3.0, -0.25]])
    np.testing.assert_allclose(act.backward(z, a, grad), grad * act.derivative(z, a), rtol=1e-12)


# -- stability -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL_NAMES)
def test_extreme_inputs_are_finite_and_silent(name):
    act = activations.get(name)
    z = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4]], dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any overflow RuntimeWarning fails the test
        a = act.value(z)
        assert np.isfinite(a).all()
        if name != "softmax":
            assert np.isfinite(act.derivative(z, a)).all()
        assert np.isfinite(act.backward(z, a, np.ones_like(z))).all()


def test_sigmoid_saturates_to_exact_limits():
    a = activations.get("sigmoid").value(np.array([[1e4, -1e4]]))
    np.testing.assert_array_equal(a, [[1.0, 0.0]])


# -- out= ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL_NAMES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_value_out_buffer(name, dtype):
    act = activations.get(name)
    z = sample(dtype)
    expected = act.value(z.copy())
    out = np.empty_like(z)
    result = act.value(z, out=out)
    assert result is out
    assert result.dtype == dtype
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(z, sample(dtype))  # the input untouched


@pytest.mark.parametrize("name", ALL_NAMES)
def test_value_out_may_be_z_itself(name):
    act = activations.get(name)
    z = sample()
    expected = act.value(z.copy())
    result = act.value(z, out=z)
    assert result is z
    np.testing.assert_array_equal(z, expected)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_derivative_out_buffer(name):
    act = activations.get(name)
    z = sample()
    a = act.value(z)
    expected = act.derivative(z, a)
    out = np.full_like(z, np.nan)
    assert act.derivative(z, a, out=out) is out
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("name", ALL_NAMES)
def test_backward_out_buffer_and_in_place_on_grad(name):
    act = activations.get(name)
    z = sample()
    a = act.value(z)
    grad = np.array([[0.5, -1.0, 2.0], [1.5, 3.0, -0.25]])
    expected = act.backward(z, a, grad.copy())
    out = np.full_like(z, np.nan)
    assert act.backward(z, a, grad.copy(), out=out) is out
    np.testing.assert_allclose(out, expected, rtol=1e-15)
    in_place = grad.copy()
    assert act.backward(z, a, in_place, out=in_place) is in_place
    np.testing.assert_allclose(in_place, expected, rtol=1e-15)


@pytest.mark.parametrize("name", ["sigmoid", "tanh"])
def test_saturated_derivative_stays_positive_in_float32(name):
    # Where σ(z) rounds to 1 (or tanh to ±1) in float32, a(1 - a) and 1 - a² are exactly 0;
    # computed from z, σ' keeps its true, tiny value, so a saturated neuron still learns.
    act = activations.get(name)
    z = np.array([20.0, -20.0, 40.0, -40.0], np.float32)
    a = act.value(z)
    derivative = act.derivative(z, a)
    assert derivative.dtype == np.float32
    assert (derivative > 0).all()
    exact = act.derivative(z.astype(np.float64), act.value(z.astype(np.float64)))
    np.testing.assert_allclose(derivative, exact, rtol=1e-5)


# -- the name table --------------------------------------------------------------------------


def test_table_names_match_objects():
    assert sorted(ACTIVATIONS) == sorted(ALL_NAMES)
    for name, act in ACTIVATIONS.items():
        assert act.name == name
        assert isinstance(act, activations.Activation)


def test_get_returns_table_entry_and_passes_objects_through():
    assert activations.get("relu") is ACTIVATIONS["relu"]
    custom = activations.LeakyReLU(0.3)
    assert activations.get(custom) is custom


@pytest.mark.parametrize("bad", ["swish", "Sigmoid", "", None, 3, ["relu"]])
def test_get_unknown_lists_choices(bad):
    choices = ", ".join(ACTIVATIONS)
    with pytest.raises(ValueError, match=re.escape(f"unknown activation {bad!r}; choose one of: {choices}")):
        activations.get(bad)
