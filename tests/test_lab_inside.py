"""What the lab shows inside a network: layer health, maps, top digits, calibration, connections
and weight tiles (nnet.lab.health, maps, weights), against the library and scikit-learn."""

from __future__ import annotations

import base64

import numpy as np
import pytest

pytest.importorskip("starlette")

import nnet  # noqa: E402
from nnet import Network  # noqa: E402
from nnet.lab import health, maps, weights  # noqa: E402


@pytest.fixture(scope="module")
def digits():
    (x, y), (x_test, y_test) = nnet.datasets.load_mnist()
    return (x[:3000], y[:3000]), (x_test[:1500], y_test[:1500])


@pytest.fixture(scope="module")
def trained(digits):
    (x, y), _ = digits
    net = Network([784, 32, 10], activation="relu", output="softmax", cost="cross_entropy", seed=0)
    net.fit(x, y, epochs=2, batch_size=32, optimizer="momentum", learning_rate=0.05, seed=0)
    return net


# -- health ------------------------------------------------------------------------------------


def test_a_trained_network_is_healthy_and_its_gradient_sizes_are_the_librarys(trained, digits):
    _, (x, y) = digits
    result = health.verdict(trained, x, y)
    assert result["healthy"] and result["flags"] == [] and result["probe"] == health.PROBE
    assert result["accuracy"] == pytest.approx(trained.evaluate(x[:health.PROBE], y[:health.PROBE]).accuracy)
    gradients = trained.backprop(x[:health.PROBE], y[:health.PROBE])
    for layer, (dW, _) in zip(result["layers"], gradients):
        assert layer["gradient_size"] == pytest.approx(np.sqrt(np.mean(dW.astype(np.float64) ** 2)), rel=1e-5)
        assert sum(layer["activations"]["counts"]) == health.PROBE * layer["size"]
        assert sum(layer["weights"]["counts"]) == trained.layers[layer["index"]].W.size
        assert len(layer["gradients"]["edges"]) == health.BINS + 1


