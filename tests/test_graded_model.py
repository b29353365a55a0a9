"""One model is graded, the one the script trained; a fit that trains nothing fails `training`;
the probe's guard watches what the serializer uses (issue 23, rows 1, 2 and 4).

The rule and the check are tested on hand-made events in milliseconds; each row's attempt
(``tests/graded/``) is graded end to end, as ``python -m grader FILE`` does, once per module.
"""

from __future__ import annotations

import dataclasses
import importlib
import shutil
from pathlib import Path

import pytest

from grader.checks import run_checks
from sentiment_exercise import CHECK_IDS, CHECKS
from grader.observation import FitCall, graded_uid, observe
from grader.rubric import load_rubric
from grader.sandbox import SandboxRun
from test_checks import GOOD_TRAINING, observation
from test_corpus import shared_cache_dir

RUBRIC = load_rubric()
GRADED = Path(__file__).resolve().parent / "graded"


# ---------------------------------------------------------------- the rule, on events

def model(uid: int, *widths: int) -> dict:
    layers = [{"class_name": "Dense", "config": {"units": w, "activation": "relu"}}
              for w in widths]
    return {"uid": uid, "class": "Sequential",
            "config": {"class_name": "Sequential", "config": {"layers": layers}}}


def compiled(uid: int, *widths: int) -> dict:
    return {"event": "compile", "model": model(uid, *widths), "compile": {"loss": "mse"}}


def fit(uid: int, *widths: int, steps=1, **kwargs) -> dict:
    return {"event": "fit", "model": model(uid, *widths), "compile": {"loss": "mse"},
            "kwargs": {"epochs": 50, "batch_size": 32, "validation_split": 0.2, **kwargs},
            "steps": steps, "completed": steps != 0}


def evaluated(uid: int, on_test: bool = True) -> dict:
    return {"event": "evaluate", "uid": uid, "on_test_split": on_test, "result": [0.3, 0.8]}


def end(final: int, *names: tuple[int, str]) -> dict:
    return {"event": "end", "exit_code": 0, "model": model(final, 8, 1), "compile": None,
            "names": [{"uid": uid, "name": name} for uid, name in names]}


def observed(*events: dict):
    return observe(SandboxRun(tuple(events), "", "", "exited", 0, 1.0, 1.0), "")


def test_the_model_trained_and_evaluated_is_graded_not_the_module_level_model():
    """Row 1: `model` is only built and compiled; `real` is trained and evaluated."""
    obs = observed(compiled(1, 256, 128, 64, 1), compiled(2, 32, 16, 1), fit(2, 32, 16, 1),
                   evaluated(2), end(1, (1, "model"), (2, "real")))
    assert obs.model.uid == 2 and [l.units for l in obs.model.layers] == [32, 16, 1]
    assert obs.graded == "`real`, trained and then evaluated on the test split"
    assert [f.model_uid for f in obs.fits] == [2]


@pytest.mark.parametrize("events, uid, why", [
    # a Dropout loop: each model trained and evaluated, `model` names the last
    ([fit(1), evaluated(1), fit(2), evaluated(2), fit(3), evaluated(3), end(3, (3, "model"))], 3,
     "trained and then evaluated on the test split (the module-level `model` of 3 such models)"),
    # a builder function whose caller names the model `net`
    ([compiled(1), fit(1), evaluated(1), end(1, (1, "net"))], 1,
     "trained and then evaluated on the test split"),
    # `model` and a baseline both trained and evaluated: `model` wins
    ([fit(1), evaluated(1), fit(2), evaluated(2), end(1, (1, "model"), (2, "baseline"))], 1,
     "trained and then evaluated on the test split (the module-level `model` of 2 such models)"),
    # evaluated before it was trained does not count; evaluated elsewhere neither
    ([evaluated(1), fit(1), fit(2), evaluated(2, on_test=False), end(2)], 2,
     "trained, but never evaluated on the test split afterwards (the last of 2 such models)"),
    # a fit that ran no step trained nothing: the other model is graded
    ([fit(1, steps=0), evaluated(1), fit(2), end(1, (1, "model"))], 2,
     "trained, but never evaluated on the test split afterwards"),
    # nothing trained
    ([compiled(1), fit(1, steps=0), end(1, (1, "model"))], None, ""),
])
def test_which_model_is_graded(events, uid, why):
    names = {e["uid"]: e["name"] for e in events[-1].get("names", [])}
    assert graded_uid(events, names.get) == (uid, why)


