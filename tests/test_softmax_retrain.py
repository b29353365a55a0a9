"""The NumPy retrain's softmax outputs against Keras on TensorFlow (issue 25, semantics of #22).

The ten-class exercise's model (784 inputs, Dense(128, relu, L2), Dropout(0.5), Dense(64, relu,
L2), Dropout(0.5), Dense(10, softmax), Adam) trains on the fast path with categorical or sparse
categorical cross-entropy. What must hold: the loss loops give TensorFlow-Keras' loss, gradient
and accuracy; ``mlp.plan`` takes what it reproduces and nothing else; and a few epochs of the
fast path follow TensorFlow's own ``fit`` (the worker's reference path, same initial weights,
shuffles and dropout masks) to float32 rounding, with the same verdicts.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from grader.core.request import RetrainRequest
from grader.retrain import mlp, worker
from grader.retrain.data import classification_data
from grader.retrain.loss import (categorical_crossentropy, softmax,
                                 sparse_categorical_crossentropy)

F32 = np.float32
CLASSES = 10


def _scores(rng, from_logits: bool, shape) -> np.ndarray:
    """Logits of many sizes, or probabilities with some outside Keras' clip to [1e-7, 1 - 1e-7]
    (no gradient there) and a row that is one class only."""
    if from_logits:
        return rng.normal(scale=4, size=shape).astype(F32)
    outputs = rng.uniform(size=shape).astype(F32)
    outputs[0, :3] = (0.0, 1e-9, 1.0)
    outputs[1] = 0
    outputs[1, 2] = 1
    return outputs


def _keras_loss_and_gradient(loss, labels, outputs):
    import tensorflow as tf

    assert keras.backend.backend() == "tensorflow"
    tensor = tf.Variable(outputs)
    with tf.GradientTape() as tape:
        value = loss(labels, tensor)
    return float(value), tape.gradient(value, tensor).numpy()


@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_categorical_crossentropy_gives_keras_loss_gradient_and_accuracy(from_logits, smoothing):
    rng = np.random.default_rng(13)
    labels = rng.integers(0, CLASSES, 37)
    targets = np.eye(CLASSES, dtype=F32)[labels]
    outputs = _scores(rng, from_logits, (37, CLASSES))
    expected, expected_gradient = _keras_loss_and_gradient(
        keras.losses.CategoricalCrossentropy(from_logits=from_logits, label_smoothing=smoothing),
        targets, outputs)

    gradient = np.empty_like(outputs)
    loss, right = categorical_crossentropy(outputs, targets, from_logits, F32(1 - smoothing),
                                           F32(smoothing) / F32(CLASSES), gradient, outputs)
    assert loss == pytest.approx(expected, rel=1e-6)
    np.testing.assert_allclose(gradient, expected_gradient, rtol=1e-5, atol=1e-9)
    accuracy = keras.metrics.categorical_accuracy(targets, outputs)
    assert right == int(round(float(np.mean(accuracy)) * 37)) > 0


@pytest.mark.parametrize("from_logits", [False, True])
def test_sparse_categorical_crossentropy_gives_keras_loss_gradient_and_accuracy(from_logits):
    rng = np.random.default_rng(17)
    labels = rng.integers(0, CLASSES, 37).astype(F32)
    outputs = _scores(rng, from_logits, (37, CLASSES))
    expected, expected_gradient = _keras_loss_and_gradient(
        keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits), labels, outputs)

    gradient = np.empty_like(outputs)
    loss, right = sparse_categorical_crossentropy(outputs, labels, from_logits, gradient, outputs)
    assert loss == pytest.approx(expected, rel=1e-6)
    # the label's ``softmax - 1`` cancels: a few ulps of 1 (TensorFlow's exp is Eigen's) / 37
    np.testing.assert_allclose(gradient, expected_gradient, rtol=1e-5, atol=1e-8)
    accuracy = keras.metrics.sparse_categorical_accuracy(labels, outputs)
    assert right == int(round(float(np.mean(accuracy)) * 37)) > 0


def test_softmax_is_tensorflows_to_rounding_and_sums_to_one():
    import tensorflow as tf

    z = np.random.default_rng(19).normal(scale=6, size=(64, CLASSES)).astype(F32)
    z[0] = 1000.0  # equal huge logits: no overflow, an even split
    ours = softmax(z)
    np.testing.assert_allclose(ours, tf.nn.softmax(z).numpy(), rtol=2e-6, atol=1e-7)
    np.testing.assert_allclose(ours.sum(axis=1), 1, rtol=1e-6)
    assert (ours[0] == F32(0.1)).all()


def _model(*head, hidden=True):
    """The exercise's model with ``head`` as its output, built."""
    l2 = keras.regularizers.L2(1e-3)
    body = [keras.layers.Dense(16, activation="relu", kernel_regularizer=l2),
            keras.layers.Dropout(0.5)] if hidden else []
    return keras.Sequential([keras.Input((20,)), *body, *head])


