"""Unit tests for nnet.optimizers: each update rule worked by hand, weight decay on the weights
only, checkpoints of optimizer state, hyperparameter validation and the learning-rate schedules.

Comparisons of one step against torch.optim live in test_torch_oracle.py.
"""

import math
import re

import numpy as np
import pytest

import nnet
from nnet import optimizers, schedules, speed
from nnet.optimizers import OPTIMIZERS
from nnet.schedules import SCHEDULES

W0 = [1.0, 2.0, 3.0]
G1 = [1.0, -2.0, 0.5]
G2 = [0.5, 1.0, -1.0]


def bound(optimizer, params=W0, n_decayed=None):
    """(optimizer, params, grads): the optimizer bound to fresh float64 copies."""
    params = np.array(params, dtype=np.float64)
    grads = np.zeros_like(params)
    optimizer.bind(params, grads, n_decayed)
    return optimizer, params, grads


def take_steps(optimizer, params, grads, gradients):
    trajectory = []
    for g in gradients:
        grads[...] = g
        optimizer.step()
        trajectory.append(params.copy())
    return trajectory


# -- the update rules, by hand -------------------------------------------------------------


def test_sgd_by_hand():
    optimizer, params, grads = bound(optimizers.SGD(learning_rate=0.1))
    w1, w2 = take_steps(optimizer, params, grads, [G1, G2])
    # w ← w - η g: [1, 2, 3] - 0.1 [1, -2, 0.5] = [0.9, 2.2, 2.95]
    np.testing.assert_allclose(w1, [0.9, 2.2, 2.95], rtol=1e-15)
    # then - 0.1 [0.5, 1, -1] = [0.85, 2.1, 3.05]
    np.testing.assert_allclose(w2, [0.85, 2.1, 3.05], rtol=1e-15)
    assert optimizer.steps == 2


def test_sgd_updates_in_place():
    optimizer, params, grads = bound(optimizers.SGD(learning_rate=0.5))
    same = params
    take_steps(optimizer, params, grads, [G1])
    assert params is same
    np.testing.assert_allclose(params, [0.5, 3.0, 2.75], rtol=1e-15)


def test_momentum_by_hand():
    optimizer, params, grads = bound(optimizers.Momentum(learning_rate=0.1, momentum=0.9))
    w1, w2 = take_steps(optimizer, params, grads, [G1, G2])
    # step 1: v = g1 = [1, -2, 0.5]; w = [1, 2, 3] - 0.1 v = [0.9, 2.2, 2.95]
    np.testing.assert_allclose(w1, [0.9, 2.2, 2.95], rtol=1e-14)
    # step 2: v = 0.9 g1 + g2 = [1.4, -0.8, -0.55]; w = w1 - 0.1 v = [0.76, 2.28, 3.005]
    np.testing.assert_allclose(optimizer.velocity, [1.4, -0.8, -0.55], rtol=1e-14)
    np.testing.assert_allclose(w2, [0.76, 2.28, 3.005], rtol=1e-14)


def test_nesterov_by_hand():
    optimizer, params, grads = bound(optimizers.Nesterov(learning_rate=0.1, momentum=0.9))
    w1, w2 = take_steps(optimizer, params, grads, [G1, G2])
    # step 1: v = g1; w -= 0.1 (g1 + 0.9 v) = 0.19 g1 -> [0.81, 2.38, 2.905]
    np.testing.assert_allclose(w1, [0.81, 2.38, 2.905], rtol=1e-14)
    # step 2: v = 0.9 g1 + g2 = [1.4, -0.8, -0.55]; g2 + 0.9 v = [1.76, 0.28, -1.495];
    # w = w1 - 0.1 [1.76, 0.28, -1.495] = [0.634, 2.352, 3.0545]
    np.testing.assert_allclose(w2, [0.634, 2.352, 3.0545], rtol=1e-14)


