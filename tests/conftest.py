"""Shared fixtures."""

import pytest

import nnet


@pytest.fixture(scope="session")
def default_model(tmp_path_factory):
    """The model `nnet train` makes with no options (784-128-10 on the shipped MNIST), trained
    once per test session by the command itself (a few seconds)."""
    from nnet.cli import main

    path = tmp_path_factory.mktemp("default-model") / "model.safetensors"
    assert main(["train", "--quiet", "--out", str(path)]) == 0
    return nnet.load(path)
