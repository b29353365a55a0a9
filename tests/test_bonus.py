"""The bonus challenges (``grader.bonus``) on constructed observations; their points from the
rubric; how every output shows them. No TensorFlow: milliseconds each."""

from __future__ import annotations

import dataclasses
import json

import pytest

from grader import bonus
from grader.bonus import run_bonuses
from sentiment_exercise import BONUS_IDS
from grader.observation import (Callback, CompileInfo, Evaluation, FitCall, Figure, SandboxRun,
                                observe)
from grader.report import Report
from grader.reporters import gradescope, terminal
from grader.rubric import RubricError, parse_rubric
from real_reports import RUBRIC, observation, report as real_report

SOURCE_RUBRIC = RUBRIC.source.decode()


def fit(*callbacks: Callback, uid: int = 1, rates=(0.5,), validation_split=0.2) -> FitCall:
    return FitCall(50, 32, validation_split, False, tuple(c.kind for c in callbacks), True,
                   callback_settings=callbacks, model_uid=uid, dropout_rates=tuple(rates))


def result(bonus_id: str, **changes) -> bonus.BonusResult:
    obs = observation(**changes)
    return next(r for r in run_bonuses(obs, RUBRIC) if r.id == bonus_id)


def test_the_ids_are_the_sheets_four_challenges_in_order():
    assert BONUS_IDS == ("early_stopping", "lr_schedule", "loss_plot", "dropout_comparison")
    assert [r.id for r in run_bonuses(observation(), RUBRIC)] == list(BONUS_IDS)
    assert not any(r.done for r in run_bonuses(observation(), RUBRIC))
    assert all(r.message.startswith("not tried") for r in run_bonuses(observation(), RUBRIC))


# --- early_stopping ------------------------------------------------------------------------------

def test_early_stopping_on_a_validation_metric_is_done():
    for monitor in ("val_loss", "val_accuracy"):
        found = result("early_stopping", all_fits=(fit(Callback("EarlyStopping", monitor)),))
        assert found.done and f"monitor='{monitor}'" in found.message


def test_early_stopping_on_a_training_metric_is_almost():
    found = result("early_stopping", all_fits=(fit(Callback("EarlyStopping", "loss")),))
    assert not found.done
    assert found.message.startswith("almost") and "'loss', a training metric" in found.message


def test_early_stopping_without_validation_data_is_almost():
    found = result("early_stopping", all_fits=(fit(Callback("EarlyStopping", "val_loss"),
                                                   validation_split=0.0),))
    assert not found.done and "no validation data" in found.message


def test_early_stopping_named_but_never_passed_to_fit_is_almost():
    source = "from keras.callbacks import EarlyStopping\nstop = EarlyStopping()\n"
    found = result("early_stopping", source=source, all_fits=(fit(),))
    assert not found.done and "no fit used it" in found.message
    # a comment is not code
    commented = result("early_stopping", source="# EarlyStopping later\n")
    assert commented.message.startswith("not tried")


# --- lr_schedule ---------------------------------------------------------------------------------

def test_a_learning_rate_callback_is_a_schedule():
    for kind in ("ReduceLROnPlateau", "LearningRateScheduler"):
        found = result("lr_schedule", all_fits=(fit(Callback(kind, "val_loss")),))
        assert found.done and kind in found.message


def test_a_schedule_object_as_the_optimizers_learning_rate_is_a_schedule():
    optimizer = {"class_name": "Adam", "config": {"learning_rate": {
        "class_name": "ExponentialDecay", "config": {"initial_learning_rate": 0.001}}}}
    compiled = CompileInfo("binary_crossentropy", False, "binary_crossentropy", optimizer, "Adam",
                           True)
    found = result("lr_schedule", compile=compiled)
    assert found.done and "ExponentialDecay" in found.message
    plain = dataclasses.replace(compiled, optimizer_config={"class_name": "Adam",
                                                            "config": {"learning_rate": 0.001}})
    assert not result("lr_schedule", compile=plain).done


def test_a_schedule_defined_but_not_used_is_almost():
    source = "schedule = keras.optimizers.schedules.ExponentialDecay(0.01, 100, 0.9)\n"
    found = result("lr_schedule", source=source)
    assert not found.done and found.message.startswith("almost")
    assert "ExponentialDecay" in found.message


# --- loss_plot -----------------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 16


