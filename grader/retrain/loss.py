"""TensorFlow-Keras' cross-entropies for the NumPy retrain: the batch's loss, its gradient and how
many rows it got right, each in one compiled loop (numba) where NumPy needed ~15 calls on a batch
of 32 rows.

The formulas are those of ``keras.src.backend.tensorflow.nn``, the backend a student's
``tensorflow.keras`` runs on. The loss is computed from logits when ``from_logits=True`` and also
whenever the output is a sigmoid's or a softmax's (TensorFlow's ``_get_logits`` finds the
activation's input; the caller decides), else from the outputs as probabilities:

- binary: from logits ``max(x, 0) - x * t + log1p(exp(-|x|))``, TensorFlow's
  ``sigmoid_cross_entropy_with_logits``, whose gradient ``sigmoid(x) - t`` never vanishes; from
  probabilities clipped to [epsilon, 1 - epsilon], no gradient outside (``tf.clip_by_value``'s,
  which passes it at the bounds themselves). Labels are smoothed towards 0.5.
- categorical (one-hot targets, smoothed to ``t * (1 - s) + s / classes``): from logits
  ``softmax_cross_entropy_with_logits``, ``sum(t * (log(sum(exp(x - m))) - (x - m)))`` with ``m``
  the row's maximum, gradient ``softmax(x) - t``; from probabilities each row divided by its sum,
  clipped, ``-sum(t * log(q))``.
- sparse categorical (integer labels): from logits ``sparse_softmax_cross_entropy_with_logits``;
  from probabilities TensorFlow clips them (not rescaled) and passes their logarithms to that same
  function as logits, so the loss is ``log(sum(clipped)) - log(clipped[label])``.

The mean is over the batch. Accuracy is the metric Keras' ``compile`` resolves ``"accuracy"`` to:
``binary_accuracy`` (output above 0.5 against label above 0.5) for one output,
``categorical_accuracy`` / ``sparse_categorical_accuracy`` (the argmax, first on ties) for several,
counted from ``predictions``: what the model outputs, the activation's probabilities when the
loss took their logits.
"""

from __future__ import annotations

import numba
import numpy as np

F32 = np.float32
EPSILON = F32(1e-7)  # keras.config.epsilon()


@numba.njit(cache=True, nogil=True, error_model="numpy")
def binary_crossentropy(outputs, labels, from_logits, smoothing, gradient, predictions):
    """(mean loss, rows right) of one output column against ``labels``; writes the loss's
    gradient for each output into ``gradient`` (same shape as ``outputs``); counts the rows right
    from ``predictions`` (``outputs`` itself, or the probabilities when ``outputs`` are logits)."""
    n = outputs.shape[0]
    total, right = 0.0, 0
    for i in range(n):
        output, label = outputs[i, 0], F32(labels[i])
        right += (predictions[i, 0] > F32(0.5)) == (label > F32(0.5))
        target = label * (F32(1) - smoothing) + F32(0.5) * smoothing if smoothing else label
        if from_logits:
            total += max(output, F32(0)) - output * target + np.log1p(np.exp(-abs(output)))
            gradient[i, 0] = (F32(1) / (F32(1) + np.exp(-output)) - target) / F32(n)
        else:
            clipped = min(max(output, EPSILON), F32(1) - EPSILON)
            total += -(target * np.log(clipped) + (F32(1) - target) * np.log(F32(1) - clipped))
            inside = EPSILON <= output <= F32(1) - EPSILON
            gradient[i, 0] = (-(target / clipped - (F32(1) - target) / (F32(1) - clipped)) / F32(n)
                              if inside else F32(0))
    return F32(total / n), right


@numba.njit(inline="always")
def _argmax(row) -> int:
    """The first index of the row's largest value (``tf.argmax``'s on ties)."""
    best = 0
    for j in range(1, row.size):
        if row[j] > row[best]:
            best = j
    return best


