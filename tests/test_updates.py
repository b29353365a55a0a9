"""The NumPy retrain's compiled loops against Keras' own optimizers, regularisers and loss.

The retrain is only as faithful as these loops: each optimizer the fast path accepts takes the
same gradients through Keras and through ``mlp._Optimizer`` and must land on the same weights;
the penalty and the binary cross-entropy must give Keras' values and gradients.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from grader.retrain import fused, mlp, updates

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
    weights = start.copy()
    unregularised = (np.array([0, start.size]), np.zeros(1, F32), np.zeros(1, F32))
    for _ in range(7):
        gradient = rng.normal(size=start.size).astype(F32)
        theirs.apply_gradients([(keras.ops.convert_to_tensor(gradient), variable)])
        ours.start_step()
        ours.apply(weights, gradient.copy(), unregularised)
    np.testing.assert_allclose(weights, keras.ops.convert_to_numpy(variable), rtol=2e-6, atol=1e-7)
    assert not np.array_equal(weights, start)


def test_each_segment_is_regularised_with_its_own_factors_as_keras_regularisers_are():
    rng = np.random.default_rng(5)
    segments = [(301, keras.regularizers.L1L2(l1=1e-3, l2=1e-2)), (17, None),
                (64, keras.regularizers.L2(5e-3)), (9, keras.regularizers.L1(2e-3))]
    w = rng.normal(size=sum(size for size, _ in segments)).astype(F32)
    w[:10] = 0  # L1's gradient at 0 is 0, as Keras' sign
    bounds = np.cumsum([0] + [size for size, _ in segments])
    l1 = np.array([getattr(r, "l1", 0.0) if r else 0.0 for _, r in segments], F32)
    l2 = np.array([getattr(r, "l2", 0.0) if r else 0.0 for _, r in segments], F32)
    penalties = (bounds, l1, F32(2) * l2)

    expected = sum(float(r(w[a:b])) for (_, r), a, b in zip(segments, bounds, bounds[1:]) if r)
    assert updates.penalty(w, *penalties) == pytest.approx(expected, rel=1e-5)

    # plain SGD at learning rate 1 on a zero loss gradient steps by exactly the penalty's gradient
    moved, none = w.copy(), np.empty(0, F32)
    updates.sgd(moved, np.zeros_like(w), *penalties, none, F32(1), F32(0), False)
    factor = np.repeat(np.arange(len(segments)), np.diff(bounds))
    np.testing.assert_allclose(w - moved, l1[factor] * np.sign(w) + 2 * l2[factor] * w,
                               rtol=1e-5, atol=2.5e-7)  # w - moved rounds to w's ulp
    assert (moved[:10] == 0).all() and (moved[301:318] == w[301:318]).all()


def test_precompile_leaves_every_loop_compiled():
    """In a fresh interpreter (no other test has called a loop), ``precompile`` alone must leave
    every compiled loop of the retrain with a signature: a loop it forgets would be compiled
    during a student's grading on the Gradescope image."""
    import subprocess
    import sys

    script = """
import numba
from grader.retrain import fused, loss, mlp, updates
mlp.precompile()
loops = {f"{m.__name__}.{name}": f for m in (fused, loss, updates) for name, f in vars(m).items()
         if isinstance(f, numba.core.registry.CPUDispatcher) and f.__module__ == m.__name__
         and not name.startswith("_")}  # private loops compile inside the public ones
print(sorted(name for name, f in loops.items() if not f.signatures), len(loops))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300, check=True)
    uncompiled, count = done.stdout.split("] ")
    assert uncompiled + "]" == "[]" and int(count) >= 8, done.stdout


def _awkward(rng, shape) -> np.ndarray:
    """Normal numbers of many magnitudes, with zeros of both signs, infinities and NaNs."""
    values = (rng.standard_normal(shape) * 10.0 ** rng.integers(-8, 8, shape)).astype(F32)
    specials = np.array([0.0, -0.0, np.inf, -np.inf, np.nan], F32)
    where = rng.random(shape) < 0.05
    values[where] = rng.choice(specials, int(where.sum()))
    return values


def _same(a, b) -> bool:
    return a.shape == b.shape and np.array_equal(a.view(np.uint32), b.view(np.uint32))


@pytest.mark.parametrize("shape", [(32, 256), (10, 7), (1, 3), (32, 2)])
@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # inf * 0, on purpose
def test_fused_loops_give_numpys_numbers_bit_for_bit(shape):
    rng = np.random.default_rng(shape[0] * shape[1])
    z, bias, gradient = _awkward(rng, shape), _awkward(rng, shape[1:]), _awkward(rng, shape)
    draws, keep = rng.random(shape, dtype=F32), F32(0.7)
    expected_z = z + bias
    z_in_place = z.copy()
    assert _same(fused.bias_relu(z_in_place, bias), np.maximum(expected_z, 0))
    assert _same(z_in_place, expected_z)
    assert _same(fused.bias_relu(z.copy(), mlp._NO_VECTOR), np.maximum(z, 0))
    scale = fused.keep_scale(draws.copy(), keep)
    assert _same(scale, (draws < keep) / keep)
    expected = gradient * scale * (z > 0)
    bias_gradient = np.empty(shape[1], F32)
    assert _same(fused.relu_backward(gradient.copy(), z, scale, bias_gradient), expected)
    assert _same(bias_gradient, expected.sum(axis=0))
    assert _same(fused.relu_backward(gradient.copy(), z, mlp._NO_MATRIX, mlp._NO_VECTOR),
                 gradient * (z > 0))


@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_binary_crossentropy_gives_keras_loss_gradient_and_accuracy(from_logits, smoothing):
    import tensorflow as tf

    from grader.retrain.loss import binary_crossentropy

    rng = np.random.default_rng(11)
    labels = rng.integers(0, 2, 37).astype(F32)
    if from_logits:
        outputs = rng.normal(scale=4, size=(37, 1)).astype(F32)
    else:  # a few outside Keras' clip to [1e-7, 1 - 1e-7], where the gradient is 0
        outputs = rng.uniform(size=(37, 1)).astype(F32)
        outputs[:3, 0] = (0.0, 1e-9, 1.0)
    tensor = tf.Variable(outputs)
    with tf.GradientTape() as tape:
        expected = keras.losses.BinaryCrossentropy(from_logits=from_logits,
                                                   label_smoothing=smoothing)(labels[:, None], tensor)
    expected_gradient = tape.gradient(expected, tensor).numpy()

    gradient = np.empty_like(outputs)
    loss, right = binary_crossentropy(outputs, labels, from_logits, F32(smoothing), gradient,
                                      outputs)
    assert loss == pytest.approx(float(expected), rel=1e-6)
    np.testing.assert_allclose(gradient, expected_gradient, rtol=1e-5, atol=1e-9)
    accuracy = keras.metrics.binary_accuracy(labels[:, None], outputs)
    assert right == int(round(float(np.mean(accuracy)) * 37))


@pytest.mark.parametrize("last", ["dense", "activation"])
@pytest.mark.parametrize("from_logits", [False, True])
def test_a_saturated_sigmoid_output_learns_from_its_logits_as_on_tensorflow(last, from_logits):
    """Keras on TensorFlow computes binary cross-entropy after a sigmoid from the sigmoid's
    logits, whatever ``from_logits`` says: a saturated output (probability 1.0 in float32) still
    has a gradient (clipped, it has none). One SGD step of the NumPy path must move the weights as TensorFlow's does."""
    import tensorflow as tf

    assert keras.backend.backend() == "tensorflow"
    rng = np.random.default_rng(5)
    x = rng.normal(size=(16, 6)).astype(F32)
    y = rng.integers(0, 2, 16).astype(F32)
    head = ([keras.layers.Dense(1, activation="sigmoid")] if last == "dense"
            else [keras.layers.Dense(1), keras.layers.Activation("sigmoid")])
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4, activation="relu"), *head])
    kernel = model.layers[1].kernel
    kernel.assign(kernel.numpy() * 300)  # many outputs saturate past Keras' clip
    loss = keras.losses.BinaryCrossentropy(from_logits=from_logits)
    with tf.GradientTape() as tape:
        outputs = model(x, training=True)
        value = loss(y[:, None], outputs)
    probabilities = outputs.numpy()
    assert ((probabilities < 1e-7) | (probabilities > 1 - 1e-7)).mean() > 0.3
    expected = [w.numpy() - g.numpy()
                for w, g in zip(model.trainable_weights,
                                tape.gradient(value, model.trainable_weights))]

    plan = mlp.plan(model, loss, keras.optimizers.SGD(learning_rate=1.0), keras, 6)
    trainer = mlp.Trainer(plan, seed=0)
    with mlp._computing():
        step_loss, _ = trainer.step(x, y)
    assert float(step_loss) == pytest.approx(float(value), rel=1e-5)
    dense = [layer for layer in plan.layers if isinstance(layer, mlp.Dense)]
    got = [array for layer in dense for array in (layer.kernel, layer.bias)]
    for mine, theirs in zip(got, expected):
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-6)
    moved = np.abs(got[-2] - model.layers[-1 if last == "dense" else -2].kernel.numpy()).max()
    assert moved > 1e-3  # the saturated output layer still learned