def test_a_figure_of_training_and_validation_loss_is_done():
    figures = (Figure("Accuracy", PNG, ("accuracy",)), Figure("Loss", PNG, ("loss", "val_loss")))
    found = result("loss_plot", figures=figures)
    assert found.done and "'Loss'" in found.message


def test_plotting_only_the_training_loss_is_almost():
    found = result("loss_plot", figures=(Figure("", PNG, ("loss",)),))
    assert not found.done and "only 'loss'" in found.message and "val_loss" in found.message


def test_plotting_accuracy_or_nothing_from_the_history_is_almost():
    found = result("loss_plot", figures=(Figure("", PNG, ("accuracy", "val_accuracy")),))
    assert not found.done and "accuracy, val_accuracy" in found.message
    found = result("loss_plot", figures=(Figure("", PNG, ()),))
    assert not found.done and "drew 1 figure," in found.message


# --- dropout_comparison --------------------------------------------------------------------------

def _compared(printed: str, rates=(0.2, 0.3, 0.5)):
    fits = tuple(fit(uid=n, rates=(rate,)) for n, rate in enumerate(rates, 1))
    evaluations = tuple(Evaluation(n, (0.8 + n / 100,), True) for n in range(1, len(rates) + 1))
    return result("dropout_comparison", all_fits=fits, evaluations=evaluations, stdout=printed,
                  source="for rate in (0.2, 0.3, 0.5): pass\n")


def test_several_dropout_rates_each_printed_is_done():
    found = _compared("Dropout 0.2: 0.8100\nDropout 0.3: 0.8200\nDropout 0.5: 0.8300\n")
    assert found.done and "3 Dropout settings (0.2, 0.3, 0.5)" in found.message


def test_several_dropout_rates_not_all_printed_is_almost():
    found = _compared("Test accuracy: 0.8300\n")
    assert not found.done and found.message.startswith("almost")
    assert "no accuracy for 0.2, 0.3" in found.message
    assert not _compared("").done


def test_one_dropout_rate_trained_twice_is_no_comparison():
    fits = (fit(uid=1), fit(uid=2))
    evaluations = (Evaluation(1, (0.81,), True), Evaluation(2, (0.82,), True))
    found = result("dropout_comparison", all_fits=fits, evaluations=evaluations,
                   stdout="0.8100 0.8200")
    assert not found.done and found.message.startswith("not tried")


def test_the_sandbox_events_carry_what_the_challenges_need():
    """From raw (untrusted) events: callbacks with monitors, each fit's model rates, every
    evaluation; malformed fields degrade to nothing."""
    def model(uid, rate):
        layers = [{"class_name": "Dense", "config": {"units": 8, "activation": "relu"}},
                  {"class_name": "Dropout", "config": {"rate": rate}},
                  {"class_name": "Dense", "config": {"units": 1, "activation": "sigmoid"}}]
        return {"uid": uid, "class": "Sequential",
                "config": {"class_name": "Sequential", "config": {"layers": layers}}}

    events = []
    for uid, rate in ((1, 0.2), (2, 0.5)):
        events.append({"event": "fit", "model": model(uid, rate), "kwargs": {
            "epochs": 50, "validation_split": 0.2, "callbacks": ["EarlyStopping", 7],
            "callback_settings": [{"class": "EarlyStopping", "monitor": "val_loss\x1b[31m"},
                                  {"class": ["odd"]}, "junk"]}})
        events.append({"event": "evaluate", "uid": uid, "on_test_split": True,
                       "result": [0.4, (0.81, 0.82)[uid - 1]]})
    events.append({"event": "fit", "model": model(3, float("nan")),
                   "kwargs": {"callback_settings": {"not": "a list"}}})
    obs = observe(SandboxRun(tuple(events), "Dropout 0.2: 0.81\nDropout 0.5: 0.82\n", "",
                             "exited", 0, 1.0, 1.0), "for rate in rates: pass\n")
    assert [f.dropout_rates for f in obs.all_fits] == [(0.2,), (0.5,), ()]
    assert obs.all_fits[0].callback_settings == (Callback("EarlyStopping", "val_loss[31m"),)
    assert obs.all_fits[0].callbacks == ("EarlyStopping",)
    assert obs.all_fits[2].callback_settings == ()
    assert [(e.model_uid, e.accuracies) for e in obs.evaluations] == [(1, (0.81,)), (2, (0.82,))]
    found = {r.id: r for r in run_bonuses(obs, RUBRIC)}
    # the third model's rate was not a number: a setting of its own, never evaluated
    assert found["dropout_comparison"].message.startswith(
        "almost: trained 3 Dropout settings (0.2, 0.5, no Dropout), but your output shows no "
        "accuracy for no Dropout")
    obs = dataclasses.replace(obs, all_fits=obs.all_fits[:2])
    assert {r.id: r for r in run_bonuses(obs, RUBRIC)}["dropout_comparison"].done
    assert found["early_stopping"].done and "\x1b" not in found["early_stopping"].message


