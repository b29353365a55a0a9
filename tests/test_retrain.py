"""The trusted retrain on Keras' JAX backend: real worker processes, small models, few epochs.

What the grader's verdicts rest on: the worker rebuilds what the config names (normalisation,
several outputs, schedules), reports a per-epoch history, gives the same numbers every time,
and the median of several data seeds judges ``--trials``.
"""

from __future__ import annotations

import pytest

from grader.core.request import RetrainRequest
from grader.pipeline import trial_requests
from grader.retrain.client import TrainerProcess
from grader.rubric import load_rubric

pytestmark = pytest.mark.slow


def _layer(name: str, **config) -> dict:
    return {"class_name": name, "module": "keras.layers", "config": config}


def _request(*layers: dict, loss: str = "binary_crossentropy", epochs: int = 3,
             learning_rate=0.001, seed: int = 7) -> dict:
    """A retrain request's JSON form (``RetrainRequest.to_json``), for a test to change."""
    rubric = load_rubric()
    model = {"class_name": "Sequential", "module": "keras",
             "config": {"name": "student", "layers": [_layer("InputLayer", batch_shape=[None, 500]),
                                                      *layers]}}
    return {"model_config": model, "loss": loss,
            "loss_name": loss if isinstance(loss, str) else "", "from_logits": False,
            "optimizer": {"class_name": "Adam", "module": "keras.optimizers",
                          "config": {"learning_rate": learning_rate}},
            "output_activation": "sigmoid", "n_features": 500, "epochs": epochs, "batch_size": 32,
            "seed": seed, "data": dict(rubric.data), "max_parameters": 2_000_000}


L2 = {"class_name": "L2", "module": "keras.regularizers", "config": {"l2": 0.001}}
MLP = (_layer("Dense", units=32, activation="relu", kernel_regularizer=L2),
       _layer("Dropout", rate=0.3), _layer("Dense", units=1, activation="sigmoid"))


@pytest.fixture(scope="module")
def trainer():
    process = TrainerProcess(load_rubric())
    yield process
    process.close()


def train(trainer: TrainerProcess, request: dict):
    result = trainer.wait(trainer.submit(RetrainRequest.from_json(request)), timeout=300)
    assert result.status == "ok", result.message
    return result


def test_jax_retrain_reports_every_epoch_of_the_four_curves(trainer):
    result = train(trainer, _request(*MLP, epochs=4))
    assert trainer.versions["backend"] == "jax"
    assert set(result.history) == {"loss", "val_loss", "accuracy", "val_accuracy"}
    assert all(len(series) == 4 for series in result.history.values())
    assert result.history["loss"][0] == result.first_loss
    assert result.history["loss"][-1] == result.last_loss < result.first_loss
    assert 0.6 < result.test_accuracy <= 1 and 0.5 < result.history["val_accuracy"][-1] <= 1


def test_same_request_gives_the_same_numbers(trainer):
    first, second = (train(trainer, _request(*MLP)) for _ in range(2))
    assert first.history == second.history
    assert first.test_accuracy == second.test_accuracy


def test_seed_changes_the_starting_point(trainer):
    one, other = train(trainer, _request(*MLP, seed=1)), train(trainer, _request(*MLP, seed=2))
    assert one.history["loss"] != other.history["loss"]


@pytest.mark.parametrize("layers, loss", [
    ((_layer("Dense", units=16), _layer("BatchNormalization"), _layer("Activation", activation="relu"),
      _layer("Dense", units=1, activation="sigmoid")), "binary_crossentropy"),
    ((_layer("Dense", units=16, activation="relu"), _layer("GaussianNoise", stddev=0.1),
      _layer("Dense", units=2, activation="softmax")), "sparse_categorical_crossentropy"),
    ((_layer("Dense", units=16, activation="relu"), _layer("Dense", units=2, activation="softmax")),
     "categorical_crossentropy"),
])
def test_normalisation_noise_and_several_outputs_are_rebuilt(trainer, layers, loss):
    result = train(trainer, _request(*layers, loss=loss))
    assert result.last_loss < result.first_loss
    assert result.test_accuracy > 0.6


