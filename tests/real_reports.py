"""Reports for tests, built by the code that builds real ones: an ``Observation`` of a script's run
and a ``TrainingResult`` go through the real checks, scoring, metrics and info (``grader.pipeline``),
exactly as ``grade`` does after the sandbox and the retrain. No TensorFlow, milliseconds each.

    report("alice.py")                               # the reference model: full marks
    report("bob.py", crash=("NameError", 27))        # crashed at line 27
    report("carol.py", layers="no_dropout")          # fails `dropout` only
"""

from __future__ import annotations

import dataclasses

from grader.version import __version__
from grader.bonus import run_bonuses
from grader.checks import run_checks
from grader.observation import CompileInfo, ErrorInfo, FitCall, Layer, ModelInfo, Observation
from grader.core.options import GradeOptions
from grader.pipeline import _info, _metrics, is_not_started
from grader.report import Report, build_report, summarize_architecture
from grader.retrain.client import TrainingResult
from grader.core.rubric import Rubric
from grader.rubric import load_rubric

RUBRIC = load_rubric()


def dense(units, activation="relu", l2=0.001, **kw) -> Layer:
    return Layer("Dense", f"dense_{units}", units=units, activation=activation, kernel_l2=l2, **kw)


def drop(rate=0.5) -> Layer:
    return Layer("Dropout", "dropout", rate=rate)


REFERENCE_LAYERS = (dense(256), drop(), dense(128), drop(0.3), dense(64),
                    dense(1, "sigmoid", l2=0.0))
LAYERS = {
    "reference": REFERENCE_LAYERS,
    "no_dropout": (dense(256), dense(128), dense(64), dense(1, "sigmoid", l2=0.0)),
    "two_hidden": (dense(256), drop(), dense(64), dense(1, "sigmoid", l2=0.0)),
}
GOOD_COMPILE = CompileInfo("binary_crossentropy", False, "binary_crossentropy", {}, "Adam", True)
SOURCE = "\n".join(f"line {n}" for n in range(1, 60))


def training(accuracy: float = 0.91, status: str = "ok", message: str = "") -> TrainingResult:
    return TrainingResult(status, message, test_accuracy=accuracy if status == "ok" else None,
                          first_loss=1.5 if status == "ok" else None,
                          last_loss=0.2 if status == "ok" else None,
                          epochs=50 if status == "ok" else 0, seconds=4.0)


def observation(layers: str = "reference", **changes) -> Observation:
    base = Observation(
        status="completed",
        data_calls=({"n_samples": 2000, "n_features": 500, "n_classes": 2},),
        split_calls=({"test_size": 0.2, "shapes": [[1600, 500], [400, 500], [1600], [400]]},),
        model=ModelInfo(1, "Sequential", LAYERS[layers], {}),
        compile=GOOD_COMPILE,
        fits=(FitCall(50, 32, 0.2, False, (), True),),
        test_accuracies=(0.8725,), evaluated=True,
        stdout="Test accuracy: 0.8725\n", source=SOURCE, wall_seconds=3.2,
    )
    return dataclasses.replace(base, **changes)


def report(name: str = "alice.py", *, layers: str = "reference", crash: tuple[str, int] | None = None,
           timeout: bool = False, not_started: bool = False, accuracy: float = 0.91,
           trained: TrainingResult | None = None, rubric: Rubric = RUBRIC, seconds: float = 3.5,
           history: dict | None = None, **changes) -> Report:
    """A report as ``grader.pipeline.grade`` builds it, for a described run."""
    if crash:
        kind, line = crash
        changes.update(status="error", fits=(), test_accuracies=(), stdout="",
                       error=ErrorInfo(kind, "boom", line, f"line {line}", "exception"))
    if timeout:
        changes.update(status="timeout", fits=(), test_accuracies=(), stdout="",
                       error=ErrorInfo("Timeout", "", None, "", "timeout"))
    if not_started:
        changes.update(data_calls=(), split_calls=(), model=None, compile=None, fits=(),
                       test_accuracies=(), evaluated=False, stdout="")
    obs = observation(layers, **changes)
    result = trained if trained is not None else (
        None if obs.compile is None else training(accuracy))
    info = _info(obs, result, rubric, GradeOptions(), seconds)
    info["grader_version"] = __version__
    return build_report(name, run_checks(obs, result, rubric), rubric,
                        not_started=is_not_started(obs), tampered=obs.tampered,
                        metrics=_metrics(obs, result, rubric),
                        info=info, architecture=summarize_architecture(obs),
                        bonuses=run_bonuses(obs, rubric), history=history,
                        figures=obs.figures)
