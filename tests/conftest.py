"""Shared fixtures."""

import os

import pytest

import nnet


@pytest.fixture(scope="session", autouse=True)
def _an_empty_working_folder(tmp_path_factory):
    """The tests run in an empty folder of their own, not wherever pytest was started: what a
    command writes by default (model.safetensors) stays out of the checkout, and a model the
    README's first command left there cannot change what a test sees."""
    folder = tmp_path_factory.mktemp("cwd")
    before = os.getcwd()
    os.chdir(folder)
    yield folder
    os.chdir(before)


@pytest.fixture(scope="session")
def default_model(tmp_path_factory):
    """The model `nnet train` makes with no options (784-128-10 on the shipped MNIST), trained
    once per test session by the command itself (a few seconds)."""
    from nnet.cli import main

    path = tmp_path_factory.mktemp("default-model") / "model.safetensors"
    assert main(["train", "--quiet", "--out", str(path)]) == 0
    return nnet.load(path)