SOFTMAX = (keras.layers.Dense(CLASSES, activation="softmax"),)
LINEAR = (keras.layers.Dense(CLASSES),)
losses = keras.losses


@pytest.mark.parametrize("head, loss, expected", [
    (SOFTMAX, losses.get("sparse_categorical_crossentropy"), ("sparse", False, 0.0)),
    (SOFTMAX, losses.get("categorical_crossentropy"), ("categorical", False, 0.0)),
    (SOFTMAX, losses.CategoricalCrossentropy(label_smoothing=0.2), ("categorical", False, 0.2)),
    (LINEAR, losses.SparseCategoricalCrossentropy(from_logits=True), ("sparse", True, 0.0)),
    (LINEAR, losses.CategoricalCrossentropy(from_logits=True), ("categorical", True, 0.0)),
    ((keras.layers.Dense(CLASSES), keras.layers.Activation("softmax")),
     losses.CategoricalCrossentropy(), ("categorical", False, 0.0)),
    ((keras.layers.Dense(1, activation="sigmoid"),), losses.get("binary_crossentropy"),
     ("binary", False, 0.0)),
], ids=["sparse-name", "categorical-name", "smoothing", "sparse-logits", "categorical-logits",
        "softmax-activation-layer", "binary-as-before"])
def test_plan_takes_the_cross_entropies_it_reproduces(head, loss, expected):
    plan = mlp.plan(_model(*head), loss, keras.optimizers.Adam(), keras, 20)
    assert plan is not None
    kind, from_logits, smoothing = expected
    assert (plan.loss.split("_")[0], plan.from_logits, plan.label_smoothing) == (
        kind, from_logits, pytest.approx(smoothing))
    assert plan.classes == (1 if kind == "binary" else CLASSES)


@pytest.mark.parametrize("head, loss", [
    (SOFTMAX, losses.SparseCategoricalCrossentropy(ignore_class=0)),
    (SOFTMAX, losses.CategoricalCrossentropy(axis=0)),
    (SOFTMAX, losses.CategoricalCrossentropy(reduction="sum")),
    (SOFTMAX, losses.get("binary_crossentropy")),  # ten outputs, one label each
    ((keras.layers.Dense(1, activation="softmax"),), losses.get("binary_crossentropy")),
    ((keras.layers.Dense(1, activation="softmax"),), losses.get("categorical_crossentropy")),
    ((keras.layers.Dense(CLASSES, activation="softmax"), keras.layers.Dropout(0.1)),
     losses.get("categorical_crossentropy")),
    ((keras.layers.Dense(CLASSES, activation="softmax"), keras.layers.Dense(CLASSES)),
     losses.CategoricalCrossentropy(from_logits=True)),
    (SOFTMAX, losses.get("kl_divergence")),
], ids=["ignore-class", "axis-0", "sum-reduction", "binary-on-ten", "softmax-one-unit-binary",
        "softmax-one-unit-categorical", "dropout-after-softmax", "hidden-softmax", "kl"])
def test_plan_leaves_the_rest_to_keras(head, loss):
    assert mlp.plan(_model(*head), loss, keras.optimizers.Adam(), keras, 20) is None


def test_integer_labels_outside_the_outputs_fail_in_tensorflows_words():
    model = _model(keras.layers.Dense(5, activation="softmax"))
    plan = mlp.plan(model, losses.get("sparse_categorical_crossentropy"),
                    keras.optimizers.Adam(), keras, 20)
    rng = np.random.default_rng(3)
    x, labels = rng.normal(size=(40, 20)).astype(F32), rng.integers(0, CLASSES, 40)
    with pytest.raises(ValueError, match=r"label value of [5-9] which is outside the valid "
                                         r"range of \[0, 5\)"):
        mlp.train(mlp.Trainer(plan, 0), (x, labels), (x, labels), 32, 1, 0, lambda logs: True)


