"""Dropout as a layer of its own, for where no layer holds the rate: above all, the input.

While training, each neuron of the layer below is dropped (its activation set to 0) with
probability ``rate``, and the survivors are scaled by ``1 / (1 - rate)`` (inverted dropout: at
prediction time nothing changes). Everywhere else in nnet dropout is the rate of the layer it
acts on (:class:`nnet.Layer`); this layer is the same mask (:meth:`nnet.Layer._drop`) on a
layer that does nothing else.
"""

from __future__ import annotations

import numpy as np

from . import activations, checks
from .layers import Layer, described, float_dtype


class Dropout(Layer):
    """Dropout and nothing else: a layer whose neurons pass on what comes in, ``z = a = a_prev``,
    each dropped while training with probability ``rate`` (the survivors scaled by
    ``1 / (1 - rate)``). Everywhere else dropout is a rate of the layer it acts on; this layer is
    for where there is none, above all the input: ``Dropout(0.2, input_shape=(784,))`` first
    drops a fifth of the pixels of every image (Srivastava et al. 2014), a ``Dropout`` after a
    pooling layer drops its maps' neurons. No parameters; BP2 passes δ through the mask.

    Parameters
    ----------
    rate : float in [0, 1)
    input_shape : tuple of int, optional
        The shape of one sample, when the layer comes first; otherwise taken from below.
    dtype : optional
        float32 or float64; by default the layer below's.
    """

    kind = "dropout"
    activation = activations.get("identity")

    def __init__(self, rate: float, *, input_shape=None, dtype=None):
        super().__init__()
        self.dropout = checks.rate("dropout rate", rate)
        self.dtype = None if dtype is None else float_dtype(dtype)
        self.input_shape = self.output_shape = None
        if input_shape is not None:
            self.build(input_shape)

    def build(self, input_shape, dtype=None) -> None:
        """Take the shape of one sample of the layer below (and its dtype, when the layer was
        made without one: float32 otherwise)."""
        try:
            shape = tuple(int(size) for size in np.atleast_1d(input_shape))
        except (TypeError, ValueError):
            shape = ()
        if not shape or min(shape) < 1:
            raise ValueError(f"Dropout takes samples of a shape of positive sizes, such as (784,); got {input_shape!r}")
        self.input_shape = self.output_shape = shape
        if self.dtype is None:
            self.dtype = float_dtype(np.float32 if dtype is None else dtype)

    def weighted_input(self, a_prev, out=None, cache=None):
        """z = a_prev, copied into ``out`` when given."""
        if out is None:
            return a_prev
        np.copyto(out, a_prev)
        return out

    def backpropagate(self, delta, out=None, cache=None):
        """∂C/∂a_prev = δ: each neuron passes on its own input."""
        return self.weighted_input(delta, out)

    def describe(self) -> dict:
        shape = None if self.input_shape is None else list(self.input_shape)
        return {"kind": self.kind, "rate": self.dropout, "input_shape": shape, "output_shape": shape,
                "n_in": self.n_in if shape else None, "n_out": self.n_out if shape else None,
                "activation": self.activation.name, "dropout": self.dropout, "parameters": 0}

    @classmethod
    def from_description(cls, entry, input_shape, *, parameters=None, init="auto", rng=None, dtype=np.float32):
        given = described(cls, entry, required=("rate",), optional={})
        return cls(given["rate"], input_shape=input_shape, dtype=dtype)

    def __repr__(self) -> str:
        return f"Dropout({self.dropout}, input_shape={self.input_shape})"

