"""Unit tests of every check against hand-made observations: no TensorFlow, milliseconds each."""

from __future__ import annotations

import dataclasses
import json

import pytest

from grader.checks import printed_accuracy, run_checks
from sentiment_exercise import CHECK_IDS, CHECKS
from grader.observation import CompileInfo, ErrorInfo, FitCall, Layer, ModelInfo, Observation
from grader.rubric import load_rubric
from grader.retrain.client import TrainingResult

RUBRIC = load_rubric()


def dense(units, activation="relu", l2=0.001, **kw):
    return Layer("Dense", f"dense_{units}", units=units, activation=activation, kernel_l2=l2, **kw)


def drop(rate=0.5):
    return Layer("Dropout", "dropout", rate=rate)


REFERENCE_LAYERS = (dense(256), drop(), dense(128), drop(0.3), dense(64),
                    dense(1, "sigmoid", l2=0.0))
GOOD_COMPILE = CompileInfo("binary_crossentropy", False, "binary_crossentropy", {}, "Adam", True)
GOOD_TRAINING = TrainingResult("ok", test_accuracy=0.91, first_loss=1.5, last_loss=0.2, epochs=50)


def observation(**changes) -> Observation:
    base = Observation(
        status="completed",
        data_calls=({"n_samples": 2000, "n_features": 500, "n_classes": 2},),
        split_calls=({"test_size": 0.2, "shapes": [[1600, 500], [400, 500], [1600], [400]]},),
        model=ModelInfo(1, "Sequential", REFERENCE_LAYERS, {}),
        compile=GOOD_COMPILE,
        fits=(FitCall(50, 32, 0.2, False, (), True),),
        test_accuracies=(0.8725,), evaluated=True,
        stdout="Test accuracy: 0.8725\n", source="Dropout(0.5)",
    )
    return dataclasses.replace(base, **changes)


def with_layers(*layers) -> Observation:
    return observation(model=ModelInfo(1, "Sequential", tuple(layers), {}))


def failed(obs: Observation, training=GOOD_TRAINING) -> set[str]:
    return {r.id for r in run_checks(obs, training, RUBRIC) if not r.passed}


def test_every_rubric_check_has_exactly_one_function():
    assert tuple(CHECKS) == CHECK_IDS == tuple(RUBRIC.points)
    assert RUBRIC.max_score == 100


def test_reference_observation_passes_everything():
    assert failed(observation()) == set()


@pytest.mark.parametrize("layers, check, phrase", [
    ((dense(256), drop(), dense(64), dense(1, "sigmoid")), "hidden_layers", "found 2 hidden"),
    ((dense(128), drop(), dense(128), dense(128), dense(1, "sigmoid")), "decreasing_widths",
     "128 → 128"),
    ((dense(256, l2=0, kernel_l1=0.01), drop(), dense(128, l2=0), dense(64, l2=0),
      dense(1, "sigmoid")), "l2", "L1"),
    ((dense(256, l2=0), drop(), dense(128, l2=0), dense(64, l2=0), dense(1, "sigmoid", l2=0.01)),
     "l2", "output layer"),
    ((dense(256), dense(128), dense(64), dense(1, "sigmoid")), "dropout", "no Dropout"),
    ((drop(0.2), dense(256), dense(128), dense(64), dense(1, "sigmoid")), "dropout", "raw inputs"),
    ((dense(256), drop(0.0), dense(128), dense(64), dense(1, "sigmoid")), "dropout", "rate 0"),
    ((dense(256), drop(), dense(128, "linear"), dense(64), dense(1, "sigmoid")),
     "hidden_activations", "dense_128"),
    ((dense(256), drop(), dense(128), dense(64), dense(2, "softmax")), "output_layer",
     "Dense(2) with softmax"),
    ((dense(256), drop(), dense(128), dense(64), dense(1, "softmax")), "output_layer",
     "always outputs 1.0"),
])
def test_architecture_mistakes_fail_only_their_own_check(layers, check, phrase):
    obs = with_layers(*layers)
    results = {r.id: r for r in run_checks(obs, GOOD_TRAINING, RUBRIC)}
    assert {i for i, r in results.items() if not r.passed} == {check}
    assert phrase in results[check].message
    assert results[check].hint


