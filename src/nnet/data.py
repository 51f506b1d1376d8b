"""The data path: what a network takes in and gives out, checked in one place.

Everything that reaches a network goes through here, whichever door it came by (``forward``,
``predict``, ``evaluate``, ``backprop``, ``fit``)::

    x : (n, *input_shape) or (n, n_inputs): floats, or uint8 pixels. uint8 stays uint8 in memory
        and is scaled to [0, 1] (÷ 255) a batch at a time, by :func:`scaled`; one sample may come
        as (n_inputs,), and 28 x 28 images are flattened for a network that takes 784 inputs.
    y : int labels (n,) in 0 .. k-1, one-hot encoded here; or targets (n, k): one-hot rows, or for
        cross-entropy probabilities (rows summing to 1 after a softmax output).

and what comes out is read here too, by the network's task:

- ``"classification"``: the answer is the brightest output neuron. A network with a single
  output neuron (a sigmoid saying yes or no) is the one special case, and this module owns it:
  two answers, 0 and 1; the answer is 1 where the neuron's activation exceeds 0.5; its targets
  are the labels themselves.
- ``"regression"``: the outputs are the answer, values, one per output neuron; y is numbers
  (n,) or (n, k), and nothing is thresholded or counted as right or wrong.

The task cannot be told from the cost (the lessons' classifier uses the quadratic cost, as
regression does), so a network says it (:func:`task_for`), and a model file keeps it.

Rows may weigh differently (scikit-learn's ``sample_weight``): ``weights`` (n,), finite, >= 0,
not all 0, travel with a training set into each minibatch, and the cost takes the weighted mean.

:class:`Examples` holds a training set checked once, and gathers its minibatches into
preallocated arrays (the training loop's workspace); :func:`split_validation` is the one rule
for holding rows out as validation data (at random from a seed, stratified by class).
"""

from __future__ import annotations

import numbers

import numpy as np

#: uint8 pixels are multiplied by this: 0 .. 255 becomes 0 .. 1.
PIXEL_SCALE = 1.0 / 255.0

#: What a network's outputs mean: classes (the brightest neuron) or values.
TASKS = ("classification", "regression")


def task_for(task: str | None, output: str) -> str:
    """The task of a network whose output activation is ``output``: ``task`` itself if given
    (one of TASKS), else ``"regression"`` for an identity output (values of any size) and
    ``"classification"`` for any other."""
    if task is None:
        return "regression" if output == "identity" else "classification"
    if task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(TASKS)} (or None: from the output activation); got {task!r}")
    return task


# -- x: the inputs -----------------------------------------------------------------------------


def as_inputs(x, input_shape: tuple[int, ...], dtype: np.dtype, reader) -> np.ndarray:
    """x as a C-contiguous array of shape (n, *input_shape): uint8 pixels kept as they are,
    other numbers in ``dtype``. ``reader()`` names the layer that reads x, for the shape error.

    Raises ValueError naming the problem: the wrong size (with the layer), NaN or infinity (with
    the row and column), a dtype that is not numeric, no samples.
    """
    if (  # the common case, checked in as few steps as possible: a float batch ready to use
        type(x) is np.ndarray
        and x.dtype == dtype
        and x.shape[1:] == input_shape
        and len(x)
        and x.flags.c_contiguous
        and np.isfinite(x).all()
    ):
        return x
    x = np.asarray(x)
    if x.dtype == np.uint8:
        x = np.ascontiguousarray(x)
    elif x.dtype.kind in "fiu":
        x = np.ascontiguousarray(x, dtype=dtype)
    else:
        raise ValueError(f"x must hold numbers (floats, or uint8 pixels); got dtype {x.dtype}")
    if x.ndim == 0 or len(x) == 0:
        raise ValueError(f"x has no samples: got an array of shape {x.shape}")
    size = int(np.prod(input_shape))
    if x.ndim == 1:  # one sample
        x = x.reshape(1, -1)
    if x.shape[1:] != input_shape and int(np.prod(x.shape[1:])) == size:
        x = x.reshape(len(x), *input_shape)  # (n, 28, 28) images for 784 inputs, and the like
    if x.shape[1:] != input_shape:
        wanted = size if len(input_shape) == 1 else "x".join(map(str, input_shape))
        raise ValueError(f"{reader()} expects inputs of width {wanted}; got x of shape {x.shape}")
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        row, *position = np.argwhere(~np.isfinite(x.reshape(len(x), -1)))[0]
        raise ValueError(f"x must be finite; found {x.reshape(len(x), -1)[row, position[0]]} at row {row}, column {position[0]}")
    return x


