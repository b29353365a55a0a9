"""A script that crashes because its labels do not fit its loss and output is told the real cause:
the loss it used (as it wrote it), the output width and the label format observed, and the
lesson's fixes (``to_categorical`` or ``sparse_categorical_crossentropy``; for this exercise, one
sigmoid unit with binary cross-entropy).

The messages are Keras' own (``keras_label_errors.json``: every refusal ``model.fit`` gives for
three losses given by name and as objects, mean squared error, hinge and KL divergence, with 1, 2
or 3 outputs and four label formats, on TensorFlow in a graph, run eagerly as fast mode runs
scripts, and on JAX as the retrain runs them); the slow test asks Keras again, so a change in its
wording fails here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from grader.checks import label_problem
from grader.observation import ErrorInfo, Layer, ModelInfo
from grader.observation import _compile as compile_info
from grader.sandbox.probe import error_text
from sentiment_exercise import CHECKS
from exercises.sentiment.checks import HINTS
from test_checks import REFERENCE_LAYERS, RUBRIC, observation

REFUSALS = json.loads((Path(__file__).with_name("keras_label_errors.json")).read_text())["refusals"]
ROOT = Path(__file__).resolve().parent.parent


def _crashed(loss, units: int, message: str):
    """What the sandbox observes when ``model.fit`` raised ``message`` (the compile call read
    as the observation reads the probe's event)."""
    activation = "sigmoid" if units == 1 else "softmax"
    output = Layer("Dense", "out", units=units, activation=activation, kernel_l2=0.0)
    return observation(
        status="error", fits=(), test_accuracies=(), evaluated=False,
        error=ErrorInfo(message.split(":")[0], message.split(": ", 1)[1][:1000], 24,
                        "model.fit(X_train, y_train, epochs=50)", "exception"),
        compile=compile_info({"loss": loss, "optimizer": "adam", "metrics": ["accuracy"]}),
        model=ModelInfo(1, "Sequential", REFERENCE_LAYERS[:-1] + (output,), {}))


def expected_words(loss, units: int, labels: str) -> list[str]:
    """What the explanation of this refusal must say: the loss as written, what was found, and
    the fix the lesson gives for that loss."""
    written = f"a {loss['class_name']} loss" if isinstance(loss, dict) else f"loss={loss!r}"
    name = loss["class_name"] if isinstance(loss, dict) else loss
    columns = labels[len("onehot"):] if labels.startswith("onehot") else None
    words = [written]
    if "Sparse" in name or name.startswith("sparse"):
        words += ([f"one-hot ({columns} columns", "loss='categorical_crossentropy'"] if columns
                  else [f"needs one output per class, but the model has {units}"])
    elif "ategorical" in name and not columns:
        words += ["integers (one per review)", f"to_categorical(y, {units})",
                  "loss='sparse_categorical_crossentropy', which takes integer labels"]
    elif "ategorical" in name:
        words += [f"one-hot ({columns} columns", f"the model outputs {units} value"]
    else:
        words += [f"one-hot ({columns} columns" if columns else "",
                  f"the model outputs {units} value" if units > 1 or not columns else ""]
    return [w for w in words if w]


@pytest.mark.parametrize("refusal", REFUSALS, ids=[
    f"{r['runtime'].replace(', ', '-')}-{r['loss'] if isinstance(r['loss'], str) else r['loss']['class_name']}"
    f"-{r['units']}-{r['labels']}" for r in REFUSALS])
def test_each_refusal_names_the_loss_the_output_the_labels_and_the_fix(refusal):
    obs = _crashed(refusal["loss"], refusal["units"], refusal["message"])
    runs = CHECKS["runs"](obs, None, RUBRIC)
    assert "Keras cannot train it as compiled" in runs.message, runs.message
    for words in expected_words(refusal["loss"], refusal["units"], refusal["labels"]):
        assert words in runs.message, f"{words!r} missing from: {runs.message}"
    if "inary" not in json.dumps(refusal["loss"]):
        assert "binary cross-entropy" not in runs.message  # the loss used, not the sheet's
    assert runs.hint == HINTS.label_fix
    assert "Dense(1, activation='sigmoid')" in runs.hint and "binary_crossentropy" in runs.hint
    assert runs.note.endswith("(labels do not fit the loss)")


def test_the_retrains_refusal_is_explained_the_same_way():
    """The grader's own run (Keras on JAX, the grader's integer labels) refusing a two-unit
    output under binary cross-entropy: `accuracy` says why in the same words."""
    from grader.core.results import TrainingResult

    message = next(r["message"] for r in REFUSALS if r["runtime"] == "jax"
                   and r["loss"] == "binary_crossentropy" and r["units"] == 2
                   and r["labels"] == "int")
    obs = _crashed("binary_crossentropy", 2, message)
    result = CHECKS["accuracy"](obs, TrainingResult("failed", message), RUBRIC)
    assert "the model outputs 2 values per review (Dense(2) with softmax), but binary " \
           "cross-entropy (loss='binary_crossentropy') compares" in result.message


def test_an_operations_shapes_that_are_not_labels_and_an_output_are_not_explained_as_labels():
    """TensorFlow's shape words without a shared batch (a weight against an input, say) are no
    label mismatch: the crash is shown as it is."""
    message = ("Dimensions must be equal, but are 20 and 500 for '{{node sequential/dense/MatMul}}"
               " = MatMul[T=DT_FLOAT](data, sequential/dense/Cast)' with input shapes: [32,20], "
               "[500,256].")
    obs = _crashed("binary_crossentropy", 1, f"ValueError: {message}")
    assert label_problem(obs, message, HINTS) is None
    assert "ValueError: Dimensions must be equal" in CHECKS["runs"](obs, None, RUBRIC).message


def test_a_loss_given_as_a_function_is_named_as_written():
    message = next(r["message"] for r in REFUSALS if r["loss"] == "categorical_crossentropy"
                   and r["units"] == 2 and r["labels"] == "int")
    obs = _crashed({"module": "keras.losses", "class_name": "function",
                    "config": "categorical_crossentropy"}, 2, message)
    runs = CHECKS["runs"](obs, None, RUBRIC)
    assert "loss=categorical_crossentropy expects one-hot labels" in runs.message
    assert "to_categorical(y, 2)" in runs.message


_LIVE = """
import json, os, sys
import numpy as np
import keras
rows = json.loads(sys.argv[1])
rng = np.random.default_rng(0)
x, y = rng.normal(size=(64, 10)).astype("float32"), rng.integers(0, 2, 64)
out = []
for row in rows:
    labels = {"int": y, "int_col": y.reshape(-1, 1)}.get(row["labels"])
    if labels is None:
        labels = keras.utils.to_categorical(y, int(row["labels"][len("onehot"):]))
    loss = row["loss"] if isinstance(row["loss"], str) else getattr(keras.losses,
                                                                   row["loss"]["class_name"])()
    model = keras.Sequential([keras.layers.Input((10,)), keras.layers.Dense(
        row["units"], activation="sigmoid" if row["units"] == 1 else "softmax")])
    model.compile("adam", loss, run_eagerly=row["runtime"].endswith("run_eagerly"))
    try:
        model.fit(x, labels, epochs=1, batch_size=32, verbose=0)
        out.append(None)
    except Exception as exc:
        out.append(f"{type(exc).__name__}: {exc}")
print(json.dumps(out))
"""


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_keras_still_refuses_in_the_words_explained(backend):
    """Keras, asked again, refuses every case of the table, and each of its messages as it is
    today (cut to the 1,000 characters a sandbox reports) is explained with the same words."""
    rows = [r for r in REFUSALS if r["runtime"].startswith(backend)]
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3",
           "CUDA_VISIBLE_DEVICES": "-1"}
    done = subprocess.run([sys.executable, "-c", _LIVE, json.dumps(rows)], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=900, check=True)
    messages = json.loads(done.stdout.splitlines()[-1])
    for row, message in zip(rows, messages):
        assert message is not None, f"Keras now trains {row}"
        runs = CHECKS["runs"](_crashed(row["loss"], row["units"], error_text(message)), None,
                              RUBRIC)
        for words in expected_words(row["loss"], row["units"], row["labels"]):
            assert words in runs.message, f"{row}: {words!r} missing from: {runs.message}"