def test_tampered_evidence_earns_no_bonus():
    obs = observation(tampered="the script replaced Keras' Model.fit",
                      all_fits=(fit(Callback("EarlyStopping", "val_loss")),))
    assert not any(r.done for r in run_bonuses(obs, RUBRIC))


# --- points: the rubric's [bonus] table, extra credit ---------------------------------------------

def test_bonus_points_default_to_zero_and_are_validated():
    assert dict(RUBRIC.bonus) == {b: 0.0 for b in BONUS_IDS}
    with pytest.raises(RubricError, match=r"bonus.early_stopping must be a number >= 0. "
                                          r"Received: early_stopping='two'"):
        parse_rubric(SOURCE_RUBRIC.replace("early_stopping = 0", "early_stopping = 'two'").encode())
    with pytest.raises(RubricError, match=r"unknown key bonus.early_stop "):
        parse_rubric(SOURCE_RUBRIC.replace("early_stopping = 0", "early_stop = 2").encode())
    without = SOURCE_RUBRIC.split("[bonus]")[0] + "[exercise]" + \
        SOURCE_RUBRIC.split("[exercise]")[1]
    assert dict(parse_rubric(without.encode()).bonus) == {b: 0.0 for b in BONUS_IDS}


def test_bonus_points_are_extra_credit_beyond_max_score():
    rubric = parse_rubric(SOURCE_RUBRIC.replace("early_stopping = 0", "early_stopping = 3")
                          .encode())
    done = real_report(rubric=rubric, all_fits=(fit(Callback("EarlyStopping", "val_loss")),))
    assert done.max_score == 100 and done.score == 103
    assert done.bonus[0].score == 3 and done.bonus[0].max_score == 3
    missed = real_report(rubric=rubric, layers="no_dropout")
    assert missed.score == 90 and missed.bonus[0].score == 0 and missed.bonus[0].max_score == 3
    unscored = real_report(all_fits=(fit(Callback("EarlyStopping", "val_loss")),))
    assert unscored.score == 100 and unscored.bonus[0].done


def test_every_output_shows_the_bonus_challenges():
    rubric = parse_rubric(SOURCE_RUBRIC.replace("lr_schedule = 0", "lr_schedule = 2").encode())
    report = real_report(rubric=rubric, all_fits=(fit(Callback("ReduceLROnPlateau", "val_loss")),))
    data = json.loads(json.dumps(report.to_dict()))
    assert data["bonus"][1] == {"id": "lr_schedule", "done": True, "score": 2.0, "max_score": 2.0,
                                "message": "ReduceLROnPlateau changes the learning rate during "
                                           "training"}
    assert Report.from_dict(data) == report  # batch reads reports back from JSON

    text = terminal.render(report)
    section = text[text.index("Bonus challenges"):text.index("Score:")]
    assert "extra credit" in section and "✓ lr_schedule" in section and "(+2/2)" in section
    assert "○ early_stopping      not tried" in section
    assert "[x] lr_schedule" in terminal.render(report, terminal.PLAIN)
    assert "not scored" in terminal.render(real_report())

    results = gradescope.results(data)
    tests = {t["name"]: t for t in results["tests"]}
    assert tests["Bonus: lr_schedule"] == {**tests["Bonus: lr_schedule"], "score": 2.0,
                                           "max_score": 0, "status": "passed"}
    assert "status" not in tests["Bonus: early_stopping"]  # optional: never a failed test
    assert results["score"] == 102 and "Bonus challenges done: 1 of 4 (lr_schedule)" in \
        results["output"]


def test_hint_level_none_hides_how_to_do_the_challenges():
    rubric = parse_rubric(SOURCE_RUBRIC.replace('hint_level = "fix"', 'hint_level = "none"')
                          .encode())
    assert {b.message for b in real_report(rubric=rubric).bonus} == {"not done"}
    # nor which layers a failed check is about
    assert all(not c.layers for c in real_report(rubric=rubric, layers="two_hidden").checks)
    assert next(c for c in real_report(layers="two_hidden").checks
                if c.id == "hidden_layers").layers == (0, 2)