def scaled(x: np.ndarray, dtype: np.dtype, out: np.ndarray | None = None) -> np.ndarray:
    """Checked inputs as floats: uint8 pixels times PIXEL_SCALE (into ``out`` if given), floats
    as they are."""
    if x.dtype == np.uint8:
        return np.multiply(x, dtype.type(PIXEL_SCALE), out=out, dtype=dtype)
    if out is not None:
        np.copyto(out, x)
        return out
    return x


# -- y: the targets ----------------------------------------------------------------------------


def target_rule(cost: str, output: str) -> str | None:
    """What targets a cost needs of its output layer: ``"rows"`` of probabilities summing to 1
    (cross-entropy after softmax, where the fused error δ = a - y holds only then), ``"values"``
    in [0, 1] (cross-entropy after sigmoid), or None (any finite numbers)."""
    if cost != "cross_entropy":
        return None
    return "rows" if output == "softmax" else "values"


def as_targets(y, n: int, n_outputs: int, dtype: np.dtype, rule: str | None = None,
               task: str = "classification") -> tuple[np.ndarray, np.ndarray | None]:
    """``(targets, labels)`` for y: targets (n, n_outputs) in ``dtype`` (one-hot rows for int
    labels), labels int64 (n,), the answer each sample should give (None for regression).
    ``rule`` is :func:`target_rule`'s."""
    y = np.asarray(y)
    k = n_outputs
    if task == "regression":
        return _values(y, n, k, dtype, rule), None
    if y.ndim == 1 and y.dtype.kind in "iub":
        if len(y) != n:
            raise ValueError(f"y has {len(y)} labels but x has {n} samples")
        labels = y.astype(np.int64)
        top = n_answers(k) - 1
        bad = np.flatnonzero((labels < 0) | (labels > top))
        if bad.size:
            raise ValueError(
                f"labels must be integers in 0..{top} for a network with {k} output "
                f"neuron{'s' if k > 1 else ''}; got {labels[bad[0]]} at row {bad[0]}"
            )
        if k == 1:  # the single output neuron's target is the label itself
            return labels.astype(dtype).reshape(-1, 1), labels
        targets = np.zeros((n, k), dtype)
        targets[np.arange(n), labels] = 1.0
        return targets, labels
    if y.ndim == 1 and y.dtype.kind == "f" and k == 1:
        y = y.reshape(-1, 1)
    if y.ndim != 2 or y.shape[1] != k or y.dtype.kind not in "fiub":
        raise ValueError(
            f"y must be int labels of shape ({n},) or targets of shape ({n}, {k}); got shape {y.shape}, dtype {y.dtype}"
        )
    targets = _target_rows(y, n, dtype, rule)
    return targets, answers(targets)


def _values(y: np.ndarray, n: int, k: int, dtype: np.dtype, rule: str | None) -> np.ndarray:
    """A regression network's targets: numbers (n,) for one output, or (n, k)."""
    if y.dtype.kind not in "fiub":
        raise ValueError(f"a regression network's y must hold numbers; got dtype {y.dtype}")
    if y.ndim == 1 and k == 1:
        y = y.reshape(-1, 1)
    if y.ndim != 2 or y.shape[1] != k:
        wanted = f"({n},) or ({n}, 1)" if k == 1 else f"({n}, {k})"
        raise ValueError(f"y must be target values of shape {wanted} for a network with {k} output{'s' if k > 1 else ''}; "
                         f"got shape {y.shape}")
    return _target_rows(y, n, dtype, rule)


def _target_rows(y: np.ndarray, n: int, dtype: np.dtype, rule: str | None) -> np.ndarray:
    """Target rows (n, k) as floats in ``dtype``, checked: one per sample, finite, and
    probabilities where ``rule`` (:func:`target_rule`) asks for them."""
    if len(y) != n:
        raise ValueError(f"y has {len(y)} rows but x has {n} samples")
    targets = np.ascontiguousarray(y, dtype=dtype)
    if not np.isfinite(targets).all():
        row = np.argwhere(~np.isfinite(targets))[0][0]
        raise ValueError(f"y must be finite; found a non-finite target at row {row}: {targets[row].tolist()}")
    if rule:
        _check_probabilities(targets, rows=rule == "rows")
    return targets


def as_weights(sample_weight, n: int, dtype: np.dtype) -> np.ndarray | None:
    """Row weights (n,) in ``dtype``, or None for none given. Raises ValueError unless they
    are n finite numbers >= 0, not all 0."""
    if sample_weight is None:
        return None
    weights = np.asarray(sample_weight)
    if weights.ndim == 0 and weights.dtype.kind in "fiu":
        weights = np.full(n, weights)
    if weights.shape != (n,) or weights.dtype.kind not in "fiub":
        raise ValueError(f"sample_weight must be {n} numbers, one per row; got {weights.dtype} of shape {weights.shape}")
    weights = np.ascontiguousarray(weights, dtype=dtype)
    bad = np.flatnonzero(~np.isfinite(weights) | (weights < 0))
    if bad.size:
        raise ValueError(f"sample_weight must be finite and >= 0; got {weights[bad[0]]} at row {bad[0]}")
    if not weights.any():
        raise ValueError("sample_weight is 0 for every row: nothing to learn from")
    return weights


