"""The NumPy retrain's compiled optimizer updates against Keras' own optimizers, step by step.

The retrain is only as faithful as these loops: each optimizer the fast path accepts takes the
same gradients through Keras and through ``mlp._Optimizer`` and must land on the same weights.
"""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from grader.retrain import mlp, updates  # noqa: E402

F32 = np.float32
SIZE = 1000  # odd sizes and several steps: the vectorised loops' tails and the bias correction

OPTIMIZERS = {
    "adam": ("Adam", {"learning_rate": 0.01}),
    "adam amsgrad": ("Adam", {"learning_rate": 0.01, "amsgrad": True, "beta_2": 0.99}),
    "sgd": ("SGD", {"learning_rate": 0.05}),
    "sgd momentum": ("SGD", {"learning_rate": 0.05, "momentum": 0.9}),
    "sgd nesterov": ("SGD", {"learning_rate": 0.05, "momentum": 0.8, "nesterov": True}),
    "rmsprop": ("RMSprop", {"learning_rate": 0.01}),
    "rmsprop centered momentum": ("RMSprop", {"learning_rate": 0.01, "rho": 0.8,
                                              "momentum": 0.5, "centered": True}),
}


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_each_optimizer_moves_the_weights_as_keras_does(name):
    class_name, config = OPTIMIZERS[name]
    theirs = getattr(keras.optimizers, class_name)(**config)
    rng = np.random.default_rng(3)
    start = rng.normal(size=SIZE + 3).astype(F32)
    variable = keras.Variable(start)
    ours = mlp._Optimizer(mlp._optimizer(theirs, keras), start.size)
    weights, none = start.copy(), np.empty(0, F32)
    for _ in range(7):
        gradient = rng.normal(size=start.size).astype(F32)
        theirs.apply_gradients([(keras.ops.convert_to_tensor(gradient), variable)])
        ours.apply(weights, gradient.copy(), none, none)
    np.testing.assert_allclose(weights, keras.ops.convert_to_numpy(variable), rtol=2e-6, atol=1e-7)
    assert not np.array_equal(weights, start)


def test_regularisers_add_keras_penalty_and_its_gradient():
    rng = np.random.default_rng(5)
    w = rng.normal(size=SIZE + 1).astype(F32)
    w[:10] = 0  # L1's gradient at 0 is 0, as Keras' sign
    l1, l2 = F32(1e-3), F32(1e-2)
    l1_factors, twice_l2 = np.full_like(w, l1), np.full_like(w, F32(2) * l2)
    expected = float(keras.regularizers.L1L2(l1=float(l1), l2=float(l2))(w))
    assert updates.penalty(w, l1_factors, twice_l2) == pytest.approx(expected, rel=1e-5)
    gradient = np.zeros_like(w)
    updates.regularise(w, gradient, l1_factors, twice_l2)
    np.testing.assert_allclose(gradient, l1 * np.sign(w) + 2 * l2 * w, rtol=1e-6)
    assert (gradient[:10] == 0).all()
    none = np.empty(0, F32)
    untouched = np.ones_like(w)
    updates.regularise(w, untouched, none, none)
    assert (untouched == 1).all() and updates.penalty(w, none, none) == 0
