"""The retrain's stress corpus (``benchmarks/stress_configs.py``) and its parity with TensorFlow on
the hardest configurations (issues 22 and 25); the whole corpus on 3 seeds is
``benchmarks/stress_parity.py``.

The fast tests read the corpus as data (what real code compiles is in it) and run the benchmark's
judge on outcomes made for it (a fast verdict that is not TensorFlow's is reported, TensorFlow's
own disagreements are not compared). The slow tests build every configuration with Keras and
retrain the hardest for real, with the benchmark's own comparison: the fast path once, and
TensorFlow's reference path with oneDNN's kernels and with Eigen's, each in a process of its own.
"""

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import stress_configs  # noqa: E402
import stress_parity  # noqa: E402
from stress_configs import Activation, Dense, Dropout  # noqa: E402

RUNNABLE = stress_configs.runnable()


def _hidden(config) -> list:
    return [layer for layer in config.layers[:-1] if isinstance(layer, Dense)]


def _output(config) -> str:
    """The output's activation: the last Dense's, or an Activation layer's after it."""
    last = config.layers[-1]
    return last.activation if isinstance(last, (Dense, Activation)) else "?"


# What the issue asks the corpus to hold, each as a test of one configuration
WANTED = {
    "no L2 and wide layers": lambda c: any(d.units >= 256 for d in _hidden(c))
    and not any(d.l2 for d in _hidden(c)),
    "saturating sigmoid hidden layers": lambda c: any(d.activation == "sigmoid" for d in _hidden(c)),
    "tanh hidden layers": lambda c: any(d.activation == "tanh" for d in _hidden(c)),
    "from_logits=True on a linear output": lambda c: c.loss.from_logits and _output(c) == "linear",
    "from_logits=True after a sigmoid": lambda c: c.loss.from_logits and _output(c) == "sigmoid",
    "BinaryCrossentropy(from_logits=False)": lambda c: c.loss.as_class and not c.loss.from_logits,
    "label smoothing": lambda c: c.loss.label_smoothing > 0,
    "a linear output on probabilities": lambda c: _output(c) == "linear" and not c.loss.from_logits,
    "a relu output": lambda c: _output(c) == "relu",
    "dropout": lambda c: any(isinstance(layer, Dropout) for layer in c.layers),
}


def test_the_corpus_holds_60_configurations_of_what_real_code_compiles():
    """Read as data (no model built): at least 60 runnable configurations, learning rates from
    1e-4 to 1 for Adam, SGD and RMSprop, SGD with momentum and with Nesterov, and each kind of
    model the issue names."""
    assert len(RUNNABLE) >= 60, f"the stress corpus has {len(RUNNABLE)} runnable configurations"
    names = [config.name for config in stress_configs.CONFIGS]
    assert len(set(names)) == len(names), "two stress configurations share a name"
    assert set(stress_configs.HARDEST) <= {config.name for config in RUNNABLE}
    for kind in ("Adam", "SGD", "RMSprop"):
        rates = [c.optimizer.learning_rate for c in RUNNABLE if c.optimizer.kind == kind]
        assert min(rates) <= 1e-4 and max(rates) >= 1.0, f"{kind}'s learning rates: {rates}"
    sgd = [c.optimizer for c in RUNNABLE if c.optimizer.kind == "SGD"]
    assert any(o.momentum and not o.nesterov for o in sgd) and any(o.nesterov for o in sgd)
    missing = [what for what, holds in WANTED.items() if not any(map(holds, RUNNABLE))]
    assert not missing, f"the stress corpus has no configuration with {missing}"