def test_a_learning_rate_schedule_is_rebuilt(trainer):
    schedule = {"class_name": "ExponentialDecay", "module": "keras.optimizers.schedules",
                "config": {"initial_learning_rate": 0.001, "decay_steps": 10, "decay_rate": 0.9}}
    result = train(trainer, _request(*MLP, learning_rate=schedule))
    assert result.last_loss < result.first_loss


def test_a_diverging_model_stops_with_a_clear_loss(trainer):
    result = train(trainer, _request(_layer("Dense", units=8, activation="relu"),
                                     _layer("Dense", units=1, activation="linear"),
                                     loss="mean_squared_error", learning_rate=1e12, epochs=5))
    assert result.epochs <= 5
    assert result.history["loss"][-1] is None or result.last_loss > result.first_loss


def test_trials_retrain_on_other_data_seeds_and_the_median_judges(trainer):
    from grader.pipeline import _retrain
    from grader.retrain.client import Retrainer

    request = RetrainRequest.from_json(_request(*MLP, epochs=2))
    trials = trial_requests(request, 3)
    assert [t.data["seed"] for t in trials] == [request.data["seed"] + i for i in range(3)]
    assert trials[0] is request and len({t.seed for t in trials}) == 3
    each = [train(trainer, t.to_json()).test_accuracy for t in trials]
    retrainer = Retrainer(load_rubric(), cache=None)
    try:
        combined = _retrain(request, retrainer, 3, lambda text: None, trust_cache=False)
    finally:
        retrainer.close()
    assert combined.trials == tuple(each)
    assert combined.test_accuracy == sorted(each)[1]
    assert len(set(each)) > 1  # the seeds really differ