def test_separate_activation_layers_count_through_batchnorm():
    obs = with_layers(dense(256, "linear"), Layer("BatchNormalization"), Layer("ReLU", activation="relu"),
                      drop(), dense(128, "linear"), Layer("Activation", activation="tanh"),
                      dense(64), dense(1, "linear"), Layer("Activation", activation="sigmoid"))
    assert failed(obs) == set()


def test_hidden_layer_message_suggests_the_missing_width():
    result = CHECKS["hidden_layers"](with_layers(dense(256), drop(), dense(64), dense(1, "sigmoid")),
                                     None, RUBRIC)
    assert "256 → 64" in result.message and "Dense(128" in result.hint


def test_logits_output_fails_output_layer_but_passes_loss():
    obs = observation(model=ModelInfo(1, "Sequential", REFERENCE_LAYERS[:-1] + (dense(1, "linear", 0),), {}),
                      compile=dataclasses.replace(GOOD_COMPILE, from_logits=True))
    results = {r.id: r for r in run_checks(obs, GOOD_TRAINING, RUBRIC)}
    assert failed(obs) == {"output_layer"}
    assert "from_logits=True" in results["output_layer"].message


def test_sigmoid_with_from_logits_fails_loss():
    obs = observation(compile=dataclasses.replace(GOOD_COMPILE, from_logits=True))
    assert failed(obs) == {"loss"}


@pytest.mark.parametrize("loss", ["categorical_crossentropy", "mean_squared_error", None])
def test_other_losses_fail(loss):
    assert failed(observation(compile=dataclasses.replace(GOOD_COMPILE, loss=loss))) == {"loss"}


@pytest.mark.parametrize("fit, ok", [
    (FitCall(50, None, 0.2, False, (), True), True),  # batch size omitted: Keras' default 32
    (FitCall(50, 32, 0.0, True, (), True), True),  # explicit validation_data
    (FitCall(50, 32, 0.2, False, ("EarlyStopping",), True), True),
    (FitCall(10, 32, 0.2, False, (), True), False),
    (FitCall(50, 64, 0.2, False, (), True), False),
    (FitCall(50, 32, 0.0, False, (), True), False),
    (FitCall(50, 32, 0.1, False, (), True), False),
])
def test_training_arguments(fit, ok):
    assert (failed(observation(fits=(fit,))) == set()) is ok


@pytest.mark.parametrize("changes, check", [
    ({"data_calls": ({"n_samples": 2000, "n_features": 400},)}, "data"),
    ({"data_calls": ({"n_samples": 1000, "n_features": 500, "n_classes": 2},)}, "data"),
    ({"data_calls": ()}, "data"),
    ({"split_calls": ({"shapes": [[1400, 500], [600, 500]]},)}, "split"),
    ({"split_calls": ({"shapes": [[1500, 500], [500, 500]]},)}, "split"),  # the default 25%
    ({"stdout": "Dropout rate: 0.5\nLoss: 0.31\n"}, "prints_accuracy"),
])
def test_data_split_and_print_mistakes(changes, check):
    assert failed(observation(**changes)) == {check}


def test_split_with_train_size_passes():
    assert failed(observation(split_calls=({"train_size": 0.8, "shapes": [[1600], [400]]},))) == set()


@pytest.mark.parametrize("stdout, shown", [
    ("Test accuracy: 0.8725\n", True),
    ("Test accuracy: 0.87\n", True),
    ("acc=87.25%\n", True),
    ("Accuracy: 87%\n", True),
    ("Accuracy 87.2\n", True),  # a percentage, truncated
    ("0.8725000023841858\n", True),
    ("Test accuracy: 0.9\n", True),  # rounded to one decimal, on a line about accuracy
    ("result 0.9\n", True),  # matched at whatever precision it is printed
    ("0.5\n", False),  # not the accuracy evaluate gave
    ("Accuracy: 1\n", False),  # a bare 0 or 1 is no accuracy
    ("Dropout 0.87\n", False),  # a literal of the source, on a line that is not about accuracy
    ("13/13 ━━━━━━━━ 0s 2ms/step - accuracy: 0.8725 - loss: 0.3\n", False),  # Keras' own log
    ("Epochs: 50\n", False),
])
def test_printed_accuracy_forms(stdout, shown):
    assert (printed_accuracy(stdout, [0.8725], source="Dropout(0.87)") is not None) is shown