# What the lesson's ten-class exercise asks the corpus to hold (issue 25)
WANTED_MULTICLASS = {
    "the reference: Architecture 2, sparse": lambda c: c.layers[:4] == (
        Dense(128, "relu", 1e-3), Dropout(0.5), Dense(64, "relu", 1e-3), Dropout(0.5))
    and c.loss.kind == "sparse_categorical_crossentropy" and _output(c) == "softmax",
    "one-hot labels with categorical_crossentropy": lambda c: c.one_hot_labels,
    "from_logits=True on ten linear units, sparse": lambda c: c.loss.from_logits
    and _output(c) == "linear" and not c.one_hot_labels,
    "from_logits=True on ten linear units, one-hot": lambda c: c.loss.from_logits
    and _output(c) == "linear" and c.one_hot_labels,
    "label smoothing": lambda c: c.loss.label_smoothing > 0,
    "ten sigmoid units with a sparse loss": lambda c: _output(c) == "sigmoid"
    and c.loss.kind == "sparse_categorical_crossentropy",
    "no L2, no Dropout, wide": lambda c: not any(d.l2 for d in _hidden(c))
    and not any(isinstance(layer, Dropout) for layer in c.layers)
    and max(d.units for d in _hidden(c)) >= 512,
    "SGD with momentum": lambda c: c.optimizer.kind == "SGD" and c.optimizer.momentum > 0,
    "RMSprop": lambda c: c.optimizer.kind == "RMSprop",
}


def test_the_multiclass_configurations_are_the_lessons_and_one_name_selects_them():
    """Read as data: the multiclass exercise's configurations end in ten units, hold what the
    lesson's code and real Keras code compile (Adam from 1e-4 to 0.1), each exercise named is
    installed, and "10 classes" (the benchmark's ``--configs``) selects exactly them."""
    from grader.exercise import get

    for name in {config.exercise for config in stress_configs.CONFIGS}:
        get(name)  # an ExerciseError if the corpus names an exercise that is not installed
    multiclass = [c for c in RUNNABLE if c.exercise == "multiclass"]
    assert len(multiclass) >= 8
    assert multiclass == [c for c in stress_configs.CONFIGS if "10 classes" in c.name.lower()]
    assert all([d for d in c.layers if isinstance(d, Dense)][-1].units == 10 for c in multiclass)
    rates = {c.optimizer.learning_rate for c in multiclass if c.optimizer.kind == "Adam"}
    assert {1e-4, 1e-3, 1e-2, 0.1} <= rates, f"multiclass Adam learning rates: {sorted(rates)}"
    missing = [what for what, holds in WANTED_MULTICLASS.items() if not any(map(holds, multiclass))]
    assert not missing, f"the multiclass configurations have no {missing}"
    assert not any(c.one_hot_labels for c in RUNNABLE if c.exercise == "sentiment")


def _run(accuracy: float, loss_decreases: bool, passes: bool, engine: str) -> stress_parity.Run:
    return stress_parity.Run("ok", accuracy, 0.69, 0.3 if loss_decreases else 0.9, engine, 1.0,
                             {"loss_decreases": loss_decreases, "accuracy": passes})


def _outcome(fast: stress_parity.Run, onednn: stress_parity.Run, eigen: stress_parity.Run):
    return stress_parity.Outcome("sheet Adam 0.03", 20261125, {
        stress_parity.FAST: fast, stress_parity.ONEDNN: onednn, stress_parity.EIGEN: eigen})


def test_the_benchmark_reports_a_fast_verdict_that_is_not_tensorflows():
    """Where oneDNN and Eigen agree, a fast verdict that differs is one line with both
    accuracies; where they disagree, the verdict is TensorFlow's rounding and is not compared."""
    tensorflow = _run(0.825, True, True, "tensorflow")
    differs = _outcome(_run(0.47, True, False, "numpy"), tensorflow, tensorflow)
    assert differs.disagreements() == ["accuracy"]
    [line] = stress_parity.disagreement_lines([differs])
    assert line.startswith("sheet Adam 0.03 (seed 20261125): accuracy fast FAIL")
    assert "accuracy 0.4700" in line and "accuracy 0.8250" in line and "TensorFlow pass" in line

    rounding = _outcome(_run(0.47, True, False, "numpy"), tensorflow,
                        _run(0.69, True, False, "tensorflow"))
    assert rounding.reference("accuracy") is None and rounding.reference("loss_decreases") is True
    assert stress_parity.disagreement_lines([rounding]) == []
    same = _outcome(_run(0.83, True, True, "numpy"), tensorflow, tensorflow)
    assert stress_parity.disagreement_lines([same, rounding]) == []


