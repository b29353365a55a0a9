"""The trusted retrain on Keras' JAX backend: real worker processes, small models, few epochs.

What the grader's verdicts rest on: the worker rebuilds what the config names (normalisation,
several outputs, schedules), reports a per-epoch history, gives the same numbers every time,
and the median of several data seeds judges ``--trials``.
"""

from __future__ import annotations

import pytest

from grader.pipeline import trial_requests
from grader.retrain.client import TrainerProcess
from grader.rubric import load_rubric

pytestmark = pytest.mark.slow


def _layer(name: str, **config) -> dict:
    return {"class_name": name, "module": "keras.layers", "config": config}


def _request(*layers: dict, loss: str = "binary_crossentropy", epochs: int = 3,
             learning_rate=0.001, seed: int = 7) -> dict:
    rubric = load_rubric()
    model = {"class_name": "Sequential", "module": "keras",
             "config": {"name": "student", "layers": [_layer("InputLayer", batch_shape=[None, 500]),
                                                      *layers]}}
    return {"model_config": model, "loss": loss, "loss_name": loss, "from_logits": False,
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
    result = trainer.wait(trainer.submit(request), timeout=300)
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

    request = _request(*MLP, epochs=2)
    trials = trial_requests(request, 3)
    assert [t["data"]["seed"] for t in trials] == [request["data"]["seed"] + i for i in range(3)]
    assert trials[0] is request and len({t["seed"] for t in trials}) == 3
    each = [train(trainer, t).test_accuracy for t in trials]
    retrainer = Retrainer(load_rubric(), cache=None)
    try:
        combined = _retrain(request, retrainer, 3, lambda text: None, trust_cache=False)
    finally:
        retrainer.close()
    assert combined.trials == tuple(each)
    assert combined.test_accuracy == sorted(each)[1]
    assert len(set(each)) > 1  # the seeds really differ