def test_adam_by_hand():
    optimizer, params, grads = bound(optimizers.Adam(learning_rate=0.1))  # β₁ .9, β₂ .999, ε 1e-8
    w1, w2 = take_steps(optimizer, params, grads, [G1, G2])
    # step 1: m = 0.1 g1, v = 0.001 g1²; m̂ = m / 0.1 = g1, v̂ = v / 0.001 = g1², so the step
    # is η g1 / (|g1| + ε) = 0.1 sign(g1), less a relative ε/|g1| ≤ 2e-8:
    # w1 = [0.9, 2.1, 2.9]
    np.testing.assert_allclose(w1, [0.9, 2.1, 2.9], rtol=1e-8)
    # step 2: m = 0.09 g1 + 0.1 g2, m̂ = m / (1 - 0.9²) = m / 0.19
    #           = [0.14, -0.08, -0.055] / 0.19 = [14/19, -8/19, -11/38]
    #         v = 0.000999 g1² + 0.001 g2², v̂ = v / (1 - 0.999²) = v / 0.001999
    #           = [1249/1999, 4996/1999, 4999/7996]
    #         step = 0.1 m̂ / √v̂ = [0.09321796388, -0.02663370397, -0.03661035270]
    np.testing.assert_allclose(optimizer.m, [0.14, -0.08, -0.055], rtol=1e-12)
    np.testing.assert_allclose(optimizer.v, [0.001249, 0.004996, 0.00124975], rtol=1e-12)
    expected = np.array([0.9, 2.1, 2.9]) - [0.09321796388, -0.02663370397, -0.03661035270]
    np.testing.assert_allclose(w2, expected, rtol=1e-8)


def test_adam_first_step_is_learning_rate_in_every_coordinate():
    # bias correction makes step 1 exactly η sign(g), whatever the gradient's size
    optimizer, params, grads = bound(optimizers.Adam(learning_rate=0.01), params=[0.0, 0.0, 0.0])
    take_steps(optimizer, params, grads, [[1e-3, -50.0, 7.0]])
    np.testing.assert_allclose(params, [-0.01, 0.01, -0.01], rtol=1e-4)


def test_float32_parameters_stay_float32():
    for name in OPTIMIZERS:
        params = np.array(W0, np.float32)
        grads = np.array(G1, np.float32)
        optimizer = optimizers.get(name)
        optimizer.bind(params, grads)
        optimizer.step()
        assert params.dtype == np.float32
        assert np.isfinite(params).all()


# -- weight decay ------------------------------------------------------------------------------

PARAMS4 = [1.0, 2.0, 3.0, 4.0]  # two "weights" then two "biases"


def test_sgd_weight_decay_touches_only_the_first_n_decayed():
    optimizer, params, grads = bound(
        optimizers.SGD(learning_rate=0.1, weight_decay=0.5), params=PARAMS4, n_decayed=2
    )
    take_steps(optimizer, params, grads, [[0.0] * 4])
    # g ← g + λ w on the weights: w -= 0.1 · 0.5 · w = 0.05 w -> [0.95, 1.9]; biases unchanged
    np.testing.assert_allclose(params[:2], [0.95, 1.9], rtol=1e-15)
    np.testing.assert_array_equal(params[2:], [3.0, 4.0])


def test_weight_decay_defaults_to_every_entry():
    optimizer, params, grads = bound(optimizers.SGD(learning_rate=0.1, weight_decay=0.5), params=PARAMS4)
    assert optimizer.n_decayed == 4
    take_steps(optimizer, params, grads, [[0.0] * 4])
    np.testing.assert_allclose(params, np.array(PARAMS4) * 0.95, rtol=1e-15)


def test_momentum_weight_decay_by_hand():
    optimizer, params, grads = bound(
        optimizers.Momentum(learning_rate=0.1, momentum=0.9, weight_decay=0.5), params=PARAMS4, n_decayed=2
    )
    take_steps(optimizer, params, grads, [[1.0, 1.0, 1.0, 1.0]])
    # weights: g = 1 + 0.5 w = [1.5, 2]; v = g; w -= 0.1 v -> [0.85, 1.8]
    # biases:  g = 1;                           w -= 0.1   -> [2.9, 3.9]
    np.testing.assert_allclose(params, [0.85, 1.8, 2.9, 3.9], rtol=1e-14)


def test_adamw_decays_weights_directly_and_spares_biases():
    optimizer, params, grads = bound(
        optimizers.AdamW(learning_rate=0.1, weight_decay=0.5), params=PARAMS4, n_decayed=2
    )
    take_steps(optimizer, params, grads, [[0.0] * 4])
    # decoupled: w ← w (1 - η λ) = 0.95 w; the Adam step on a zero gradient is 0 / (0 + ε) = 0
    np.testing.assert_allclose(params, [0.95, 1.9, 3.0, 4.0], rtol=1e-15)