# -- the ten-class model, a few epochs: the fast path against TensorFlow's fit -------------------

EXERCISE = {"n_samples": 1000, "n_features": 784, "n_classes": CLASSES, "test_fraction": 0.2,
            "validation_split": 0.2}
DATA = {"seed": 20261208, "n_informative": 50, "n_redundant": 2, "class_sep": 1.0, "flip_y": 0.01}
EPOCHS = 4
SERIES = ("loss", "val_loss", "accuracy", "val_accuracy")


@pytest.fixture(scope="module")
def data():
    return classification_data(DATA, EXERCISE)


def _layer(name: str, **config) -> dict:
    return {"class_name": name, "module": "keras.layers", "config": config}


def _loss(name: str, **config) -> dict:
    return {"class_name": name, "module": "keras.losses", "config": config}


def ten_class_request(output: str = "softmax", loss="sparse_categorical_crossentropy",
                      loss_name: str = "sparse_categorical_crossentropy",
                      epochs: int = EPOCHS) -> RetrainRequest:
    """The lesson's Architecture 2 as a retrain request: ``output`` is the last Dense layer's
    activation."""
    l2 = {"class_name": "L2", "module": "keras.regularizers", "config": {"l2": 0.001}}
    layers = [_layer("InputLayer", batch_shape=[None, 784]),
              _layer("Dense", units=128, activation="relu", kernel_regularizer=l2),
              _layer("Dropout", rate=0.5),
              _layer("Dense", units=64, activation="relu", kernel_regularizer=l2),
              _layer("Dropout", rate=0.5), _layer("Dense", units=CLASSES, activation=output)]
    from_logits = isinstance(loss, dict) and loss["config"].get("from_logits", False)
    return RetrainRequest(
        model_config={"class_name": "Sequential", "module": "keras",
                      "config": {"name": "architecture_2", "layers": layers}},
        loss=loss, loss_name=loss_name, from_logits=from_logits, output_activation=output,
        optimizer={"class_name": "Adam", "module": "keras.optimizers",
                   "config": {"learning_rate": 0.001}},
        n_features=784, epochs=epochs, batch_size=32, seed=7)


def _fast(request: RetrainRequest, data) -> tuple[dict, float]:
    """The worker's NumPy path (``worker._train`` takes it on JAX only): the same build, labels,
    training and accuracy, in this process. Returns the history and the test accuracy."""
    keras.backend.clear_session()  # as the worker between requests: the same start in any order
    model = worker._build(request, keras)
    plan = mlp.plan(model, model.loss, model.optimizer, keras, request.n_features)
    assert plan is not None, "the fast path does not take this model"
    (x_fit, y_fit), (x_val, y_val), (x_test, y_test) = data["fit"], data["val"], data["test"]
    labels = lambda y: worker._labels(y, CLASSES, request.loss_name, keras)  # noqa: E731
    history = {key: [] for key in SERIES}

    def on_epoch(logs):  # as the worker's: a loss that is no number ends the run
        for key in SERIES:
            history[key].append(float(logs[key]) if np.isfinite(logs[key]) else None)
        return history["loss"][-1] is not None

    trainer = mlp.Trainer(plan, request.seed)
    mlp.train(trainer, (x_fit, labels(y_fit)), (x_val, labels(y_val)), request.batch_size,
              request.epochs, request.seed, on_epoch)
    from_logits = request.from_logits and request.output_activation == "linear"
    return history, worker.accuracy(mlp.predict(trainer, x_test), y_test, from_logits)


def _tensorflow(request: RetrainRequest, data) -> dict:
    """The worker's TensorFlow reference path (Keras' ``fit``), in this process."""
    assert keras.backend.backend() == "tensorflow"
    keras.backend.clear_session()
    return worker._train(request, data, keras, lambda fields: None, lambda: False)