def test_with_nothing_trained_the_module_level_model_is_graded_and_the_report_says_so():
    obs = observed(compiled(1, 8, 1), fit(1, 8, 1, steps=0), end(1, (1, "model")))
    assert obs.model.uid == 1
    assert obs.graded == "`model`, the module-level model (no model was trained)"
    unnamed = observed(compiled(4, 8, 1))
    assert unnamed.graded == ("a Sequential model (Dense 8 → 1), the last model built or "
                              "compiled (no model was trained)")


def test_a_forged_name_is_not_shown():
    obs = observed(fit(1), evaluated(1), end(1, (1, "x\x1b[2J"), (1, 7)))
    assert obs.graded == ("a Sequential model (Dense 8 → 1), trained and then evaluated on "
                          "the test split")


# ---------------------------------------------------------------- `training`: no step, no pass

def _training(fits, shortened):
    return CHECKS["training"](observation(fits=tuple(fits), shortened=shortened), GOOD_TRAINING,
                              RUBRIC)


def test_a_fit_that_ran_no_training_step_fails_training_in_both_modes():
    raised = FitCall(50, 32, 0.2, False, (), False, steps=0)
    full = _training([raised], shortened=False)
    assert not full.passed
    assert full.message == ("model.fit ran no training step: it raised before its first step "
                            "and the script went on (a callback, say)")
    fast = _training([raised], shortened=True)
    assert not fast.passed and fast.message.startswith(full.message + " (fast mode runs fit up "
                                                                      "to its first training step")
    zero = _training([FitCall(0, 32, 0.2, False, (), True, steps=0)], shortened=False)
    assert zero.message.startswith("model.fit ran no training step: epochs=0; epochs=0 (expected")


def test_a_crash_in_fit_is_the_runs_checks_not_trainings():
    """The script stopped in fit (labels Keras cannot train on, say): `runs` says why; the
    call itself was right, so `training` passes as before."""
    from grader.observation import ErrorInfo

    crash = ErrorInfo("ValueError", "bad labels", 9, "model.fit(X_train, y_train, epochs=50)",
                      "exception")
    raised = FitCall(50, 32, 0.2, False, (), False, steps=0)
    obs = observation(status="error", error=crash, fits=(raised,), shortened=True)
    assert CHECKS["training"](obs, GOOD_TRAINING, RUBRIC).passed
    later = dataclasses.replace(obs, error=dataclasses.replace(crash, line="sys.exit(1)"))
    assert not CHECKS["training"](later, GOOD_TRAINING, RUBRIC).passed


def test_the_fit_judged_is_the_last_that_trained():
    """A correct fit that trained nothing after a wrong one that trained: the wrong one counts."""
    trained = FitCall(5, 32, 0.2, False, (), True, steps=5)
    stopped = FitCall(50, 32, 0.2, False, (), False, steps=0)
    result = _training([trained, stopped], shortened=False)
    assert not result.passed and "epochs=5 (expected 50)" in result.message


def test_fast_mode_says_what_it_does_not_know():
    ok = FitCall(50, 32, 0.2, False, (), True, steps=1)
    assert _training([ok], shortened=True).message == (
        "fit(epochs=50, batch_size=32, validation_split=0.2); fast mode ran its first training "
        "step (whether all 50 epochs run shows with --full)")
    assert _training([dataclasses.replace(ok, steps=None)], shortened=False).passed  # unknown


# ---------------------------------------------------------------- end to end, one grading each

@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """Each attempt graded once through the real pipeline (fresh sandbox, real retrain)."""
    from grader.core.options import GradeOptions
    from grader.pipeline import grade

    cache = shared_cache_dir(tmp_path_factory)
    folder = tmp_path_factory.mktemp("graded")
    done = {}

    def graded(name: str, full: bool = False):
        if (name, full) not in done:
            path = folder / f"{name}.py"
            shutil.copy(GRADED / f"{name}.py", path)
            done[name, full] = grade(path, GradeOptions(full=full, cache_dir=cache))
        return done[name, full]

    return graded


def failed(report) -> set[str]:
    return {c.id for c in report.checks if not c.passed}