def test_adam_coupled_decay_goes_through_the_moments():
    optimizer, params, grads = bound(
        optimizers.Adam(learning_rate=0.1, weight_decay=0.5), params=PARAMS4, n_decayed=2
    )
    take_steps(optimizer, params, grads, [[0.0] * 4])
    # g = λ w > 0 on the weights, so Adam's first step moves each weight by η: [0.9, 1.9]
    np.testing.assert_allclose(params[:2], [0.9, 1.9], rtol=1e-7)
    np.testing.assert_array_equal(params[2:], [3.0, 4.0])


def test_network_training_decays_weights_not_biases():
    net = nnet.Network([4, 3, 2], seed=0)
    trainer = nnet.Trainer(net, optimizers.get("sgd", weight_decay=0.1, learning_rate=0.1), seed=0)
    assert trainer.optimizer.n_decayed == net.n_decayed == 4 * 3 + 3 * 2
    # the first n_weights entries are exactly the layers' W (then come the biases)
    weights = np.concatenate([layer.W.ravel() for layer in net.layers])
    np.testing.assert_array_equal(net.parameters[: net.n_decayed], weights)


# -- state for checkpoints -----------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_state_dict_round_trip_continues_identically(name):
    rng = np.random.default_rng(0)
    gradients = rng.normal(size=(6, 5))
    start = rng.normal(size=5)
    first, params, grads = bound(optimizers.get(name, learning_rate=0.05), params=start, n_decayed=3)
    take_steps(first, params, grads, gradients[:3])
    state = first.state_dict()
    assert state["name"] == name and state["steps"] == 3
    saved_params = params.copy()
    continued = take_steps(first, params, grads, gradients[3:])
    # state_dict holds copies: the steps just taken did not change it
    assert state["steps"] == 3
    second, params2, grads2 = bound(optimizers.get(name, learning_rate=0.05), params=saved_params, n_decayed=3)
    second.load_state_dict(state)
    resumed = take_steps(second, params2, grads2, gradients[3:])
    for a, b in zip(continued, resumed):
        np.testing.assert_array_equal(a, b)


def test_state_dict_arrays_are_copies():
    optimizer, params, grads = bound(optimizers.Adam())
    take_steps(optimizer, params, grads, [G1])
    state = optimizer.state_dict()
    m_saved = state["arrays"]["m"].copy()
    take_steps(optimizer, params, grads, [G2])
    np.testing.assert_array_equal(state["arrays"]["m"], m_saved)


def test_load_state_dict_rejects_other_optimizer():
    state = bound(optimizers.SGD())[0].state_dict()
    adam, _, _ = bound(optimizers.Adam())
    with pytest.raises(ValueError, match="optimizer state is for 'sgd', not 'adam'"):
        adam.load_state_dict(state)


def test_load_state_dict_rejects_wrong_shape():
    state = bound(optimizers.Momentum(), params=[1.0, 2.0])[0].state_dict()
    momentum, _, _ = bound(optimizers.Momentum())
    with pytest.raises(ValueError, match=re.escape("optimizer state 'velocity' has shape (2,); expected (3,)")):
        momentum.load_state_dict(state)


def test_step_before_bind_raises():
    with pytest.raises(RuntimeError, match=re.escape("SGD.step() before bind(params, grads)")):
        optimizers.SGD().step()


def test_bind_rejects_mismatched_arrays():
    with pytest.raises(ValueError, match="params and grads must be 1-D arrays of the same shape"):
        optimizers.SGD().bind(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="1-D"):
        optimizers.SGD().bind(np.zeros((2, 2)), np.zeros((2, 2)))


# -- hyperparameter validation ---------------------------------------------------------------

