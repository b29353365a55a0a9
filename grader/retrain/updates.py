"""Keras' optimizer update rules as compiled loops over the model's flat weights (numba).

NumPy needed a dozen passes over ~170k weights per step and the optimizer was a third of the
retrain. Here one loop adds the regularisers' gradient and applies the update. The weights come
in segments (a layer's kernel, its bias), each with its own L1 and L2 factors, and each segment
is a loop of its own over contiguous slices: that is what LLVM vectorises. Element by element
the arithmetic is Keras' in float32 and in Keras' order (no fast-math): Adam and SGD give what
NumPy gave, bit for bit. Only the penalty's sum is reassociated (it is reported, not trained on).

Numba caches the compiled loops on disk beside this file: compiled once per installation.
"""

from __future__ import annotations

import numba
import numpy as np

F32 = np.float32
_compile = numba.njit(cache=True, nogil=True, error_model="numpy")


@numba.njit(inline="always")
def _gradient(g, w, i, l1, twice_l2):
    """The loss's gradient plus the regularisers' (L1's first, as Keras adds them; a factor of 0
    adds nothing)."""
    return g[i] + l1 * np.sign(w[i]) + twice_l2 * w[i]


@numba.njit(cache=True, nogil=True, fastmath=True)
def penalty(w, bounds, l1, twice_l2) -> float:
    """The regularisers' share of the loss: the sum of l1 * |w| + l2 * w**2."""
    total = 0.0
    for s in range(bounds.size - 1):
        segment = w[bounds[s]:bounds[s + 1]]
        absolute = squares = 0.0  # loops over a slice, not array expressions: no temporaries
        if l1[s]:
            for i in range(segment.size):
                absolute += abs(segment[i])
        if twice_l2[s]:
            for i in range(segment.size):
                squares += segment[i] * segment[i]
        total += l1[s] * absolute + 0.5 * twice_l2[s] * squares
    return total


@_compile
def _adam(w, g, m, v, v_max, l1, twice_l2, alpha, one_minus_beta_1, one_minus_beta_2, epsilon):
    if not v_max.size:
        for i in range(w.size):
            gi = _gradient(g, w, i, l1, twice_l2)
            m[i] += (gi - m[i]) * one_minus_beta_1
            v[i] += (gi * gi - v[i]) * one_minus_beta_2
            w[i] -= (m[i] * alpha) / (np.sqrt(v[i]) + epsilon)
        return
    for i in range(w.size):
        gi = _gradient(g, w, i, l1, twice_l2)
        m[i] += (gi - m[i]) * one_minus_beta_1
        v[i] += (gi * gi - v[i]) * one_minus_beta_2
        v_max[i] = v_max[i] if v_max[i] > v[i] else v[i]
        w[i] -= (m[i] * alpha) / (np.sqrt(v_max[i]) + epsilon)


@_compile
def adam(w, g, bounds, l1, twice_l2, m, v, v_max, alpha, one_minus_beta_1, one_minus_beta_2,
         epsilon):
    """Keras' Adam (segment ``s`` is ``w[bounds[s]:bounds[s + 1]]``, regularised with ``l1[s]``
    and ``twice_l2[s] / 2``); ``alpha`` is the step's bias-corrected learning rate; ``v_max`` is empty
    unless amsgrad."""
    for s in range(bounds.size - 1):
        a, b = bounds[s], bounds[s + 1]
        _adam(w[a:b], g[a:b], m[a:b], v[a:b], v_max[a:b], l1[s],
              twice_l2[s], alpha, one_minus_beta_1, one_minus_beta_2, epsilon)


@_compile
def _sgd(w, g, velocity, l1, twice_l2, learning_rate, momentum, nesterov):
    if not velocity.size:
        for i in range(w.size):
            w[i] -= _gradient(g, w, i, l1, twice_l2) * learning_rate
        return
    for i in range(w.size):
        step = _gradient(g, w, i, l1, twice_l2) * learning_rate
        velocity[i] = velocity[i] * momentum - step
        w[i] += velocity[i] * momentum - step if nesterov else velocity[i]


@_compile
def sgd(w, g, bounds, l1, twice_l2, velocity, learning_rate, momentum, nesterov):
    """Keras' SGD; ``velocity`` is empty without momentum."""
    for s in range(bounds.size - 1):
        a, b = bounds[s], bounds[s + 1]
        _sgd(w[a:b], g[a:b], velocity[a:b], l1[s], twice_l2[s],
             learning_rate, momentum, nesterov)


@_compile
def _rmsprop(w, g, v, velocity, average, l1, twice_l2, learning_rate, rho, one_minus_rho,
             momentum, epsilon):
    for i in range(w.size):
        gi = _gradient(g, w, i, l1, twice_l2)
        v[i] = v[i] * rho + gi * gi * one_minus_rho
        denominator = v[i]
        if average.size:
            average[i] = average[i] * rho + one_minus_rho * gi
            denominator = denominator - average[i] * average[i]
        step = gi * learning_rate / np.sqrt(denominator + epsilon)
        if velocity.size:
            velocity[i] = velocity[i] * momentum + step
            w[i] -= velocity[i]
        else:
            w[i] -= step


@_compile
def rmsprop(w, g, bounds, l1, twice_l2, v, velocity, average, learning_rate, rho, one_minus_rho,
            momentum, epsilon):
    """Keras' RMSprop; ``velocity`` is empty without momentum, ``average`` unless centered."""
    for s in range(bounds.size - 1):
        a, b = bounds[s], bounds[s + 1]
        _rmsprop(w[a:b], g[a:b], v[a:b], velocity[a:b],
                 average[a:b], l1[s], twice_l2[s], learning_rate,
                 rho, one_minus_rho, momentum, epsilon)