@pytest.mark.slow  # it builds every configuration's model with Keras: ~1-3 min on 2 cores
def test_the_corpus_has_60_configurations_the_grader_retrains():
    from grader.rubric import load_rubric

    configs = stress_configs.runnable()
    assert len(configs) >= 60, f"the stress corpus has {len(configs)} runnable configurations"
    names = [config.name for config in stress_configs.CONFIGS]
    assert len(set(names)) == len(names), "two stress configurations share a name"
    assert set(stress_configs.HARDEST) <= set(names)
    for kind in ("Adam", "SGD", "RMSprop"):
        rates = [c.optimizer.learning_rate for c in configs if c.optimizer.kind == kind]
        assert min(rates) <= 1e-4 and max(rates) >= 1.0, f"{kind}'s learning rates: {rates}"
    observed, job_list = stress_parity.jobs(configs, 3, stress_parity.rubrics(configs))
    assert len(job_list) == 3 * len(configs)
    for exercise in ("sentiment", "multiclass"):
        seeds = {job["request"]["data"]["seed"] for job in job_list if job["exercise"] == exercise}
        assert len(seeds) == 3 and min(seeds) == load_rubric(exercise=exercise).data["seed"]
    requests = {job["key"].rpartition("|")[0]: job["request"] for job in job_list}
    # what the grader sends follows the loss as compiled
    assert requests["sigmoid output from_logits Adam 1e-3"]["from_logits"] is True
    assert requests["sigmoid output from_logits Adam 1e-3"]["output_activation"] == "sigmoid"
    assert requests["linear output BCE Adam 1e-3"]["output_activation"] == "linear"
    assert requests["label smoothing 0.1"]["loss"]["config"]["label_smoothing"] == 0.1
    assert "class_weight" not in requests["keras-io imbalance Adam 1e-2"]
    # each on its exercise's inputs and protocol; one-hot labels as fit saw them
    assert requests["sheet Adam 0.001"]["n_features"] == 500
    assert requests["sheet Adam 0.001"]["one_hot_labels"] is False
    reference = requests["10 classes reference sparse Adam 1e-3"]
    assert (reference["n_features"], reference["epochs"], reference["batch_size"]) == (784, 30, 32)
    assert reference["one_hot_labels"] is False
    assert observed["10 classes one-hot categorical Adam 1e-3"].label_width == 10
    assert requests["10 classes one-hot categorical Adam 1e-3"]["one_hot_labels"] is True
    assert requests["10 classes logits sparse from_logits"]["output_activation"] == "linear"


@pytest.mark.slow
def test_fast_verdicts_are_tensorflows_on_the_hardest_configurations():
    module = stress_parity
    hardest = [c for c in stress_configs.CONFIGS if c.name in stress_configs.HARDEST]
    found = module.compare(hardest, seeds=1)
    assert len(found) == len(hardest)
    compared = sum(o.reference(check) is not None for o in found for check in module.VERDICTS)
    assert compared >= len(found), "TensorFlow disagreed with itself on most verdicts"
    problems = module.disagreement_lines(found)
    assert not problems, "the fast path's verdicts differ from TensorFlow's:\n" + "\n".join(problems)


# -- what the corpus found: TensorFlow's logits after a sigmoid or softmax, pinned fast --------

def _saturated_plan(keras, head, tail, loss):
    """``mlp.plan`` of Input(20) -> Dense(8, relu) -> ``head`` -> ``tail``, its weights large
    enough that the output saturates (outside Keras' clip, where probabilities get no
    gradient)."""
    from grader.retrain import mlp

    keras.utils.set_random_seed(5)
    model = keras.Sequential([keras.Input((20,)), keras.layers.Dense(8, "relu"), head, *tail])
    plan = mlp.plan(model, keras.losses.get(loss), keras.optimizers.Adam(1e-2), keras, 20)
    assert plan is not None, "the fast path does not take this model"
    plan.weights[:] = np.random.default_rng(0).normal(scale=3.0, size=plan.weights.size)
    return plan


