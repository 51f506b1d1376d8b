"""``nnet bench``: nnet's speed beside PyTorch and scikit-learn, measured side by side."""

from __future__ import annotations

from nnet import bench

from ._term import CLIError

HELP = "measure training and prediction speed beside PyTorch and scikit-learn"
DESCRIPTION = bench.__doc__
EXAMPLES = bench.EXAMPLES
add_arguments = bench.add_arguments


def run(args) -> int:
    try:
        return bench.run(args)
    except ValueError as problem:
        raise CLIError(str(problem)) from None