CASES = {
    "sparse integer labels": ("softmax", "sparse_categorical_crossentropy",
                              "sparse_categorical_crossentropy"),
    "categorical one-hot labels": ("softmax", "categorical_crossentropy",
                                   "categorical_crossentropy"),
    "label smoothing 0.1": ("softmax", _loss("CategoricalCrossentropy", label_smoothing=0.1),
                            "categorical_crossentropy"),
    "from_logits after softmax": ("softmax", _loss("SparseCategoricalCrossentropy",
                                                   from_logits=True),
                                  "sparse_categorical_crossentropy"),
    "linear output sparse from_logits": ("linear", _loss("SparseCategoricalCrossentropy",
                                                         from_logits=True),
                                         "sparse_categorical_crossentropy"),
    "linear output categorical from_logits": ("linear", _loss("CategoricalCrossentropy",
                                                              from_logits=True),
                                              "categorical_crossentropy"),
    # TensorFlow takes a sigmoid's logits as a softmax's (``_keras_logits``): the lesson's
    # "sigmoid on ten units" trains as the softmax model does
    "sigmoid on ten units": ("sigmoid", "categorical_crossentropy", "categorical_crossentropy"),
    # from probabilities: a row of relu zeros sums to 0, 0 / 0 is NaN on both, in the first epoch
    "relu output categorical from probabilities": ("relu", "categorical_crossentropy",
                                                   "categorical_crossentropy"),
    # clipped, not rescaled: the loss takes the log of probabilities down to 1e-7, which
    # multiplies a rounding of the weights by up to 1e7 (measured: training losses within 2e-6
    # over 3 epochs, 2e-3 in the 4th; the 3rd validation loss within 1.1e-4); 3 epochs, 1e-3
    "relu output sparse from probabilities": ("relu", "sparse_categorical_crossentropy",
                                              "sparse_categorical_crossentropy", 3),
}
FAST_CASES = ("sparse integer labels", "categorical one-hot labels")  # the rest: slow


@pytest.mark.parametrize("case", [case if case in FAST_CASES else
                                  pytest.param(case, marks=pytest.mark.slow) for case in CASES])
def test_the_ten_class_model_trains_as_tensorflow_trains_it(data, case):
    """Same initial weights, shuffles and dropout masks: what is left is float32 arithmetic in
    another order, so each epoch's losses agree to its rounding (measured: within 2e-7 over 8
    epochs), the accuracies to a row or two, and the verdicts are the same. ~10 s a case."""
    # each build its own request: Keras' deserialisers rewrite the dicts they read
    ours, our_test_accuracy = _fast(ten_class_request(*CASES[case]), data)
    theirs = _tensorflow(ten_class_request(*CASES[case]), data)
    assert theirs["engine"] == "tensorflow"
    numbers = lambda series: np.array(series, dtype=float)  # noqa: E731 - None: NaN
    rtol = 1e-3 if case == "relu output sparse from probabilities" else 1e-5
    for name in ("loss", "val_loss"):  # NaN where TensorFlow has NaN
        np.testing.assert_allclose(numbers(ours[name]), numbers(theirs["history"][name]),
                                   rtol=rtol, err_msg=name)
    for name, rows in (("accuracy", 640), ("val_accuracy", 160)):
        assert np.abs(np.subtract(ours[name], theirs["history"][name])).max() <= 2.5 / rows, name
    assert abs(our_test_accuracy - theirs["test_accuracy"]) <= 2.5 / 200
    if "relu output" in case:  # dead or NaN: no learning to ask for, the same verdict
        decreases = [None not in run[:2] and run[-1] < run[0]
                     for run in (ours["loss"], theirs["history"]["loss"])]
        assert decreases == [False, False]
        assert (ours["loss"] == [None]) == ("categorical" in case)
    else:
        assert ours["loss"][-1] < ours["loss"][0] and theirs["last_loss"] < theirs["first_loss"]


# -- a real worker: the softmax model takes the NumPy path ---------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("loss", ["sparse_categorical_crossentropy", "categorical_crossentropy"])
def test_a_softmax_model_trains_on_the_numpy_path_in_the_worker(loss):
    """The grader's own worker (the sentiment exercise's data: two classes, 500 features), so
    integer labels and the one-hot ones ``_labels`` makes for categorical cross-entropy."""
    from grader.retrain.client import TrainerProcess
    from grader.rubric import load_rubric

    request = ten_class_request(loss=loss, loss_name=loss, epochs=3).to_json()
    request["n_features"] = 500
    request["model_config"]["config"]["layers"][0]["config"]["batch_shape"] = [None, 500]
    process = TrainerProcess(load_rubric())
    try:
        result = process.wait(process.submit(RetrainRequest.from_json(request)), timeout=300)
    finally:
        process.close()
    assert result.status == "ok", result.message
    assert result.engine == "numpy"
    assert result.last_loss < result.first_loss and result.test_accuracy > 0.6