@pytest.mark.parametrize("stdout, rate, shown", [
    ("The model gets 50% of the test reviews right\n", 0.4, True),  # 50 is fit's epochs=50 too
    ("Dropout: 50%\n", 0.5, False),  # the Dropout rate, as a percentage
    ("Epochs: 50\n", 0.4, False),
])
def test_a_percentage_is_not_mistaken_for_a_literal(stdout, rate, shown):
    source = f"model.add(Dropout({rate}))\nmodel.fit(X, y, epochs=50)"
    assert (printed_accuracy(stdout, [0.4950000047683716], source) is not None) is shown


@pytest.mark.parametrize("source, stdout, shown", [
    ('print("Test accuracy: 0.5")', "Test accuracy: 0.5\n", False),  # typed, not measured
    ('print("Test accuracy:", 0.5)', "Test accuracy: 0.5\n", False),
    ('print(f"Test accuracy: {0.5}")', "Test accuracy: 0.5\n", False),
    ('print("""Results\nTest accuracy: 0.5""")', "Results\nTest accuracy: 0.5\n", False),
    ('model.add(Dropout(0.5))\nprint(f"Test accuracy: {acc:.1f}")', "Test accuracy: 0.5\n", True),
    ('print(f"Dropout 0.5: test accuracy {acc:.1f}")', "Dropout 0.5: test accuracy 0.5\n", True),
    ('print("Accuracy: %.2f" % acc)', "Accuracy: 0.51\n", True),
    ('print("Test accuracy:", round(acc, 1))', "Test accuracy: 0.5\n", True),
])
def test_a_number_typed_into_the_print_is_not_the_measured_accuracy(source, stdout, shown):
    """In fast mode the untrained model's accuracy is near 0.5, so a hard-coded "0.5" printed at
    one decimal would match it: a number the source itself prints does not count."""
    assert (printed_accuracy(stdout, [0.5125], source) is not None) is shown


def test_evaluate_without_accuracy_metric_is_explained():
    obs = observation(test_accuracies=(), compile=dataclasses.replace(GOOD_COMPILE, has_accuracy_metric=False))
    result = CHECKS["prints_accuracy"](obs, GOOD_TRAINING, RUBRIC)
    assert not result.passed and "metrics=['accuracy']" in result.hint


@pytest.mark.parametrize("training, failing", [
    (TrainingResult("ok", test_accuracy=0.65, first_loss=1.0, last_loss=0.5, epochs=50), {"accuracy"}),
    (TrainingResult("ok", test_accuracy=0.70, first_loss=1.0, last_loss=0.5, epochs=50), {"accuracy"}),
    (TrainingResult("ok", test_accuracy=0.9, first_loss=0.5, last_loss=0.7, epochs=50), {"loss_decreases"}),
    (TrainingResult("ok", test_accuracy=0.5, first_loss=0.5, last_loss=float("nan"), epochs=3),
     {"loss_decreases", "accuracy"}),
    (TrainingResult("refused", "a Lambda layer runs arbitrary code"), {"loss_decreases", "accuracy"}),
    (TrainingResult("timeout", "training took longer than 300 s"), {"loss_decreases", "accuracy"}),
])
def test_trained_checks_use_only_the_graders_numbers(training, failing):
    assert failed(observation(), training) == failing


def test_a_crash_keeps_what_was_earned_and_names_the_line():
    obs = observation(status="error", fits=(), test_accuracies=(), stdout="",
                      error=ErrorInfo("NameError", "name 'X_tr' is not defined", 27, "model.fit(X_tr)",
                                      "exception"))
    results = {r.id: r for r in run_checks(obs, GOOD_TRAINING, RUBRIC)}
    assert {i for i, r in results.items() if not r.passed} == {"runs", "training", "prints_accuracy"}
    assert "line 27" in results["runs"].message and "NameError" in results["runs"].message
    assert "line 27" in results["training"].message


@pytest.mark.parametrize("status, kind, phrase", [
    ("timeout", "timeout", "time limit"),
    ("memory", "memory", "MB of memory"),
    ("error", "network", "no network"),
    ("error", "filesystem", "working directory"),
    ("error", "syntax", "SyntaxError"),
    ("error", "exit", "sys.exit"),
])
def test_runs_messages(status, kind, phrase):
    obs = observation(status=status, error=ErrorInfo("X", "sys.exit(3)" if kind == "exit" else "boom",
                                                     3, "x", kind))
    result = CHECKS["runs"](obs, None, RUBRIC)
    assert not result.passed and phrase in result.message


