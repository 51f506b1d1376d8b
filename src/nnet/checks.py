"""Checks of the numbers a user gives: one validator per kind, one message style.

Every setting of nnet (a learning rate, a batch size, a dropout rate ...) is checked by one of
these, wherever it comes from (the Python API, ``nnet train``'s options, the lab's JSON), so a
bad value gets the same sentence everywhere, in scikit-learn's manner::

    momentum must be a finite number in the range [0.0, 1.0); got 1.5

They raise ValueError (TypeError for a value that is not a number at all) and return the value
as a plain Python float or int.
"""

from __future__ import annotations

import math
import numbers


def number(name: str, value, *, minimum=None, maximum=None, open_min=False, open_max=False) -> float:
    """``value`` as a float, if it is a finite number within the bounds (open or closed)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number; got {value!r}")
    value = float(value)
    ok = math.isfinite(value)
    if minimum is not None:
        ok = ok and (value > minimum if open_min else value >= minimum)
    if maximum is not None:
        ok = ok and (value < maximum if open_max else value <= maximum)
    if not ok:
        low = "(" if open_min or minimum is None else "["
        high = ")" if open_max or maximum is None else "]"
        low_value = "-inf" if minimum is None else float(minimum)
        high_value = "inf" if maximum is None else float(maximum)
        raise ValueError(f"{name} must be a finite number in the range {low}{low_value}, {high_value}{high}; got {value!r}")
    return value


def integer(name: str, value, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """``value`` as an int, if it is a whole number (not a bool, not a float) within the bounds."""
    if maximum is not None:
        wanted = f"an integer in {minimum}..{maximum}"
    elif minimum is None:
        wanted = "an integer"
    else:
        wanted = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or \
            (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ValueError(f"{name} must be {wanted}; got {value!r}")
    return int(value)


def positive_int(name: str, value) -> int:
    """``value`` as an int >= 1."""
    return integer(name, value, minimum=1)


def rate(name: str, value) -> float:
    """A probability of dropping something, in [0, 1): a dropout rate."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 <= value < 1.0:  # NaN too
        raise ValueError(f"{name} must be a number in [0, 1); got {value!r}")
    return float(value)


def choice(name: str, value, choices) -> str:
    """``value``, if it is one of ``choices`` (a name such as an activation's)."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"unknown {name} {value!r}; choose one of: {', '.join(choices)}")
    return value
