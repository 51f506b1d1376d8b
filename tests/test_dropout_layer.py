"""The parameterless Dropout layer (dropout on the input, or after a pooling layer): prediction
passes everything on, training drops with the layer's rate; centred differences and PyTorch
(float64) as oracles for the backward pass through its mask; it draws its mask in the MPI
shard's way; and MaxNorm on convolution filters against torch.renorm."""

from __future__ import annotations

import numpy as np
import pytest

import nnet
from nnet import Dense, Network, callbacks
from nnet.convolution import Conv2D
from nnet.distributed import ShardRandom
from nnet.dropout import Dropout
from nnet.pooling import Flatten, MaxPool2D
from _layer_checks import backward, numeric_gradient, relative_error

torch = pytest.importorskip("torch")


def test_prediction_passes_the_input_on_untouched():
    layer = Dropout(0.5, input_shape=(6,))
    x = np.random.default_rng(0).random((4, 6)).astype(np.float32)
    np.testing.assert_array_equal(layer.forward(x), x)
    assert layer.output_shape == (6,) and layer.n_parameters == 0 and layer.dtype == np.float32


def test_training_drops_at_the_rate_and_scales_the_survivors():
    layer = Dropout(0.25, input_shape=(1000,))
    x = np.ones((50, 1000), np.float32)
    cache: dict = {}
    out = layer.forward(x, np.empty_like(x), np.empty_like(x), cache, np.random.default_rng(1))
    assert set(np.unique(out)) == {0.0, np.float32(1 / 0.75)}
    assert abs((out == 0).mean() - 0.25) < 0.01


def test_the_error_goes_back_through_the_mask_like_centred_differences_say():
    """With the mask fixed (the same generator each time), L = Σ R ⊙ dropout(x) is linear in x."""
    layer = Dropout(0.4, input_shape=(3, 4), dtype=np.float64)
    rng = np.random.default_rng(2)
    x, upstream = rng.normal(size=(5, 3, 4)), rng.normal(size=(5, 3, 4))

    def loss():
        cache: dict = {}
        a = layer.forward(x, np.empty_like(x), np.empty_like(x), cache, np.random.default_rng(7))
        return float(np.sum(upstream * a))

    z, a, cache = np.empty_like(x), np.empty_like(x), {}
    layer.forward(x, z, a, cache, np.random.default_rng(7))
    delta = layer.error(upstream.copy(), z, a, cache)
    dx = layer.backpropagate(delta, np.empty_like(x), cache)
    assert relative_error(dx, numeric_gradient(loss, x)) < 1e-6