def test_no_model_fails_structural_checks_without_crashing():
    obs = observation(model=None, compile=None, fits=(), test_accuracies=(), evaluated=False)
    assert failed(obs, None) == set(CHECK_IDS) - {"runs", "data", "split"}


def test_cached_retrains_are_trusted_only_when_writes_were_confined():
    from grader.pipeline import _writes_confined

    assert _writes_confined(observation(protections={"landlock_fs": "applied"}))
    assert not _writes_confined(observation(protections={"landlock_fs": "unavailable: old kernel"}))
    assert _writes_confined(observation(protections={}))  # nothing ran, nothing was written


def test_failed_checks_name_the_layers_they_concern():
    """The HTML report outlines these layers (indices into the model's layers)."""
    def layers_of(*layers: Layer) -> dict[str, tuple[int, ...]]:
        obs = Observation(status="completed", model=ModelInfo(1, "Sequential", layers, {}))
        return {r.id: r.layers for r in run_checks(obs, None, load_rubric()) if not r.passed}

    dense = lambda units, activation="relu", l2=0.001: Layer(  # noqa: E731
        "Dense", f"d{units}", units=units, activation=activation, kernel_l2=l2)
    found = layers_of(dense(128, l2=0), Layer("Dropout", "drop", rate=0.0), dense(256, l2=0),
                      dense(64, "linear", l2=0), dense(2, "softmax", l2=0))
    assert found["decreasing_widths"] == (0, 2)  # 128 -> 256
    assert found["l2"] == (0, 2, 3)
    assert found["dropout"] == (1,)
    assert found["hidden_activations"] == (3,)
    assert found["output_layer"] == (4,)
    assert layers_of(dense(256), dense(1, "sigmoid"))["hidden_layers"] == (0,)


# ---------------------------------------------------------------- feedback a student can trust

def _crash(line: str, lineno: int = 17, type_="TypeError", message="boom", **changes):
    return observation(status="error", error=ErrorInfo(type_, message, lineno, line, "exception"),
                       **changes)


def test_a_crash_while_building_the_model_gives_no_false_hints_about_the_model():
    """A typo in the 2nd layer: the model exists with one layer, never compiled."""
    obs = _crash("model.add(Dense(128, activaton='relu'))", message="Unrecognized keyword",
                 model=ModelInfo(1, "Sequential", (dense(256),), {}), compile=None, fits=(),
                 test_accuracies=(), evaluated=False, stdout="")
    results = {r.id: r for r in run_checks(obs, None, RUBRIC)}
    assert results["data"].passed and results["split"].passed
    unreached = [r for r in results.values() if not r.passed and r.id != "runs"]
    assert {r.id for r in unreached} == set(CHECK_IDS) - {"runs", "data", "split"}
    for result in unreached:
        assert result.message == ("not reached: your script stopped at line 17 while building "
                                  "the model"), result
        assert result.hint == "" and "add" not in result.message
    assert "activaton" in results["runs"].message and results["runs"].hint


@pytest.mark.parametrize("lineno, finished", [(6, True), (4, False)])
def test_a_crash_after_the_last_layer_still_judges_the_finished_model(lineno, finished):
    """`plot_model` without pydot between the model and compile: the model was finished, so its
    checks count; a crash on a line before the last layer's still means it was not."""
    source = ("model = Sequential()\nmodel.add(Dense(256, activation='relu'))\n"
              "model.add(Dropout(0.5))\nhelper()\nmodel.add(Dense(1, activation='sigmoid'))\n"
              "plot_model(model)\nmodel.compile(loss='binary_crossentropy')\n")
    obs = _crash(source.split("\n")[lineno - 1], lineno=lineno, type_="ImportError",
                 message="You must install pydot", source=source, compile=None, fits=(),
                 test_accuracies=(), evaluated=False, stdout="")
    results = {r.id: r for r in run_checks(obs, None, RUBRIC)}
    assert results["hidden_layers"].passed is finished and results["l2"].passed is finished
    stage = "after building the model" if finished else "while building the model"
    assert results["loss"].message == f"not reached: your script stopped at line {lineno} {stage}"