@numba.njit(inline="always")
def _exp_shifted(row, exps):
    """(sum of ``exp(row - m)``, ``m``) with ``m`` the row's maximum; writes the exponentials
    into ``exps``. The order of TensorFlow's softmax and cross-entropy kernels: maximum out first."""
    top = row[0]
    for j in range(1, row.size):
        top = max(top, row[j])
    total = F32(0)
    for j in range(row.size):
        exps[j] = np.exp(row[j] - top)
        total += exps[j]
    return total, top


@numba.njit(cache=True, nogil=True, error_model="numpy")
def softmax(z):
    """Each row's softmax, ``exp(z - max) * (1 / sum)``, as TensorFlow's softmax kernel."""
    out = np.empty_like(z)
    for i in range(z.shape[0]):
        total, _ = _exp_shifted(z[i], out[i])
        inverse = F32(1) / total
        for j in range(z.shape[1]):
            out[i, j] *= inverse
    return out


@numba.njit(cache=True, nogil=True, error_model="numpy")
def categorical_crossentropy(outputs, targets, from_logits, keep, spread, gradient, predictions):
    """(mean loss, rows right) of ``outputs`` (a row of class scores per example) against one-hot
    ``targets``, smoothed to ``targets * keep + spread`` when ``spread`` (Keras: ``keep = 1 -
    label_smoothing``, ``spread = label_smoothing / classes``); writes the loss's gradient for each
    output into ``gradient``; a row is right when the argmax of ``predictions`` is its target's."""
    n, classes = outputs.shape
    total, right = 0.0, 0
    target, work = np.empty(classes, F32), np.empty(classes, F32)
    for i in range(n):
        row = outputs[i]
        right += _argmax(predictions[i]) == _argmax(targets[i])
        for j in range(classes):
            target[j] = targets[i, j] * keep + spread if spread else targets[i, j]
        loss = F32(0)
        if from_logits:
            exps_sum, top = _exp_shifted(row, work)
            log_sum = np.log(exps_sum)
            for j in range(classes):
                loss += target[j] * (log_sum - (row[j] - top))
                gradient[i, j] = (work[j] / exps_sum - target[j]) / F32(n)
        else:
            row_sum = F32(0)
            for j in range(classes):
                row_sum += row[j]
            through_sum = F32(0)  # the gradient reaching the row's sum, as TensorFlow's divide's
            for j in range(classes):
                share = row[j] / row_sum
                clipped = min(max(share, EPSILON), F32(1) - EPSILON)
                loss -= target[j] * np.log(clipped)
                inside = EPSILON <= share <= F32(1) - EPSILON
                work[j] = (-target[j] / F32(n)) / clipped if inside else F32(0)
                through_sum += work[j] * (-row[j] / row_sum / row_sum)
            for j in range(classes):
                gradient[i, j] = work[j] / row_sum + through_sum
        total += loss
    return F32(total / n), right


@numba.njit(cache=True, nogil=True, error_model="numpy")
def sparse_categorical_crossentropy(outputs, labels, from_logits, gradient, predictions):
    """(mean loss, rows right) of ``outputs`` (a row of class scores per example) against integer
    ``labels`` (in [0, classes): the caller checks); writes the loss's gradient for each output
    into ``gradient``; a row is right when the argmax of ``predictions`` is its label."""
    n, classes = outputs.shape
    total, right = 0.0, 0
    scores, exps = np.empty(classes, F32), np.empty(classes, F32)
    for i in range(n):
        label = int(labels[i])
        right += _argmax(predictions[i]) == label
        for j in range(classes):  # TensorFlow's logits: the outputs, or the clipped ones' logs
            scores[j] = outputs[i, j] if from_logits else np.log(
                min(max(outputs[i, j], EPSILON), F32(1) - EPSILON))
        exps_sum, top = _exp_shifted(scores, exps)
        total += np.log(exps_sum) - (scores[label] - top)
        for j in range(classes):
            g = (exps[j] / exps_sum - (F32(1) if j == label else F32(0))) / F32(n)
            if not from_logits:  # through the logarithm and the clip
                output = outputs[i, j]
                inside = EPSILON <= output <= F32(1) - EPSILON
                g = g / min(max(output, EPSILON), F32(1) - EPSILON) if inside else F32(0)
            gradient[i, j] = g
    return F32(total / n), right
