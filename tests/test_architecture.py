"""The shape of the package, held as a contract: every import points down the floors of
DESIGN.md (import-linter's layers contract, configured in pyproject.toml), and every module stays
small enough to read in one sitting."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "nnet"
#: No Python module of nnet is longer than this: one idea per module, read top to bottom.
MAX_LINES = 400


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """import-linter's lint-imports on the package under ``root/src``, with ``root``'s config."""
    pytest.importorskip("importlinter")
    script = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
    return subprocess.run(
        [sys.executable, "-c", script, "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root, capture_output=True, text=True, env={"PYTHONPATH": str(root / "src"), "PATH": ""}, timeout=120,
    )


def test_every_import_points_down_the_floors():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_an_upward_import_breaks_the_contract(tmp_path):
    """The contract can fail: the math floor importing the command line is caught."""
    shutil.copytree(PACKAGE, tmp_path / "src" / "nnet", ignore=shutil.ignore_patterns("__pycache__", "data"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    activations = tmp_path / "src" / "nnet" / "activations.py"
    activations.write_text(activations.read_text() + "\nfrom . import cli  # an arrow that runs back up\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "nnet.activations is not allowed to import nnet.cli" in result.stdout


def test_every_module_stands_on_a_floor():
    """A module left out of the contract could import anything: each one of nnet is on a floor."""
    tomllib = pytest.importorskip("tomllib")
    contract = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"][0]
    listed = {name.strip() for floor in contract["layers"] for name in floor.split("|")}
    modules = {f"nnet.{path.stem if path.is_file() else path.name}" for path in PACKAGE.iterdir()
               if (path.suffix == ".py" and path.stem != "__init__") or (path / "__init__.py").exists()}
    assert modules - listed == set(), "not on any floor of pyproject.toml's import contract"
    assert listed - modules == set(), "on a floor, but not a module of nnet"


def test_no_module_is_longer_than_one_sitting():
    lengths = {path.relative_to(PACKAGE.parent).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
               for path in PACKAGE.rglob("*.py")}
    assert len(lengths) > 20  # the package was found
    too_long = {name: lines for name, lines in lengths.items() if lines > MAX_LINES}
    assert not too_long, f"modules over {MAX_LINES} lines: {too_long}"