def test_a_last_model_built_after_another_was_trained_is_explained():
    """A notebook whose last model cell was run out of order: the graded `model` came after the
    one that was compiled and trained, and the report says so."""
    other = FitCall(50, 32, 0.2, False, (), True, model_uid=7)
    obs = observation(compile=None, fits=(), all_fits=(other,))
    results = {r.id: r for r in run_checks(obs, None, RUBRIC)}
    assert results["loss"].message.startswith("the model your script ends with was never "
                                              "compiled: it compiled and trained another model")
    assert "another model" in results["accuracy"].message or \
        "another model" in results["loss_decreases"].message
    alone = {r.id: r for r in run_checks(observation(compile=None, fits=(), all_fits=()), None,
                                         RUBRIC)}
    assert alone["loss"].message == "the model was never compiled"


@pytest.mark.parametrize("x_rows, passed", [(2000, False), (1600, True), (1280, True),
                                             (None, True)])
def test_fit_on_the_rows_the_test_split_holds_fails_training(x_rows, passed):
    """`fit(X, y)` after the split trains on the test rows too: its test accuracy means little."""
    fit = FitCall(50, 32, 0.2, False, (), True, x_rows=x_rows)
    result = CHECKS["training"](observation(fits=(fit,)), GOOD_TRAINING, RUBRIC)
    assert result.passed is passed, result
    if not passed:
        assert result.message.startswith("model.fit was called with x of 2000 rows, more than "
                                         "the 1600 training rows")
        assert "X_train, y_train" in result.hint


@pytest.mark.parametrize("events, status, graded_as", [
    ((), "exited", "grader_error"),  # the probe never said the script starts
    (({"event": "sandbox"},), "timeout", "grader_error"),
    (({"event": "sandbox"}, {"event": "start"}), "exited", "killed"),  # the script's own doing
])
def test_a_sandbox_that_fails_before_the_script_starts_is_the_graders_failure(events, status,
                                                                              graded_as):
    from grader.observation import observe
    from grader.sandbox import SandboxRun

    obs = observe(SandboxRun(events, "", "", status, 1, 1.0, 1.0), "print(1)\n")
    assert obs.status == graded_as
    runs, data = run_checks(obs, None, RUBRIC)[:2]
    if graded_as == "grader_error":
        assert runs.message.startswith("the grader failed before your script started (its "
                                       "sandbox ") and "no fault of your script" in runs.message
        assert runs.note == "grader error" and "tell your instructor" in runs.hint
        assert data.message == "not reached: the grader failed before your script started"
    else:
        assert runs.message.startswith("your script ended abruptly")


@pytest.mark.parametrize("widths, hint", [
    ((256, 64), "add a Dense(128, activation='relu') between the 256- and 64-unit layers"),
    ((300, 100), "add a Dense(128, activation='relu') between the 300- and 100-unit layers"),
    ((256, 128), "add a Dense(64, activation='relu') after the 128-unit layer, before the "
                 "output layer"),
])
def test_the_hint_for_a_missing_hidden_layer_suggests_a_round_width(widths, hint):
    layers = tuple(dense(w) for w in widths) + (dense(1, "sigmoid", l2=0),)
    result = CHECKS["hidden_layers"](observation(model=ModelInfo(1, "Sequential", layers, {})),
                                     GOOD_TRAINING, RUBRIC)
    assert not result.passed and result.hint == hint


def test_an_evaluation_on_the_training_split_is_named():
    from grader.observation import Evaluation

    obs = observation(test_accuracies=(), evaluations=(Evaluation(1, (0.99,), False, 1600),))
    result = CHECKS["prints_accuracy"](obs, GOOD_TRAINING, RUBRIC)
    assert result.message == ("the model was evaluated on 1600 rows (the training split's), "
                              "never on the test split's 400")
    assert "evaluate(X_test, y_test)" in result.hint


def test_a_crash_at_compile_still_judges_the_finished_model():
    obs = _crash("model.compile(optimizer='adam', los='binary_crossentropy')", lineno=30,
                 compile=None, fits=(), test_accuracies=(), evaluated=False, stdout="")
    results = {r.id: r for r in run_checks(obs, None, RUBRIC)}
    assert all(results[c].passed for c in ("hidden_layers", "l2", "dropout", "output_layer"))
    assert results["loss"].message == \
        "not reached: your script stopped at line 30 while compiling the model"


