"""`nnet bench` runs and reports (it measures; nothing here asserts a time)."""

import json

import pytest

from nnet import bench
from nnet.bench.measure import training_flops
from nnet.cli import main


def test_training_flops_counts_forward_weight_and_input_gradients():
    # [4, 3, 2], 5 samples: forward 2*5*(12+6), weight gradients the same, input gradient of
    # the second layer only 2*5*6
    assert training_flops([4, 3, 2], 5) == 2 * 5 * (2 * (12 + 6) + 6)


def test_bench_runs_a_configuration_and_writes_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    code = main(["bench", "--only", "predict-1,lessons", "--repeats", "1", "--libraries", "nnet",
                 "--no-memory", "--quiet", "--json", str(out)])
    assert code == 0
    table = capsys.readouterr().out
    assert "[784, 30, 10] sigmoid, SGD, batch 10" in table and "inference, batch 1" in table
    report = json.loads(out.read_text())
    assert [entry["config"] for entry in report["results"]] == ["predict-1", "lessons"]
    lessons = report["results"][1]["libraries"]["nnet"]
    assert lessons["seconds_per_epoch"] > 0 and 0 < lessons["gemm_percent"]


def test_bench_refuses_unknown_names(capsys):
    assert main(["bench", "--only", "huge"]) == 1
    assert "unknown configuration huge; choose from lessons" in capsys.readouterr().err
    with pytest.raises(KeyError):
        bench.CONFIGS["huge"]


# -- the convolutional networks -------------------------------------------------------------------


def test_conv_products_are_the_receptive_fields_times_the_filters():
    from nnet.bench import conv

    network = conv.network("conv20x5,maxpool2,conv40x5,maxpool2,100")
    step = conv.products(network, 64)
    assert step == [(64 * 24 * 24, 25, 20), (64 * 8 * 8, 500, 40), (64, 640, 100), (64, 100, 10)]
    sizes = [m * k * n for m, k, n in step]
    assert conv.flops(step, 2) == 2 * 2 * (2 * sum(sizes) + sum(sizes[1:]))
    assert conv.flops([(5, 4, 3), (5, 3, 2)]) == training_flops([4, 3, 2], 5)  # a dense step, as before


@pytest.mark.parametrize("name", ["nielsen-conv", "conv-32-64"])
def test_the_pytorch_twin_of_a_conv_config_computes_what_nnet_does(name):
    torch = pytest.importorskip("torch")
    import numpy as np

    from nnet.bench import common, conv, runners

    config = bench.CONFIGS[name]
    network = runners.reference(config)
    model = conv.torch_model(network, common.weights_of(network), torch)
    x = np.random.default_rng(0).random((3, 1, 28, 28)).astype(np.float32)
    with torch.no_grad():
        logits = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(torch.softmax(torch.from_numpy(logits), 1).numpy(), network.forward(x), rtol=1e-4, atol=1e-6)


def test_bench_runs_a_conv_configuration_beside_pytorch(tmp_path, capsys, monkeypatch):
    pytest.importorskip("torch")
    monkeypatch.setattr(bench.CONFIGS["nielsen-conv"], "samples", 256)  # a few steps: a run, not a measurement
    out = tmp_path / "bench.json"
    assert main(["bench", "--only", "nielsen-conv", "--repeats", "1", "--libraries", "nnet,pytorch", "--no-memory",
                 "--quiet", "--json", str(out)]) == 0
    assert "Nielsen's conv 20-40 5x5, FC 100" in capsys.readouterr().out
    rows = json.loads(out.read_text())["results"][0]["libraries"]
    assert rows["nnet"]["vs_pytorch"] > 0 and rows["nnet"]["gemm_percent"] > 0 and rows["pytorch"]["gflops"] > 0


def test_the_race_to_99_runs_both_libraries_on_the_presets_settings(monkeypatch):
    pytest.importorskip("torch")
    import nnet
    from nnet import runs
    from nnet.bench import conv

    monkeypatch.setitem(runs.PRESETS, "conv", {**runs.PRESETS["conv"], "epochs": 2})
    (x, y), (x_test, y_test) = nnet.datasets.load_mnist()
    report = conv.run_conv_99(["nnet", "pytorch"], ((x[:640], y[:640]), (x_test[:200], y_test[:200])), lambda text: None)
    assert report["settings"]["augment"]["rotation"] == 10.0
    for library in ("nnet", "pytorch"):
        row = report["seconds_to_99"][library]
        assert row["epochs"] == 2 and not row["reached"] and row["seconds"] > 0
        assert 0.3 < row["test_accuracy"] < 0.99  # two epochs of 640 images: learning, not there
    assert "until 99% test accuracy:" in bench.format_table({"results": [report]})
