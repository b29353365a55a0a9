"""Keras' optimizer update rules as compiled loops over the model's flat weights (numba).

NumPy needed a dozen passes over ~170k weights per step and the optimizer was a third of the
retrain; here the regularisers' gradient is one loop and the update another, each few enough
arrays for LLVM to vectorise. Element by element the arithmetic is Keras' in float32 and in
Keras' order (no fast-math): Adam and SGD give NumPy's results bit for bit. Only the penalty's
sum is reassociated (it is reported, not trained on).

Numba caches the compiled loops on disk, so a worker compiles them once per installation.
"""

from __future__ import annotations

import numba
import numpy as np

F32 = np.float32
_compile = numba.njit(cache=True, nogil=True, error_model="numpy")


@_compile
def regularise(w, g, l1, twice_l2):
    """Add the regularisers' gradient to ``g``, L1's first as Keras adds them (each is a loop of
    its own: a loop over few arrays is one LLVM vectorises)."""
    if l1.size:
        for i in range(w.size):
            g[i] += l1[i] * np.sign(w[i])
    if twice_l2.size:
        for i in range(w.size):
            g[i] += twice_l2[i] * w[i]


@numba.njit(cache=True, nogil=True, fastmath=True)
def penalty(w, l1, twice_l2) -> float:
    """The regularisers' share of the loss: sum of l1 * |w| + l2 * w**2."""
    total = 0.0
    if l1.size:
        for i in range(w.size):
            total += l1[i] * abs(w[i])
    if twice_l2.size:
        for i in range(w.size):
            total += F32(0.5) * twice_l2[i] * w[i] * w[i]
    return total


@_compile
def adam(w, g, m, v, v_max, alpha, one_minus_beta_1, one_minus_beta_2, epsilon):
    """Keras' Adam; ``alpha`` is the step's bias-corrected learning rate; ``v_max`` is empty
    unless amsgrad."""
    if not v_max.size:
        for i in range(w.size):
            m[i] += (g[i] - m[i]) * one_minus_beta_1
            v[i] += (g[i] * g[i] - v[i]) * one_minus_beta_2
            w[i] -= (m[i] * alpha) / (np.sqrt(v[i]) + epsilon)
        return
    for i in range(w.size):
        m[i] += (g[i] - m[i]) * one_minus_beta_1
        v[i] += (g[i] * g[i] - v[i]) * one_minus_beta_2
        v_max[i] = v_max[i] if v_max[i] > v[i] else v[i]
        w[i] -= (m[i] * alpha) / (np.sqrt(v_max[i]) + epsilon)


@_compile
def sgd(w, g, velocity, learning_rate, momentum, nesterov):
    """Keras' SGD; ``velocity`` is empty without momentum."""
    for i in range(w.size):
        step = g[i] * learning_rate
        if not velocity.size:
            w[i] -= step
            continue
        velocity[i] = velocity[i] * momentum - step
        w[i] += velocity[i] * momentum - step if nesterov else velocity[i]


@_compile
def rmsprop(w, g, v, velocity, average, learning_rate, rho, one_minus_rho,
            momentum, epsilon):
    """Keras' RMSprop; ``velocity`` is empty without momentum, ``average`` unless centered."""
    for i in range(w.size):
        gi = g[i]
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
