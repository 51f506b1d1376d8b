"""What a network accepts: its sizes, its inputs x and its targets y, checked with errors that
say what was expected, what came and where (the row, the column, the layer).

    x : (n, n_inputs) floats, or uint8 pixels (kept as uint8 here; the network scales them
        to [0, 1]); (n_inputs,) is one sample and (n, 28, 28) is flattened to (n, 784).
    y : int labels (n,) in 0 .. k-1, or targets (n, k): one-hot rows, or for cross-entropy
        probabilities (rows summing to 1 after a softmax output).
"""

from __future__ import annotations

import numpy as np


def checked_sizes(sizes) -> list[int]:
    """The layer sizes, input first, as a list of positive ints (at least two of them)."""
    try:
        sizes = list(sizes)
    except TypeError:
        raise ValueError(f"sizes must be a list of layer sizes such as [784, 30, 10]; got {sizes!r}") from None
    if len(sizes) < 2:
        raise ValueError(
            f"a network needs at least two sizes (inputs and outputs), such as [784, 30, 10]; got {sizes}"
        )
    for index, size in enumerate(sizes):
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
            raise ValueError(f"layer sizes must be positive integers; got {size!r} at position {index} of {sizes}")
    return [int(size) for size in sizes]


def checked_inputs(x, dtype: np.dtype, first_layer: str, n_inputs: int) -> np.ndarray:
    """x as a C-contiguous (n, n_inputs) array: uint8 pixels as they are, anything numeric in
    ``dtype``. ``first_layer`` names the layer that reads x, for the width error."""
    x = np.asarray(x)
    if x.dtype == np.uint8:
        x = np.ascontiguousarray(x)
    elif x.dtype.kind in "fiu" and x.dtype != np.bool_:
        x = np.ascontiguousarray(x, dtype=dtype)
    else:
        raise ValueError(f"x must hold numbers (floats, or uint8 pixels); got dtype {x.dtype}")
    if x.ndim == 0 or len(x) == 0:
        raise ValueError(f"x has no samples: got an array of shape {x.shape}")
    if x.ndim == 1:
        x = x.reshape(1, -1)
    elif x.ndim > 2:
        x = x.reshape(len(x), -1)
    if x.shape[1] != n_inputs:
        raise ValueError(f"{first_layer} expects inputs of width {n_inputs}; got x of shape {x.shape}")
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        row, column = np.argwhere(~np.isfinite(x))[0]
        raise ValueError(f"x must be finite; found {x[row, column]} at row {row}, column {column}")
    return x


def checked_targets(y, n: int, k: int, dtype: np.dtype, probabilities: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(targets, labels)`` for y: targets (n, k) in ``dtype`` (one-hot rows for int labels),
    labels int64 (n,), the output each sample should light up.

    A network with one output (k = 1) takes labels 0 or 1. ``probabilities`` asks for
    cross-entropy targets: ``"values"`` in [0, 1], ``"rows"`` also summing to 1 (after softmax,
    where the fused error δ = a - y holds only then).
    """
    y = np.asarray(y)
    if y.ndim == 1 and y.dtype.kind in "iub":
        if len(y) != n:
            raise ValueError(f"y has {len(y)} labels but x has {n} samples")
        labels = y.astype(np.int64)
        top = 1 if k == 1 else k - 1
        bad = np.flatnonzero((labels < 0) | (labels > top))
        if bad.size:
            raise ValueError(
                f"labels must be integers in 0..{top} for a network with {k} output "
                f"neuron{'s' if k > 1 else ''}; got {labels[bad[0]]} at row {bad[0]}"
            )
        if k == 1:
            return labels.astype(dtype).reshape(-1, 1), labels
        targets = np.zeros((n, k), dtype)
        targets[np.arange(n), labels] = 1.0
        return targets, labels
    if y.ndim == 1 and y.dtype.kind == "f" and k == 1:
        y = y.reshape(-1, 1)
    if y.ndim != 2 or y.shape[1] != k or y.dtype.kind not in "fiub":
        raise ValueError(
            f"y must be int labels of shape ({n},) or targets of shape ({n}, {k}); "
            f"got shape {y.shape}, dtype {y.dtype}"
        )
    if len(y) != n:
        raise ValueError(f"y has {len(y)} rows but x has {n} samples")
    targets = np.ascontiguousarray(y, dtype=dtype)
    if not np.isfinite(targets).all():
        row = np.argwhere(~np.isfinite(targets))[0][0]
        raise ValueError(f"y must be finite; found a non-finite target at row {row}")
    if probabilities:
        _check_probabilities(targets, rows=probabilities == "rows")
    labels = (targets[:, 0] > 0.5).astype(np.int64) if k == 1 else targets.argmax(axis=1)
    return targets, labels


def _check_probabilities(targets: np.ndarray, rows: bool) -> None:
    outside = np.flatnonzero(((targets < 0) | (targets > 1)).any(axis=1))
    if outside.size:
        raise ValueError(
            f"cross-entropy targets must be probabilities in [0, 1]; row {outside[0]} is "
            f"{targets[outside[0]].tolist()}"
        )
    if rows:
        sums = targets.sum(axis=1)
        off = np.flatnonzero(np.abs(sums - 1.0) > 1e-4)
        if off.size:
            raise ValueError(
                f"targets for a softmax output must be one-hot or probability rows summing "
                f"to 1; row {off[0]} sums to {sums[off[0]]:.6g}"
            )