BAD = [
    (optimizers.SGD, "learning_rate", -1.0, "(0.0, inf)"),
    (optimizers.SGD, "learning_rate", 0, "(0.0, inf)"),
    (optimizers.SGD, "learning_rate", float("nan"), "(0.0, inf)"),
    (optimizers.SGD, "learning_rate", float("inf"), "(0.0, inf)"),
    (optimizers.SGD, "weight_decay", -0.1, "[0.0, inf)"),
    (optimizers.Momentum, "momentum", 1.0, "[0.0, 1.0)"),
    (optimizers.Momentum, "momentum", 1.5, "[0.0, 1.0)"),
    (optimizers.Nesterov, "momentum", -0.5, "[0.0, 1.0)"),
    (optimizers.Adam, "beta1", 1.0, "[0.0, 1.0)"),
    (optimizers.Adam, "beta2", float("nan"), "[0.0, 1.0)"),
    (optimizers.Adam, "epsilon", 0.0, "(0.0, inf)"),
]


@pytest.mark.parametrize("cls, name, value, bounds", BAD)
def test_bad_hyperparameter_message_names_value(cls, name, value, bounds):
    # the range part is checked separately below; here: the name, the rule and the value
    with pytest.raises(ValueError, match=re.escape(f"{name} must be a finite number in the range ")) as info:
        cls(**{name: value})
    assert str(info.value).endswith(f"; got {float(value)!r}")


@pytest.mark.parametrize("cls, name, value, bounds", [b for b in BAD if "inf" in b[3]])
def test_bad_hyperparameter_message_range_is_open_at_infinity(cls, name, value, bounds):
    with pytest.raises(
        ValueError, match=re.escape(f"{name} must be a finite number in the range {bounds}; got {float(value)!r}")
    ):
        cls(**{name: value})


@pytest.mark.parametrize("cls, name, value, bounds", [b for b in BAD if "inf" not in b[3]])
def test_bad_hyperparameter_message_bounded_range(cls, name, value, bounds):
    with pytest.raises(
        ValueError, match=re.escape(f"{name} must be a finite number in the range {bounds}; got {float(value)!r}")
    ):
        cls(**{name: value})


@pytest.mark.parametrize("value", ["fast", None, True, [0.1]])
def test_non_number_learning_rate_is_a_type_error(value):
    with pytest.raises(TypeError, match=re.escape(f"learning_rate must be a number; got {value!r}")):
        optimizers.SGD(learning_rate=value)


def test_numpy_scalars_are_accepted():
    optimizer = optimizers.Momentum(learning_rate=np.float32(0.5), momentum=np.float64(0.25))
    assert optimizer.learning_rate == pytest.approx(0.5)
    assert type(optimizer.learning_rate) is float


# -- get() -----------------------------------------------------------------------------------


def test_get_builds_with_settings_and_ignores_none():
    optimizer = optimizers.get("momentum", learning_rate=0.3, momentum=None)
    assert isinstance(optimizer, optimizers.Momentum)
    assert optimizer.learning_rate == pytest.approx(0.3)
    assert optimizer.momentum == pytest.approx(0.9)  # None: the default
    assert optimizers.get("adam").learning_rate == pytest.approx(1e-3)
    assert optimizers.get("sgd").learning_rate == pytest.approx(0.1)
    ready = optimizers.SGD()
    assert optimizers.get(ready) is ready


@pytest.mark.parametrize("bad", ["rmsprop", "SGD", None])
def test_get_unknown_lists_choices(bad):
    with pytest.raises(
        ValueError, match=re.escape(f"unknown optimizer {bad!r}; choose one of: sgd, momentum, nesterov, adam, adamw")
    ):
        optimizers.get(bad)


def test_adam_with_momentum_names_what_adam_takes():
    with pytest.raises(
        ValueError,
        match=re.escape("optimizer 'adam' does not take momentum; it takes: learning_rate, beta1, beta2, epsilon, weight_decay"),
    ):
        optimizers.get("adam", momentum=0.9)


def test_fit_with_adam_and_momentum_is_an_error():
    net = nnet.Network([2, 2], seed=0)
    with pytest.raises(ValueError, match="optimizer 'adam' does not take momentum"):
        net.fit(np.zeros((4, 2)), np.array([0, 1, 0, 1]), optimizer="adam", momentum=0.9, epochs=1)


def test_get_passes_bad_values_through_as_value_errors():
    # a bad value for a setting the optimizer does take keeps its own message
    with pytest.raises(ValueError, match=re.escape("learning_rate must be a finite number in the range")):
        optimizers.get("sgd", learning_rate=-1.0)