@pytest.mark.slow
def test_row_1_the_decoy_is_not_graded_the_trained_model_is(reports):
    from grader.reporters.terminal import render

    report = reports("decoy_untrained_model")
    assert not report.tampered
    assert failed(report) == {"hidden_layers", "l2", "dropout", "loss"}
    assert report.score == 100 - sum(RUBRIC.points[c] for c in failed(report))
    note = "`real`, trained and then evaluated on the test split"
    assert report.info["graded_model"] == note
    assert f"Graded model: {note}." in render(report)


@pytest.mark.slow
@pytest.mark.parametrize("name, reason", [
    ("class_body_claims_keras", "a class of the script calls itself Keras' Sequential "
                                "(keras.src.models.sheet)"),
    ("class_body_dense_only", "a class of the script calls itself Keras' SheetDense "
                              "(keras.src.layers.core.dense)"),
    ("setattr_serializer_helper", "the script replaced keras.src.saving.serialization_lib."
                                  "serialize_with_public_class"),
])
def test_rows_2_and_4_are_tampering_seen_at_run_time(reports, name, reason):
    """The reason is the probe's (the source audit's would read otherwise): every check but
    `runs` scores 0."""
    report = reports(name)
    assert report.tampered == reason
    assert failed(report) == set(CHECK_IDS) - {"runs"}
    assert report.score == RUBRIC.points["runs"]
    assert all(c.score == 0 for c in report.checks if c.id != "runs")


@pytest.mark.slow
@pytest.mark.parametrize("full", [True, False], ids=["full", "fast"])
@pytest.mark.parametrize("name", ["callback_stops_training", "callback_moves_the_step_counter"])
def test_a_callback_that_stops_fit_before_its_first_step_fails_training(reports, name, full):
    """Also when the callback first adds to the optimizer's ``iterations`` (the probe counts the
    batches that ended, not that variable)."""
    report = reports(name, full)
    assert not report.tampered and failed(report) == {"training"}
    assert report.score == 100 - RUBRIC.points["training"]
    training = next(c for c in report.checks if c.id == "training")
    assert training.message.startswith("model.fit ran no training step: it raised before its "
                                       "first step")
    assert ("fast mode" in training.message) is not full
    assert report.info["graded_model"] == "`model`, the module-level model (no model was trained)"


def test_every_attempt_is_used():
    """No file in tests/graded/ is left without its test."""
    used = {"decoy_untrained_model", "class_body_claims_keras", "class_body_dense_only",
            "setattr_serializer_helper", "callback_stops_training",
            "callback_moves_the_step_counter"}
    assert {p.stem for p in GRADED.glob("*.py")} == used


def _claiming_config():
    """A get_config with the same free variable as Keras' own (``super()``'s ``__class__``)."""
    __class__ = None

    def get_config(self):
        return {"units": 256, "class": __class__}

    return get_config


@pytest.mark.slow
def test_the_guard_sees_code_swapped_inside_the_serializer_and_keras_methods():
    """A function's code, defaults or closure changed in place (the function object kept) is
    a rewrite; so is a name added to a Keras module for a class that claims to live there."""
    import keras
    from keras.src.saving import serialization_lib

    from grader.sandbox import probe

    guard = probe._Guard(keras, lambda *args, **fields: None)
    assert guard.problem() is None
    dense_config = keras.layers.Dense.get_config
    rewrites = [(serialization_lib.serialize_with_public_class, "__code__",
                 (lambda cls, inner_config=None: None).__code__),
                (dense_config, "__code__", _claiming_config().__code__),
                (serialization_lib.serialize_with_public_class, "__defaults__", (0,))]
    for function, attribute, value in rewrites:
        before = getattr(function, attribute)
        setattr(function, attribute, value)
        try:
            assert guard.problem() and "the script rewrote" in guard.problem()
        finally:
            setattr(function, attribute, before)
    assert guard.problem() is None

    class Planted(keras.layers.Dense):
        pass

    Planted.__module__, Planted.__qualname__ = "keras.src.layers.core.dense", "Planted"
    module = importlib.import_module("keras.src.layers.core.dense")
    module.Planted = Planted  # found where it claims to live, yet not Keras' own
    try:
        assert probe._impostor(Planted, guard.classes, guard.loaded) == (
            "a class of the script calls itself Keras' Planted (keras.src.layers.core.dense)")
    finally:
        del module.Planted
    assert probe._impostor(keras.layers.Dense, guard.classes, guard.loaded) is None