def _check_probabilities(targets: np.ndarray, rows: bool) -> None:
    outside = np.flatnonzero(((targets < 0) | (targets > 1)).any(axis=1))
    if outside.size:
        raise ValueError(
            f"cross-entropy targets must be probabilities in [0, 1]; row {outside[0]} is {targets[outside[0]].tolist()}"
        )
    if rows:
        sums = targets.sum(axis=1)
        off = np.flatnonzero(np.abs(sums - 1.0) > 1e-4)
        if off.size:
            raise ValueError(
                f"targets for a softmax output must be one-hot or probability rows summing "
                f"to 1; row {off[0]} sums to {sums[off[0]]:.6g}"
            )


# -- out: the answers --------------------------------------------------------------------------


def n_answers(n_outputs: int) -> int:
    """How many different answers a network with ``n_outputs`` output neurons gives: one per
    neuron, and two (0 and 1) for a single neuron."""
    return max(n_outputs, 2)


def answers(output: np.ndarray) -> np.ndarray:
    """The answer in each row of a classifier's output activations (n, k), int64 (n,): the
    index of the brightest neuron, or, for a single output neuron, 1 where it exceeds 0.5,
    else 0."""
    if output.shape[1] == 1:
        return (output[:, 0] > 0.5).astype(np.int64)
    return output.argmax(axis=1)


def answer_scores(output: np.ndarray) -> np.ndarray:
    """One score per answer, (n, n_answers): the output activations as they are, or, for a
    single output neuron a, the pair (1 - a, a) for the answers 0 and 1."""
    if output.shape[1] == 1:
        return np.hstack([1.0 - output, output])
    return output


def predictions(output: np.ndarray, task: str) -> np.ndarray:
    """What ``predict`` returns for output activations (n, k): the answers (int64 (n,)) of a
    classifier; a regression network's values, (n,) for one output, else (n, k)."""
    if task == "regression":
        return output[:, 0].copy() if output.shape[1] == 1 else output
    return answers(output)


def count_correct(output: np.ndarray, labels: np.ndarray) -> int:
    """How many rows of ``output`` (n, k) answer their label (n,)."""
    return int(np.count_nonzero(answers(output) == labels))


# -- a training set, and its minibatches -------------------------------------------------------


class Examples:
    """A training set checked once: x (uint8 pixels or floats), targets (one-hot rows for
    labels), labels (None for regression) and row weights (None: every row counts once).

    ``gather(rows, x_out, targets_out, labels_out, weights_out)`` copies the given rows of each
    into the given arrays (a minibatch in the training workspace), scaling pixels on the way, or
    with ``augment`` distorting them on the way (see :mod:`nnet.minibatches`).
    ``count_correct(output, labels)`` counts a minibatch's right answers (0 for regression, where
    ``classifies`` is False and there is no accuracy).
    """

    def __init__(self, x: np.ndarray, targets: np.ndarray, labels: np.ndarray | None, dtype: np.dtype,
                 weights: np.ndarray | None = None):
        self.x, self.targets, self.labels, self.weights = x, targets, labels, weights
        self.classifies = labels is not None
        self.pixels = x.dtype == np.uint8
        self.scale = dtype.type(PIXEL_SCALE)
        self._raw = None

    def __len__(self) -> int:
        return len(self.x)

    def count_correct(self, output: np.ndarray, labels: np.ndarray) -> int:
        return count_correct(output, labels) if self.classifies else 0

    def gather(self, rows: np.ndarray, x_out: np.ndarray, targets_out: np.ndarray, labels_out: np.ndarray,
               weights_out: np.ndarray | None = None, augment=None) -> None:
        """``augment(raw, x_out, scale)``, if given, writes the rows' inputs ``raw`` (as stored)
        into ``x_out`` moved and multiplied by ``scale`` (pixels' PIXEL_SCALE, floats' 1)."""
        n = len(rows)
        # ndarray.take straight into the buffers ("clip": the rows are valid, and it spares
        # NumPy a bounds-checked copy)
        if self.pixels or augment is not None:
            if self._raw is None or len(self._raw) < n:
                self._raw = np.empty((n, *self.x.shape[1:]), self.x.dtype)
            raw = self.x.take(rows, axis=0, out=self._raw[:n], mode="clip")
            if augment is not None:
                augment(raw, x_out, self.scale if self.pixels else 1.0)
            else:
                np.multiply(raw, self.scale, out=x_out)
        else:
            self.x.take(rows, axis=0, out=x_out, mode="clip")
        self.targets.take(rows, axis=0, out=targets_out, mode="clip")
        if self.labels is not None:
            self.labels.take(rows, out=labels_out, mode="clip")
        if self.weights is not None:
            self.weights.take(rows, out=weights_out, mode="clip")