def test_dropout_on_the_input_matches_torch_with_the_same_mask():
    layers = [Dropout(0.3, input_shape=(8,), dtype=np.float64), Dense(8, 5, "tanh", seed=1, dtype=np.float64),
              Dense(5, 3, "softmax", init="xavier", seed=2, dtype=np.float64)]
    net = Network(layers, cost="cross_entropy")
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(6, 8)), rng.integers(0, 3, 6)
    trace, dx = net.backprop(x, y, record=True, input_gradient=True, rng=np.random.default_rng(4))
    mask = torch.from_numpy(trace.masks[0].copy())
    assert (trace.masks[0] == 0).any() and trace.masks[1] is None
    W1, b1, W2, b2 = (torch.tensor(np.asarray(array, np.float64), requires_grad=True)
                      for array in (layers[1].W, layers[1].b, layers[2].W, layers[2].b))
    tx = torch.tensor(x, requires_grad=True)
    logits = torch.tanh((tx * mask) @ W1.T + b1) @ W2.T + b2
    loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(y))
    loss.backward()
    assert trace.cost == pytest.approx(loss.item(), rel=1e-12)
    for (dW, db), (W, b) in zip(trace.gradients[1:], ((W1, b1), (W2, b2))):
        np.testing.assert_allclose(dW, W.grad.numpy(), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(db, b.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_a_shard_draws_its_rows_of_the_whole_batch_mask():
    layer = Dropout(0.5, input_shape=(2, 3, 3))
    x = np.ones((7, 2, 3, 3), np.float32)
    whole = layer.forward(x, np.empty_like(x), np.empty_like(x), {}, np.random.default_rng(5)).copy()
    shard = ShardRandom(np.random.default_rng(5), 2, 5, 7)
    part = layer.forward(x[2:5], np.empty_like(x[2:5]), np.empty_like(x[2:5]), {}, shard)
    np.testing.assert_array_equal(part, whole[2:5])


def test_after_pooling_it_takes_the_shape_and_dtype_from_below():
    layers = [Conv2D(1, 2, 3, input_shape=(1, 8, 8), seed=0, dtype=np.float64), MaxPool2D(2), Dropout(0.2), Flatten(),
              Dense(18, 2, "softmax", init="xavier", seed=1, dtype=np.float64)]
    net = Network(layers, cost="cross_entropy")
    assert layers[2].input_shape == (2, 3, 3) and layers[2].dtype == np.float64
    x = np.random.default_rng(0).random((10, 1, 8, 8))
    net.fit(x, np.arange(10) % 2, epochs=1, batch_size=5, seed=0)
    assert np.isfinite(net.parameters).all()


def test_the_output_layer_is_never_a_dropout_layer_and_rates_are_checked():
    with pytest.raises(ValueError, match=r"dropout rate must be a number in \[0, 1\); got 1.0"):
        Dropout(1.0)
    with pytest.raises(ValueError, match="the output layer cannot have dropout"):
        Network([Dense(4, 3, "softmax", seed=0), Dropout(0.5)], cost="cross_entropy")
    with pytest.raises(ValueError, match="Dropout takes samples of a shape of positive sizes"):
        Dropout(0.5, input_shape=(0,))


# -- max-norm on convolution filters ----------------------------------------------------------------


def test_max_norm_renorms_conv_filters_and_dense_rows_as_torch_renorm_does():
    layers = [Conv2D(2, 4, 3, input_shape=(2, 6, 6), seed=0, dtype=np.float64), Flatten(),
              Dense(64, 3, "softmax", init="xavier", seed=1, dtype=np.float64)]
    net = Network(layers, cost="cross_entropy")
    net.parameters *= 5.0  # most filters longer than the cap
    layers[0].W[1] *= 0.01  # one filter shorter: left alone
    expected = [torch.renorm(torch.from_numpy(layer.W.copy()), p=2, dim=0, maxnorm=1.5).numpy()
                for layer in (layers[0], layers[2])]
    network = type("State", (), {"network": net})()
    callbacks.MaxNorm(1.5).on_batch_end(network)
    for layer, renormed in zip((layers[0], layers[2]), expected):
        np.testing.assert_allclose(layer.W, renormed, rtol=1e-6)  # torch divides by norm + 1e-7
    norms = np.linalg.norm(layers[0].W.reshape(4, -1), axis=1)
    assert norms.max() == pytest.approx(1.5) and norms[1] < 1.5


def test_max_norm_keeps_conv_filters_capped_through_training():
    layers = [Conv2D(1, 3, 3, input_shape=(1, 6, 6), seed=0), Flatten(), Dense(48, 2, "softmax", init="xavier", seed=1)]
    net = Network(layers, cost="cross_entropy")
    rng = np.random.default_rng(0)
    net.fit(rng.random((20, 1, 6, 6)), rng.integers(0, 2, 20), epochs=2, batch_size=5, learning_rate=1.0, seed=0,
            callbacks=[nnet.callbacks.MaxNorm(0.5)])
    assert np.linalg.norm(layers[0].W.reshape(3, -1), axis=1).max() <= 0.5 * (1 + 1e-6)


def test_dropout_layer_gradient_through_a_whole_training_step():
    layer = Dropout(0.0, input_shape=(4,), dtype=np.float64)  # rate 0: the identity, exactly
    x = np.random.default_rng(0).normal(size=(3, 4))
    a, gradients, dx = backward(layer, x, np.ones((3, 4)))
    np.testing.assert_array_equal(a, x)
    np.testing.assert_array_equal(dx, np.ones((3, 4)))
    assert gradients == {}