@pytest.mark.parametrize("units, activation, loss", [
    (1, "sigmoid", "binary_crossentropy"),
    (10, "softmax", "sparse_categorical_crossentropy"),
    (10, "sigmoid", "categorical_crossentropy"),
])
def test_a_linear_activation_after_the_output_keeps_its_logits(units, activation, loss):
    """``Activation("linear")`` returns its input itself, so TensorFlow-Keras still computes
    the loss from the sigmoid's (softmax's) logits: one step of the fast path on saturated
    outputs gives the same loss and the same weights with it as without it (it took the
    probabilities, clipped: no gradient there)."""
    import keras

    from grader.retrain import mlp

    rng = np.random.default_rng(1)
    x = rng.normal(size=(32, 20)).astype(np.float32)
    labels = rng.integers(0, max(units, 2), 32)
    y = np.eye(units, dtype=np.float32)[labels] if loss == "categorical_crossentropy" else labels
    steps = []
    for tail in ((), (keras.layers.Activation("linear"),)):
        plan = _saturated_plan(keras, keras.layers.Dense(units, activation), tail, loss)
        trainer = mlp.Trainer(plan, seed=0)
        loss_value, _ = trainer.step(x, y.astype(np.float32))
        steps.append((float(loss_value), plan.weights.copy()))
    (plain_loss, plain_weights), (linear_loss, linear_weights) = steps
    assert linear_loss == plain_loss
    np.testing.assert_array_equal(linear_weights, plain_weights)


@pytest.mark.parametrize("head, tail, loss, activate", [
    ((10, "sigmoid"), (), "categorical_crossentropy", "_sigmoid"),
    ((10, "sigmoid"), (), "sparse_categorical_crossentropy", "_sigmoid"),
    ((10, "softmax"), ("linear",), "sparse_categorical_crossentropy", "_softmax"),
    ((1, "softmax"), (), "binary_crossentropy", "_softmax"),
    ((1, "sigmoid"), ("linear",), "binary_crossentropy", "_sigmoid"),
])
def test_keras_on_jax_takes_the_logits_of_any_cross_entropy_as_tensorflow(head, tail, loss,
                                                                          activate):
    """The Keras-on-JAX fallback (``worker._logits_as_tensorflow``): after a sigmoid or a
    softmax, through a linear Activation, every cross-entropy is recompiled on the activation's
    logits (TensorFlow's ``_get_logits`` takes them whichever activation attached them), and the
    predictions are that activation of the outputs."""
    import keras

    from grader.retrain import worker

    units, activation = head
    keras.utils.set_random_seed(5)
    model = keras.Sequential([keras.Input((20,)), keras.layers.Dense(units, activation),
                              *(keras.layers.Activation(name) for name in tail)])
    model.compile(optimizer="adam", loss=keras.losses.get(loss))  # as the worker's _build
    applied = worker._logits_as_tensorflow(model, keras)
    assert applied is getattr(worker, activate)
    assert model.layers[0].activation is keras.activations.linear
    assert type(model.loss).__name__.lower() == loss.replace("_", "") and model.loss.from_logits
    # the recompiled loss on the outputs is the loss on the logits, as TensorFlow computes it
    x = np.random.default_rng(2).normal(size=(16, 20)).astype(np.float32)
    kernel, bias = (np.asarray(w) for w in model.layers[0].get_weights())
    labels = np.arange(16) % max(units, 2)  # two classes for one output
    y = (np.eye(units, dtype=np.float32)[labels] if loss == "categorical_crossentropy"
         else labels.astype(np.float32).reshape(-1, 1) if units == 1 else labels)
    on_logits = type(model.loss)(from_logits=True)
    assert float(model.loss(y, model(x))) == pytest.approx(float(on_logits(y, x @ kernel + bias)),
                                                           rel=1e-6)