@pytest.mark.parametrize("stdout", ["Test accuracy: 0.5\n", "0.5\n", "accuracy 50%\n",
                                    "[0.6931, 0.5]\n", "Accuracy: 50.0\n"])
def test_a_round_accuracy_is_read_at_whatever_precision_it_is_printed(stdout):
    obs = observation(test_accuracies=(0.5,), stdout=stdout, shortened=True, source="x = 1")
    result = CHECKS["prints_accuracy"](obs, GOOD_TRAINING, RUBRIC)
    assert result.passed, result
    assert "0.50 from fast mode's shortened training; the grader trains your model itself" in result.message


def test_the_printed_accuracy_is_rounded_and_labelled_in_fast_mode_only():
    fast = observation(test_accuracies=(0.4675000011920929,), shortened=True,
                       stdout="Test accuracy: 0.4675000011920929\n")
    message = CHECKS["prints_accuracy"](fast, GOOD_TRAINING, RUBRIC).message
    assert "0.47 from fast mode's shortened training" in message
    full = observation(stdout="Test accuracy: 0.8725\n")
    assert "shortened training" not in CHECKS["prints_accuracy"](full, None, RUBRIC).message


def test_the_untouched_template_scores_zero():
    obs = observation(data_calls=(), split_calls=(), model=None, compile=None, fits=(),
                      test_accuracies=(), evaluated=False, stdout="")
    results = run_checks(obs, None, RUBRIC)
    assert not any(r.passed for r in results)
    assert "starter template" in results[0].message


@pytest.mark.parametrize("line, module, found, hint", [
    ("import plotly.express as px", "plotly", "grading does not need it, remove the import",
     "remove `import plotly.express as px` and what uses it (matplotlib and seaborn are available"),
    ("import seaborn as sns", "seaborn", "lacks seaborn, which it is meant to have",
     "tell your instructor"),
    ("from sklearn.model_selections import train_test_split", "sklearn.model_selections",
     "scikit-learn is installed, but it has no module 'model_selections'", "check the spelling"),
    ("import tensorflow as tf", "tensorflow", "lacks tensorflow, which grading needs",
     "tell your instructor"),
])
def test_a_missing_module_names_the_package_and_whether_grading_needs_it(line, module, found,
                                                                          hint):
    obs = _crash(line, lineno=3, type_="ModuleNotFoundError",
                 message=f"No module named '{module}'", data_calls=(), split_calls=(),
                 model=None, compile=None, fits=(), test_accuracies=(), evaluated=False)
    result = CHECKS["runs"](obs, None, RUBRIC)
    assert f"No module named '{module}'" in result.message and found in result.message
    assert hint in result.hint


def test_softmax_output_with_binary_cross_entropy_says_what_was_found_and_the_fix():
    message = ("Arguments `target` and `output` must have the same rank (ndim). Received: "
               "target.shape=(None,), output.shape=(None, 2)")
    obs = _crash("history = model.fit(X_train, y_train, epochs=50)", lineno=40,
                 type_="ValueError", message=message, fits=(), test_accuracies=(),
                 model=ModelInfo(1, "Sequential", REFERENCE_LAYERS[:-1] + (dense(2, "softmax"),),
                                 {}))
    runs = CHECKS["runs"](obs, None, RUBRIC)
    assert "outputs 2 values per review (Dense(2) with softmax)" in runs.message
    assert "ValueError" not in runs.message and "Dense(1, activation='sigmoid')" in runs.hint
    retrain = CHECKS["accuracy"](obs, TrainingResult("failed", f"ValueError: {message}"), RUBRIC)
    assert "outputs 2 values per review" in retrain.message and "ValueError" not in retrain.message


_SCCE_RANGE = ("Graph execution error:\n\nDetected at node compile_loss/sparse_categorical_"
               "crossentropy/SparseSoftmaxCrossEntropyWithLogits\nReceived a label value of 1 "
               "which is outside the valid range of [0, 1).  Label values: 1 0 1")


