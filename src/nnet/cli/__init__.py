"""The ``nnet`` command: train, evaluate, predict, look inside, manage datasets.

Each command is one module of this package, listed in ``COMMANDS``. A command module has:

    HELP = "one line for `nnet --help`"
    EXAMPLES = '''examples shown under `nnet <command> --help`'''
    def add_arguments(parser: argparse.ArgumentParser) -> None: ...
    def run(args: argparse.Namespace) -> int: ...      # the exit status

and may set ``DESCRIPTION`` (a longer text for its ``--help``). Adding a command is one line in
``COMMANDS``; a listed module that is not installed yet is left out of the parser.

Exit status: 0 success, 1 an expected failure (one line ``nnet: error: ...`` on stderr, no
traceback), 2 bad usage (argparse's own), 130 interrupted with Ctrl-C.
"""

from __future__ import annotations

from .. import _program

_program.prepare()  # before anything loads NumPy: the nnet program's own BLAS settings

import argparse  # noqa: E402 - after the program's settings
import importlib  # noqa: E402
import sys  # noqa: E402

from ._term import CLIError, error  # noqa: E402

#: The commands, in the order ``nnet --help`` lists them: module names in this package.
COMMANDS = (
    "train",
    "evaluate",
    "predict",
    "info",
    "export",
    "show",
    "data",
    "lab",
    "bench",
)

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

DESCRIPTION = """\
nnet: a neural network you can read, run fast, and look inside.

Train the lessons' feed-forward network on the MNIST digits (they ship with nnet), or on your own
table (a CSV: classification or regression), save it as one .safetensors file, and use it:
evaluate, predict your own images or rows, export it to ONNX, draw what it learned."""

EXAMPLES = """\
examples:
  nnet train                                  # 784-128-10 on MNIST, ~98% in seconds
  nnet train --preset lesson                  # the lessons' 784-30-10 sigmoid network
  nnet evaluate model.safetensors             # accuracy, per-class scores, confusion matrix
  nnet predict model.safetensors digit.png    # what digit is this?
  nnet info model.safetensors                 # layers, settings, scores
  nnet train --dataset iris.csv --target species   # any table: a CSV and the column to predict
  nnet predict iris.safetensors flowers.csv --out answers.csv
  nnet export model.safetensors --out model.onnx
  nnet show model.safetensors weights --out weights.png
  nnet data list                              # the datasets nnet knows

`nnet COMMAND --help` shows each command's options and examples."""


def _version() -> str:
    from nnet import __version__

    return __version__


def command_modules() -> dict:
    """The command modules, by command name, in ``COMMANDS`` order.

    A listed module that does not exist is left out. One that fails to import (an optional
    dependency missing) becomes a stand-in that says so when run, so the other commands work.
    """
    modules = {}
    for name in COMMANDS:
        qualified = f"{__name__}.{name}"
        try:
            modules[name] = importlib.import_module(qualified)
        except ModuleNotFoundError as missing:
            if missing.name == qualified:
                continue
            modules[name] = _Unavailable(name, missing)
        except ImportError as failure:
            modules[name] = _Unavailable(name, failure)
    return modules


class _Unavailable:
    """A command whose module cannot be imported: it takes any arguments and reports why."""

    EXAMPLES = ""

    def __init__(self, name: str, failure: ImportError):
        self.name, self.failure = name, failure
        self.HELP = f"(unavailable: {failure})"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)

    def run(self, args) -> int:
        raise CLIError(f"`nnet {self.name}` is unavailable: {self.failure}")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``nnet`` and all its commands."""
    parser = argparse.ArgumentParser(
        prog="nnet",
        description=DESCRIPTION,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"nnet {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    commands.required = True
    for name, module in command_modules().items():
        summary = getattr(module, "HELP", None)
        sub = commands.add_parser(
            name,
            help=summary and summary.replace("%", "%%"),  # argparse %-formats help strings
            description=getattr(module, "DESCRIPTION", summary),
            epilog=getattr(module, "EXAMPLES", None),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(sub)
        sub.set_defaults(_run=module.run, _parser=sub)
    return parser


def main(argv=None) -> int:
    """Run ``nnet`` with ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    try:
        args, unknown = parser.parse_known_args(argv)
        if unknown:  # reported with the command's own usage line, not nnet's
            getattr(args, "_parser", parser).error(f"unrecognized arguments: {' '.join(unknown)}")
    except SystemExit as stop:  # --help, --version (0) or bad usage (2)
        return stop.code if isinstance(stop.code, int) else EXIT_USAGE
    args.argv = ["nnet", *argv]
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print(file=sys.stderr)
        error("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `nnet ... | head`: the reader left; say nothing more
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILURE
    except Exception as failure:  # noqa: BLE001 - only the expected kinds, the rest re-raised
        message = expected_error(failure)
        if message is None:
            raise
        error(message)
        return EXIT_FAILURE


def expected_error(failure: BaseException) -> str | None:
    """The one-line message for an expected failure, or None for a bug (shown as a traceback)."""
    from nnet.datasets import DatasetError
    from nnet.images import ImageError
    from nnet.serialization import ModelFileError
    from nnet.training import TrainingError

    if isinstance(failure, (CLIError, ModelFileError, ImageError, DatasetError, TrainingError)):
        return str(failure)
    if isinstance(failure, OSError):  # a missing file, no permission, a full disk ...
        if failure.filename and failure.strerror:
            return f"{failure.filename}: {failure.strerror}"
        return str(failure) or type(failure).__name__
    if isinstance(failure, ImportError) and "pip install" in str(failure):
        return str(failure)  # an optional dependency, with how to install it
    return None
