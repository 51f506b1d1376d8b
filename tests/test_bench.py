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