def test_dead_relu_neurons_are_found_and_a_mostly_dead_layer_is_flagged(trained, digits):
    _, (x, y) = digits
    net = trained.copy()
    killed = np.arange(0, 32, 32 // 24)[:24]  # 24 of the 32 hidden neurons
    net.layers[0].b[killed] = -1000.0  # z = w·x - 1000 < 0 for every digit
    already = health.layer_health(trained, x, y)[0]["dead"]  # a few die in any ReLU training
    assert len(already) < 8
    a = trained.forward(x[:health.PROBE], record=True).activations[1]
    assert already == np.flatnonzero((a <= 0).all(axis=0)).tolist()
    result = health.verdict(net, x, y)
    dead = sorted(set(killed.tolist()) | set(already))
    assert result["layers"][0]["dead"] == dead
    flag = next(flag for flag in result["flags"] if flag["kind"] == "dead")
    assert flag["layer"] == 0 and f"{len(dead)} of its 32 neurons ({len(dead) / 32:.0%}) are dead" in flag["why"]
    assert not result["healthy"]


def test_saturated_sigmoid_neurons_are_flagged(digits):
    _, (x, y) = digits
    net = Network([784, 20, 10], activation="sigmoid", output="sigmoid", cost="quadratic", seed=0)
    net.layers[0].W[:] *= 200.0  # z far out on the flat tails
    result = health.verdict(net, x, y)
    flag = next(flag for flag in result["flags"] if flag["kind"] == "saturated")
    assert flag["layer"] == 0 and "barely learn" in flag["why"]
    assert len(result["layers"][0]["saturated"]) >= 15


def test_diverged_and_guessing_networks_are_flagged(digits):
    _, (x, y) = digits
    net = Network([784, 20, 10], activation="relu", output="softmax", cost="cross_entropy", seed=0)
    guessing = health.verdict(net, x, y)
    assert [flag["kind"] for flag in guessing["flags"]] == ["guessing"]
    net.layers[1].W[0, 0] = np.nan
    diverged = health.verdict(net, x, y)
    assert diverged["flags"][0]["kind"] == "diverged" and "1 of its" in diverged["flags"][0]["why"]
    assert not diverged["healthy"]


# -- maps --------------------------------------------------------------------------------------


def test_pca_agrees_with_scikit_learn(trained, digits):
    decomposition = pytest.importorskip("sklearn.decomposition")
    _, (x, _) = digits
    values = maps.activations(trained, x[:500], 0)
    points, explained = maps.pca(values)
    reference = decomposition.PCA(n_components=2, svd_solver="full").fit(values)
    expected = reference.transform(values)
    for axis in range(2):  # each axis up to its sign
        sign = np.sign(points[:, axis] @ expected[:, axis])
        np.testing.assert_allclose(sign * points[:, axis], expected[:, axis], rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(explained, reference.explained_variance_ratio_, rtol=1e-7)


def test_the_map_separates_classes_better_in_the_hidden_layer_than_in_the_pixels(trained, digits):
    _, (x, y) = digits
    pixels = maps.activation_map(trained, x, y, -1, count=1000)
    hidden = maps.activation_map(trained, x, y, 0, count=1000)
    assert pixels["name"] == "input" and hidden["name"] == "hidden 1"
    assert len(hidden["points"]) == hidden["count"] == 1000 and hidden["labels"] == y[:1000].tolist()
    assert np.abs(np.array(hidden["points"])).max() == pytest.approx(1.0)
    assert 0 < pixels["separation"] < hidden["separation"] <= 1
    with pytest.raises(IndexError, match="layers 0..1"):
        maps.activation_map(trained, x, y, 2)
    with pytest.raises(ValueError, match="method must be one of"):
        maps.activation_map(trained, x, y, 0, method="umap")


def test_separation_of_clusters_is_one_and_of_noise_about_chance():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(4), 50)
    centres = np.array([[0, 0], [10, 0], [0, 10], [10, 10]])
    assert maps.separation(centres[labels] + rng.normal(0, 1, (200, 2)), labels) == 1.0
    assert maps.separation(rng.normal(0, 1, (2000, 2)), rng.integers(0, 4, 2000)) < 0.45


def test_tsne_when_scikit_learn_is_installed(trained, digits):
    pytest.importorskip("sklearn.manifold")
    _, (x, y) = digits
    result = maps.activation_map(trained, x, y, 0, count=150, method="tsne")
    assert result["method"] == "tsne" and len(result["points"]) == 150 and result["explained"] is None


def test_top_digits_are_the_most_exciting(trained, digits):
    _, (x, y) = digits
    result = maps.top_digits(trained, x, y, 0, 4, count=6)
    a = trained.forward(x, record=True).activations[1][:, 4]
    assert result["indices"] == np.argsort(-a, kind="stable")[:6].tolist()
    np.testing.assert_allclose(result["activations"], a[result["indices"]], atol=1e-4)
    assert result["pixels"][0] == x[result["indices"][0]].tolist() and result["labels"][0] == y[result["indices"][0]]
    with pytest.raises(IndexError, match="neurons 0..31"):
        maps.top_digits(trained, x, y, 0, 32)


def test_calibration_counts_and_thresholds(trained, digits):
    _, (x, y) = digits
    result = maps.calibration(trained, x, y)
    assert sum(entry["count"] for entry in result["bins"]) == len(x)
    assert result["accuracy"] == pytest.approx(trained.evaluate(x, y).accuracy)
    assert result["thresholds"][0] == {"threshold": 0.0, "answered": 1.0, "accuracy": result["accuracy"]}
    output = trained.forward(x)
    sure = output.max(axis=1)
    answered = sure >= 0.9
    at = next(entry for entry in result["thresholds"] if entry["threshold"] == 0.9)
    assert at["answered"] == pytest.approx(answered.mean())
    assert at["accuracy"] == pytest.approx((output.argmax(1) == y)[answered].mean())
    assert result["confidence_from"] == "softmax probability"
    weighted = sum(e["count"] * abs(e["accuracy"] - e["confidence"]) for e in result["bins"] if e["count"]) / len(x)
    assert result["expected_error"] == pytest.approx(weighted)


def test_sigmoid_outputs_are_used_as_they_are():
    net = Network([784, 10], activation="sigmoid", output="sigmoid", cost="quadratic", seed=0)
    x = np.random.default_rng(0).integers(0, 256, (200, 784)).astype(np.uint8)
    result = maps.calibration(net, x, np.zeros(200, int))
    assert "as it is" in result["confidence_from"]
    mean = np.mean(net.forward(x).max(axis=1))
    counted = sum(e["count"] * e["confidence"] for e in result["bins"] if e["count"]) / 200
    assert counted == pytest.approx(mean)


# -- connections and tiles -----------------------------------------------------------------------


def test_links_are_the_layers_weights_and_large_layers_are_refused(trained):
    small = Network([784, 16, 16, 10], seed=0)
    result = weights.links(small, 1)
    np.testing.assert_allclose(result["weights"], small.layers[1].W, atol=1e-4)
    assert (result["inputs"], result["size"], result["name"]) == (16, 16, "hidden 2")
    with pytest.raises(ValueError, match="at most 32"):
        weights.links(small, 0)
    with pytest.raises(IndexError, match="layers 0..2"):
        weights.links(small, 3)


def test_tiles_share_one_scale_and_show_the_change_since_start(trained):
    start = Network([784, 32, 10], activation="relu", output="softmax", cost="cross_entropy", seed=0).layers[0].W
    result = weights.tiles(trained, 8)
    W = trained.layers[0].W[:8]
    assert result["scale"] == pytest.approx(np.abs(W).max()) and not result["since_start"]
    decoded = np.frombuffer(base64.b64decode(result["data"]), np.int8).reshape(8, 784) / 127 * result["scale"]
    np.testing.assert_allclose(decoded, W, atol=result["scale"] / 127)
    change = weights.tiles(trained, 8, start=start)
    decoded = np.frombuffer(base64.b64decode(change["data"]), np.int8).reshape(8, 784) / 127 * change["scale"]
    np.testing.assert_allclose(decoded, W - start[:8], atol=change["scale"] / 127)
    assert change["since_start"] and change["scale"] < result["scale"]