def split_validation(x, y, validation: int | float, *, seed: int = 0, task: str = "classification",
                     name: str = "validation_split") -> tuple[tuple, tuple]:
    """Hold rows of ``x`` and ``y`` out as validation data: the one rule every door uses.

    The rows are drawn at random from ``seed`` (:func:`split_generator`), and for classification
    stratified by class (the label, or the brightest target of one-hot rows): each class is held
    out in its share of the rows, so a class-sorted file still validates on every class.
    ``validation`` is a count of rows in [1, n - 1], or a fraction in (0, 1) of them (rounded).

    Returns ``((x_train, y_train), (x_validation, y_validation))``, copies, each part's rows in
    their order in x. Raises ValueError when ``validation`` is neither, or leaves either part
    empty (the messages call it ``name``).
    """
    n = len(x)
    if len(y) != n:
        raise ValueError(f"x has {n} rows but y has {len(y)}; expected one label per row")
    labels = None
    if task_for(task, "softmax") == "classification":  # task_for checks the name
        y_array = np.asarray(y)
        labels = y_array if y_array.ndim == 1 else answers(y_array.reshape(n, -1))  # one sigmoid output: > 0.5
    kept, held = shuffled_split(n, validation, split_generator(seed), labels, name=name)
    return (x[kept], y[kept]), (x[held], y[held])


#: The stream of a seed that :func:`split_generator` draws from, apart from the initial weights'
#: (the seed itself) and the epochs' shuffles (``[seed, epoch]``).
SPLIT_STREAM = 1


def split_generator(seed: int) -> np.random.Generator:
    """The generator that splits data for a run seeded with ``seed``: its own stream, so that the
    split does not follow the draws of the initial weights or of the epochs."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(SPLIT_STREAM,)))


def validation_count(validation, n: int | None, name: str = "validation_split") -> int:
    """How many of ``n`` rows ``validation`` holds out (``n=None``: check its form only);
    ``name`` is what the error messages call it."""
    counts = "an int >= 1" if n is None else f"an int in [1, {n - 1}]"
    rows = "rows" if n is None else f"the {n} rows"
    rule = f"{name} must be {counts} (a count of {rows}) or a float in (0, 1) (a fraction of them)"
    if isinstance(validation, bool) or not isinstance(validation, numbers.Real):
        raise ValueError(f"{rule}; got {validation!r}")
    if isinstance(validation, numbers.Integral):
        count = int(validation)
        if count < 1 or (n is not None and count > n - 1):
            raise ValueError(f"{rule}; got {count}")
        return count
    fraction = float(validation)
    if not 0.0 < fraction < 1.0:  # also refuses NaN
        raise ValueError(f"{rule}; got {fraction}")
    if n is None:
        return 0
    count = round(fraction * n)
    if not 1 <= count <= n - 1:
        raise ValueError(f"{rule}; got {fraction}, which leaves {count} of {n} for validation")
    return count


def shuffled_split(n: int, validation: int | float, rng: np.random.Generator, labels: np.ndarray | None = None,
                   *, name: str = "validation_split") -> tuple[np.ndarray, np.ndarray]:
    """Hold out rows at random: ``(kept, held_out)``, two sorted int64 arrays of row indices.

    ``validation`` counts the held-out rows as for :func:`validation_count`. Given ``labels``
    (n,) (numbers or strings), the split is stratified: each class is held out in its share of
    the rows, rounded down, and the rows still to place go one each to the classes with the
    largest remainders (ties broken at random), so the counts add up. One permutation of all the
    rows, grouped by class, picks each class's rows: O(n log n) for any number of classes.
    """
    count = validation_count(validation, n, name)
    order = rng.permutation(n)
    if labels is None:
        held = order[:count]
    else:
        classes, inverse = np.unique(np.asarray(labels), return_inverse=True)
        inverse = inverse.reshape(-1)
        sizes = np.bincount(inverse, minlength=len(classes))
        exact = sizes * (count / n)
        shares = np.floor(exact).astype(np.int64)
        order_of_remainders = np.lexsort((rng.random(len(classes)), -(exact - shares)))
        shares[order_of_remainders[: count - int(shares.sum())]] += 1
        grouped = order[np.argsort(inverse[order], kind="stable")]  # by class, shuffled within each
        rank = np.arange(n) - np.repeat(np.cumsum(sizes) - sizes, sizes)  # the place within its class
        held = grouped[rank < np.repeat(shares, sizes)]
    mask = np.zeros(n, bool)
    mask[held] = True
    return np.flatnonzero(~mask), np.flatnonzero(mask)
