"""The NumPy retrain's elementwise passes around ReLU and dropout, one compiled loop each (numba).

A step of the exercise's model made ~50 NumPy calls on arrays of 32 x 256 numbers or fewer; each
costs a few microseconds and a temporary array, as much as the arithmetic. These loops do what
those calls did, in the same float32 operations and the same order, so the numbers are NumPy's bit
for bit (``tests/test_updates.py`` compares them):

- ReLU forward: ``z += bias``, then ``maximum(z, 0)`` (NaN stays NaN, -0 becomes +0);
- dropout's scale: ``(draws < keep) / keep``, written over the draws;
- ReLU backward: the gradient times the dropout scale above the layer (if any), times
  ``z > 0``, and the bias gradient as ``sum(axis=0)`` adds rows: from +0, one row after the
  other. NumPy sums a single column pairwise instead, so callers keep NumPy for layers one unit
  wide.
"""

from __future__ import annotations

import numba
import numpy as np

F32 = np.float32
_compile = numba.njit(cache=True, nogil=True, error_model="numpy")


@_compile
def bias_relu(z, bias):
    """Add ``bias`` (empty: none) to ``z`` in place; return ``relu(z)``."""
    rows, units = z.shape
    if bias.size:
        for i in range(rows):
            for j in range(units):
                z[i, j] += bias[j]
    out = np.empty_like(z)
    for i in range(rows):
        for j in range(units):
            value = z[i, j]
            out[i, j] = value if value > 0 or value != value else F32(0)
    return out


@_compile
def keep_scale(draws, keep):
    """Dropout's multiplier from uniform ``draws`` (overwritten): ``1 / keep`` where a draw is
    below ``keep``, else 0."""
    flat = draws.reshape(-1)
    kept, dropped = F32(1) / keep, F32(0) / keep
    for i in range(flat.size):
        flat[i] = kept if flat[i] < keep else dropped
    return draws


@_compile
def relu_backward(gradient, z, scale, bias_gradient):
    """The gradient of a ReLU layer's ``z`` from that of its output, in place: times ``scale``
    (a dropout's above it; empty: none), times ``z > 0``; its column sums into ``bias_gradient``
    (empty: no bias)."""
    rows, units = gradient.shape
    if scale.size:
        for i in range(rows):
            for j in range(units):
                gradient[i, j] *= scale[i, j]
    for i in range(rows):
        for j in range(units):
            gradient[i, j] *= F32(1) if z[i, j] > 0 else F32(0)
    if bias_gradient.size:
        bias_gradient[:] = 0  # NumPy's sums start at +0: a column of -0 sums to +0
        for i in range(rows):
            for j in range(units):
                bias_gradient[j] += gradient[i, j]
    return gradient