def _train_elsewhere(monkeypatch, request: dict, **env):
    """``request`` trained by a retrain worker started with ``env`` (GRADER_RETRAIN_ENGINE,
    GRADER_RETRAIN_BACKEND)."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    process = TrainerProcess(load_rubric())
    monkeypatch.undo()
    try:
        return train(process, request)
    finally:
        process.close()


def _assert_same_curves(ours, theirs, series=("loss", "val_loss")) -> None:
    """The two runs agree to rounding: losses within 1e-3, accuracies within two rows."""
    for name in series:
        tolerance = 0.007 if "accuracy" in name else 1e-3  # a rounding may move a row or two
        assert _close_to(ours.history[name], theirs.history[name], tolerance), name
    assert abs(ours.test_accuracy - theirs.test_accuracy) <= 0.0051  # two of 400 rows at most


def _close_to(ours: list, theirs: list, tolerance: float) -> bool:
    return all(abs(a - b) <= tolerance * max(1.0, abs(b)) for a, b in zip(ours, theirs, strict=True))


ADAM_AMSGRAD = {"class_name": "Adam", "module": "keras.optimizers",
                "config": {"learning_rate": 0.003, "amsgrad": True}}
SGD_NESTEROV = {"class_name": "SGD", "module": "keras.optimizers",
                "config": {"learning_rate": 0.01, "momentum": 0.9, "nesterov": True}}
RMSPROP_CENTERED = {"class_name": "RMSprop", "module": "keras.optimizers",
                    "config": {"learning_rate": 0.001, "momentum": 0.5, "centered": True}}
LOGITS = {"class_name": "BinaryCrossentropy", "module": "keras.losses",
          "config": {"from_logits": True, "label_smoothing": 0.1}}
L1L2 = {"class_name": "L1L2", "module": "keras.regularizers", "config": {"l1": 1e-4, "l2": 1e-3}}
SATURATING = {"class_name": "RandomNormal", "module": "keras.initializers", "config": {"stddev": 1.0}}
SGD = {"class_name": "SGD", "module": "keras.optimizers", "config": {"learning_rate": 0.001}}


@pytest.mark.parametrize("layers, loss, optimizer", [
    ((_layer("Dense", units=64, activation="relu", kernel_regularizer=L2),
      _layer("Dense", units=32, activation="relu", kernel_regularizer=L2),
      _layer("Dense", units=16, activation="relu", kernel_regularizer=L2),
      _layer("Dense", units=1, activation="sigmoid")), "binary_crossentropy", None),
    ((_layer("Dense", units=32, activation="tanh", kernel_regularizer=L1L2, bias_regularizer=L2),
      _layer("Dense", units=16), _layer("Activation", activation="elu"),
      _layer("Dense", units=8, activation="selu", use_bias=False),
      _layer("Dense", units=1, activation="sigmoid")), "binary_crossentropy", SGD_NESTEROV),
    ((_layer("Dense", units=32, activation="leaky_relu"), _layer("Dense", units=16, activation="softplus"),
      _layer("Dense", units=8, activation="silu"), _layer("Dense", units=1)), LOGITS, RMSPROP_CENTERED),
    ((_layer("Dense", units=32, activation="sigmoid"), _layer("Dense", units=1, activation="sigmoid")),
     "binary_crossentropy", ADAM_AMSGRAD),
    # saturated from the start: both engines must learn from the sigmoid's logits, as
    # TensorFlow-Keras does (test_updates checks the NumPy path against TensorFlow itself)
    ((_layer("Dense", units=32, activation="relu"),
      _layer("Dense", units=1, activation="sigmoid", kernel_initializer=SATURATING)),
     {**LOGITS, "config": {"from_logits": True}}, SGD),
], ids=["sheet-l2-adam", "tanh-elu-selu-l1l2-nesterov", "logits-smoothing-rmsprop", "amsgrad",
        "saturated-sigmoid-from-logits-anyway"])
def test_the_numpy_path_trains_exactly_what_keras_trains(trainer, monkeypatch, layers, loss, optimizer):
    """Without dropout both draw nothing during training, so the curves must agree to rounding."""
    request = _request(*layers, loss=loss, epochs=3)
    request["from_logits"] = loss is LOGITS
    request["output_activation"] = "linear" if loss is LOGITS else "sigmoid"
    if optimizer:
        request["optimizer"] = optimizer
    theirs = _train_elsewhere(monkeypatch, request, GRADER_RETRAIN_ENGINE="keras")
    ours = train(trainer, request)
    assert (ours.engine, theirs.engine) == ("numpy", "jax")
    _assert_same_curves(ours, theirs, ("loss", "val_loss", "accuracy", "val_accuracy"))


@pytest.mark.parametrize("layers, optimizer", [
    ((_layer("Dense", units=16), _layer("BatchNormalization"), _layer("Activation", activation="relu"),
      _layer("Dense", units=1, activation="sigmoid")), None),
    ((_layer("Dense", units=16, activation="gelu"), _layer("Dense", units=1, activation="sigmoid")), None),
    ((_layer("Dense", units=16, activation="relu"), _layer("Dropout", rate=0.3, noise_shape=[None, 1]),
      _layer("Dense", units=1, activation="sigmoid")), None),
    (MLP, {"class_name": "AdamW", "module": "keras.optimizers", "config": {"learning_rate": 0.001}}),
    (MLP, {"class_name": "Adam", "module": "keras.optimizers",
           "config": {"learning_rate": 0.001, "clipnorm": 1.0}}),
], ids=["batchnorm", "gelu", "noise-shape", "adamw", "clipnorm"])
def test_what_the_numpy_path_does_not_reproduce_trains_with_keras(trainer, layers, optimizer):
    request = _request(*layers, epochs=2)
    if optimizer:
        request["optimizer"] = optimizer
    result = train(trainer, request)
    assert result.engine == "jax"
    assert result.last_loss < result.first_loss


def test_the_numpy_path_covers_the_sheets_model_with_dropout(trainer):
    result = train(trainer, _request(*MLP, epochs=3))
    assert result.engine == "numpy"


def test_the_tensorflow_reference_draws_the_fast_paths_dropout_masks(trainer, monkeypatch):
    """The reference run shares the fast path's shuffles, initial weights and dropout masks, so
    what is left between the two is arithmetic: the curves agree to rounding."""
    request = _request(*MLP, epochs=3)
    theirs = _train_elsewhere(monkeypatch, request, GRADER_RETRAIN_BACKEND="tensorflow")
    ours = train(trainer, request)
    assert (ours.engine, theirs.engine) == ("numpy", "tensorflow")
    _assert_same_curves(ours, theirs)


def test_a_dropout_rate_of_one_drops_everything_without_nan(trainer):
    result = train(trainer, _request(_layer("Dense", units=16, activation="relu"),
                                     _layer("Dropout", rate=1.0),
                                     _layer("Dense", units=1, activation="sigmoid"), epochs=2))
    assert result.engine == "numpy"
    assert None not in result.history["loss"]


def test_a_model_built_for_other_inputs_fails_in_keras_words(trainer):
    request = _request(_layer("Dense", units=16, activation="relu"),
                       _layer("Dense", units=1, activation="sigmoid"), epochs=1)
    request["model_config"]["config"]["layers"][0]["config"]["batch_shape"] = [None, 400]
    result = trainer.wait(trainer.submit(RetrainRequest.from_json(request)), timeout=300)
    assert result.status == "failed"
    assert "400" in result.message and "500" in result.message, result.message


def test_dropout_on_the_inputs_and_a_functional_chain_take_the_numpy_path(trainer):
    inputs = {"class_name": "InputLayer", "module": "keras.layers",
              "config": {"batch_shape": [None, 500], "name": "features"}, "name": "features",
              "inbound_nodes": []}

    def node(name, config, source):
        return {"class_name": name, "module": "keras.layers", "config": {"name": config.pop("name"), **config},
                "name": None, "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {
                    "shape": [None, 0], "dtype": "float32", "keras_history": [source, 0, 0]}}], "kwargs": {}}]}

    layers = [inputs, node("Dropout", {"name": "drop_in", "rate": 0.1}, "features"),
              node("Dense", {"name": "hidden", "units": 16, "activation": "relu"}, "drop_in"),
              node("Dense", {"name": "out", "units": 1, "activation": "sigmoid"}, "hidden")]
    for layer in layers[1:]:
        layer["name"] = layer["config"]["name"]
    request = _request(*MLP, epochs=2)
    request["model_config"] = {"class_name": "Functional", "module": "keras.src.models.functional",
                               "config": {"name": "chain", "layers": layers,
                                          "input_layers": [["features", 0, 0]],
                                          "output_layers": [["out", 0, 0]]}}
    result = train(trainer, request)
    assert result.engine == "numpy", result
    assert result.last_loss < result.first_loss


@pytest.mark.parametrize("normalisation", [False, True], ids=["numpy path", "keras on jax"])
def test_a_sparse_loss_on_one_output_fails_as_on_tensorflow(trainer, normalisation):
    """TensorFlow refuses label 1 for one output under a sparse loss; JAX would train on (0.47),
    so the worker refuses it whichever engine would train the model."""
    layers = [_layer("Dense", units=16, activation="relu"),
              _layer("Dense", units=1, activation="sigmoid")]
    if normalisation:  # not on the NumPy path: Keras on JAX would train it
        layers.insert(1, _layer("BatchNormalization"))
    request = _request(*layers, loss="sparse_categorical_crossentropy", epochs=1)
    result = trainer.wait(trainer.submit(RetrainRequest.from_json(request)), timeout=300)
    assert result.status == "failed", (result.status, result.test_accuracy)
    assert "label value of 1 which is outside the valid range of [0, 1)" in result.message
