"""Where the NumPy retrain's loss meets NaN and infinity, it gets what Keras on TensorFlow gets.

A diverging model (``SGD(50)``, say) sends outputs to infinity and then NaN: the loss the fast path
records, and the gradient it steps with, must be TensorFlow's at those values, or the fast path
would call "the loss decreases" where TensorFlow's loss becomes NaN (issue 22). The values are
compared with Keras' own TensorFlow ``binary_crossentropy`` and its gradient, from probabilities
and from logits.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from grader.retrain.loss import binary_crossentropy

F32 = np.float32
EXTREMES = [np.nan, np.inf, -np.inf, 1e30, -1e30, 0.0, 1.0, 1e-9]


def _tensorflows(output: float, label: float, from_logits: bool) -> tuple[float, float]:
    import tensorflow as tf
    from keras.src.backend.tensorflow import nn

    value = tf.Variable([[output]], dtype=tf.float32)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(nn.binary_crossentropy(tf.constant([[label]]), tf.identity(value),
                                                     from_logits=from_logits))
    return float(loss), float(tape.gradient(loss, value).numpy()[0, 0])


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-6, abs=1e-12)


@pytest.mark.parametrize("from_logits", [False, True], ids=["probabilities", "logits"])
@pytest.mark.parametrize("label", [0.0, 1.0])
@pytest.mark.parametrize("output", EXTREMES)
def test_the_loss_and_its_gradient_are_tensorflows_at_nan_infinity_and_the_extremes(
        output, label, from_logits):
    outputs = np.array([[output]], F32)
    gradient = np.empty_like(outputs)
    with np.errstate(all="ignore"):  # as the retrain computes (mlp._computing)
        loss, _ = binary_crossentropy(outputs, np.array([label], F32), from_logits, F32(0),
                                      gradient, outputs)
    expected_loss, expected_gradient = _tensorflows(output, label, from_logits)
    assert _same(float(loss), expected_loss), (float(loss), expected_loss)
    assert _same(float(gradient[0, 0]), expected_gradient), (gradient[0, 0], expected_gradient)