def test_get_with_non_number_setting_names_the_setting():
    with pytest.raises((TypeError, ValueError), match=re.escape("learning_rate must be a number; got 'fast'")):
        optimizers.get("sgd", learning_rate="fast")


# -- learning-rate schedules -----------------------------------------------------------------


def test_constant_schedule():
    schedule = schedules.get("constant")
    assert [schedule.factor(epoch, 10) for epoch in range(10)] == pytest.approx([1.0] * 10)
    assert isinstance(schedules.get(None), schedules.Constant)


def test_step_schedule_factor_is_gamma_to_floor_epoch_over_step():
    schedule = schedules.StepDecay(step_size=3, gamma=0.5)
    factors = [schedule.factor(epoch, 10) for epoch in range(8)]
    # γ^⌊e/3⌋: 1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25
    assert factors == pytest.approx([1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25], rel=1e-15)


def test_step_schedule_defaults():
    schedule = schedules.get("step")
    assert (schedule.step_size, schedule.gamma) == (10, pytest.approx(0.1))
    assert schedule.factor(9, 30) == pytest.approx(1.0)
    assert schedule.factor(10, 30) == pytest.approx(0.1)
    assert schedule.factor(25, 30) == pytest.approx(0.01)


@pytest.mark.parametrize("min_factor", [0.0, 0.1])
def test_cosine_schedule_endpoints_and_midpoint(min_factor):
    schedule = schedules.Cosine(min_factor=min_factor)
    epochs = 10
    assert schedule.factor(0, epochs) == pytest.approx(1.0, rel=1e-15)
    assert schedule.factor(epochs, epochs) == pytest.approx(min_factor, abs=1e-15)
    assert schedule.factor(epochs // 2, epochs) == pytest.approx((1 + min_factor) / 2, rel=1e-15)
    factors = [schedule.factor(epoch, epochs) for epoch in range(epochs + 1)]
    assert all(later < earlier for earlier, later in zip(factors, factors[1:]))
    # the last epoch trained (epochs - 1) is above the floor: (1 + cos(0.9 π)) / 2 of the way
    expected_last = min_factor + (1 - min_factor) * (1 + math.cos(math.pi * 0.9)) / 2
    assert factors[-2] == pytest.approx(expected_last, rel=1e-14)


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: schedules.StepDecay(step_size=0), "step_size must be a positive integer; got 0"),
        (lambda: schedules.StepDecay(step_size=2.5), "step_size must be a positive integer; got 2.5"),
        (lambda: schedules.StepDecay(gamma=0.0), "gamma must be a finite number in the range (0.0, "),
        (lambda: schedules.Cosine(min_factor=1.5), "min_factor must be a finite number in the range [0.0, 1.0]; got 1.5"),
    ],
)
def test_schedule_validation(build, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        build()


def test_schedule_table_and_get():
    assert sorted(SCHEDULES) == ["constant", "cosine", "step"]
    custom = schedules.StepDecay(2, 0.5)
    assert schedules.get(custom) is custom
    with pytest.raises(
        ValueError, match=re.escape("unknown learning-rate schedule 'linear'; choose one of: constant, step, cosine")
    ):
        schedules.get("linear")


# -- large updates, split between threads ------------------------------------------------------


@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov", "adam", "adamw"])
def test_an_update_split_between_threads_equals_the_whole(name):
    # the weights/biases boundary (n_decayed) falls inside a part, so weight decay is split too
    size = 2 * speed.PARALLEL_MIN + 1000
    rng = np.random.default_rng(0)
    start = rng.normal(size=size)
    grads = [rng.normal(size=size) for _ in range(3)]
    results = {}
    for threads in (1, 2):
        optimizer = optimizers.get(name, learning_rate=0.01, weight_decay=0.1)
        params, gradient = start.copy(), np.empty(size)
        optimizer.bind(params, gradient, n_decayed=speed.PARALLEL_MIN + 7)
        assert len(speed.parts(size, threads)) == threads
        split = speed.Threads(threads).split
        for g in grads:
            gradient[...] = g
            optimizer.step(split)
        results[threads] = params
    np.testing.assert_array_equal(results[1], results[2])
    assert not np.array_equal(results[1], start)