@pytest.mark.parametrize("loss, output, message, found", [
    # the lesson's own "Issue in your code": categorical cross-entropy on integer labels
    ("categorical_crossentropy", dense(2, "softmax", l2=0),
     "Arguments `target` and `output` must have the same rank (ndim). Received: "
     "target.shape=(32,), output.shape=(32, 2)",
     ("loss='categorical_crossentropy' expects one-hot labels", "to_categorical(y, 2)",
      "loss='sparse_categorical_crossentropy', which takes integer labels")),
    ("sparse_categorical_crossentropy", dense(1, "sigmoid", l2=0), _SCCE_RANGE,
     ("loss='sparse_categorical_crossentropy' needs one output per class, but the model has 1 "
      "(Dense(1) with sigmoid) and a label is 1",)),
    ("binary_crossentropy", dense(1, "sigmoid", l2=0),
     "Arguments `target` and `output` must have the same shape. Received: "
     "target.shape=(32, 2), output.shape=(32, 1)",
     ("the labels are one-hot (2 columns, from to_categorical)",)),
    ("mean_squared_error", dense(2, "softmax", l2=0),
     "Arguments `target` and `output` must have the same rank (ndim). Received: "
     "target.shape=(32,), output.shape=(32, 2)",
     ("the labels are integers (one per review), but the model outputs 2 values per review "
      "(Dense(2) with softmax): loss='mean_squared_error' compares them value by value",)),
], ids=["categorical-integer-labels", "sparse-one-output", "binary-one-hot", "mse-two-outputs"])
def test_a_label_mismatch_names_the_loss_used_the_output_and_the_fixes(loss, output, message,
                                                                        found):
    obs = _crash("history = model.fit(X_train, y_train, epochs=50)", lineno=40,
                 type_="ValueError", message=message, fits=(), test_accuracies=(),
                 compile=dataclasses.replace(GOOD_COMPILE, loss=loss, loss_config=loss),
                 model=ModelInfo(1, "Sequential", REFERENCE_LAYERS[:-1] + (output,), {}))
    runs = CHECKS["runs"](obs, None, RUBRIC)
    for words in found:
        assert words in runs.message, runs.message
    assert "Keras cannot train it as compiled" in runs.message
    assert "ValueError" not in runs.message and "binary cross-entropy compares" not in (
        runs.message if loss != "binary_crossentropy" else "")
    assert "Dense(1, activation='sigmoid')" in runs.hint and "binary_crossentropy" in runs.hint
    assert runs.note.endswith("(labels do not fit the loss)")


def test_a_notebook_is_called_a_notebook_and_its_place_named_by_its_heading():
    from grader.sources import notebook_to_script

    source = notebook_to_script(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                                            "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": "## Step 3: Build the model"},
        {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
         "source": "model = Sequential()\nmodel.add(Dense(128, activaton='relu'))"}]}))
    lineno = next(n for n, line in enumerate(source.split("\n"), 1) if "activaton" in line)
    obs = _crash("model.add(Dense(128, activaton='relu'))", lineno=lineno, source=source,
                 model=None, compile=None, fits=(), test_accuracies=(), evaluated=False)
    results = {r.id: r for r in run_checks(obs, None, RUBRIC)}
    assert results["runs"].message.startswith(
        "your notebook stopped at line 2 of the cell under “Step 3: Build the model”")
    assert results["l2"].message == ("not reached: your notebook stopped at line 2 of the cell "
                                     "under “Step 3: Build the model” while building the model")


def test_the_instructors_note_names_a_notebooks_place_in_short():
    from grader.sources import notebook_to_script

    source = notebook_to_script(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                                            "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": "## Step 6: Evaluate"},
        {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
         "source": "a = 1\nb = 2\nprint(acc)"}]}))
    lineno = source.split("\n").index("print(acc)") + 1
    obs = _crash("print(acc)", lineno=lineno, type_="NameError", source=source)
    assert CHECKS["runs"](obs, None, RUBRIC).note == \
        "crashed at “Step 6: Evaluate”, line 3 (NameError)"


def test_a_fit_that_raised_is_judged_by_right_arguments_and_not_by_wrong_ones():
    right = _crash("model.fit(X_train, y_train, epochs=50)", lineno=20, type_="ValueError",
                   fits=(FitCall(50, 32, 0.2, False, (), False),), test_accuracies=())
    assert CHECKS["training"](right, None, RUBRIC).passed
    typo = _crash("model.fit(X_train, y_train, epoch=50)", lineno=20,
                  fits=(FitCall(1, 32, 0.2, False, (), False),), test_accuracies=())
    result = CHECKS["training"](typo, None, RUBRIC)
    assert (result.message, result.hint) == \
        ("not reached: your script stopped at line 20 while training the model", "")
