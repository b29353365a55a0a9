"""Scores and builds the finished report; its data classes are ``grader.core.report``'s."""

from __future__ import annotations

import base64
import math
from dataclasses import asdict

from grader.core.report import Report, ScoredBonus, ScoredCheck  # noqa: F401 - and their old names
from grader.core.results import HISTORY_KEYS, BonusResult, CheckResult
from grader.core.rubric import Rubric
from grader.observation import Figure, Observation
from grader.text import inert

MAX_EPOCHS_SHOWN = 1000

# what ``info["retrain_engine"]`` names, as the reports spell it
_ENGINE_NAMES = {"numpy": "NumPy", "jax": "JAX", "tensorflow": "TensorFlow"}


def retrain_engine(info: dict) -> str | None:
    """What retrained the model and its version ("NumPy 2.4.6"); None when no retrain ran."""
    engine = info.get("retrain_engine")
    if not engine:
        return None
    return f"{_ENGINE_NAMES.get(engine, engine)} {info.get(engine) or ''}".strip()


def main_reason(report: dict) -> str:
    """Why a report scored low, in a few words, for the instructor's table; "" when it is full.

    In order: "tampered", "not started", the note of the first failure that explains the score
    ("crashed at line 27 (NameError)", "timed out (300 s)", "model refused by the grader"), else
    the failed checks ("failed dropout, l2").
    """
    if report.get("tampered"):
        return "tampered"
    if report.get("not_started"):
        return "not started"
    if report.get("reason"):
        return report["reason"]
    failed = [c["id"] for c in report.get("checks", ()) if not c.get("passed")]
    if not failed:
        return ""
    return f"failed {', '.join(failed)}" if len(failed) <= 3 else f"failed {len(failed)} checks"


def bonus_summary(report: dict) -> str:
    """One line on the bonus challenges ("Bonus challenges done: 2 of 4 (early_stopping,
    loss_plot)"); "" when the report has none."""
    bonus = report.get("bonus") or []
    if not bonus:
        return ""
    finished = [str(b.get("id")) for b in bonus if b.get("done")]
    return f"Bonus challenges done: {len(finished)} of {len(bonus)}" + \
        (f" ({', '.join(finished)})" if finished else "")


def _hinted(result: CheckResult, hint_level: str) -> tuple[str, str]:
    if result.passed or hint_level == "fix":
        return result.message, result.hint if not result.passed else ""
    if hint_level == "expected":
        return result.message, ""
    return "failed", ""


def score_checks(results: list[CheckResult], rubric: Rubric) -> tuple[ScoredCheck, ...]:
    """Points per check from the rubric; messages cut to what the rubric's hint level allows."""
    scored = []
    for result in results:
        points = rubric.points[result.id]
        message, hint = _hinted(result, rubric.hint_level)
        message, hint = inert(message, 2000), inert(hint, 1000)  # they quote the submission
        scored.append(ScoredCheck(result.id, result.passed, points if result.passed else 0.0,
                                  points, message, hint,
                                  result.layers if rubric.hint_level != "none" else ()))
    return tuple(scored)


def score_bonuses(results: list[BonusResult], rubric: Rubric) -> tuple[ScoredBonus, ...]:
    """Extra-credit points per challenge from the rubric's ``[bonus]`` table."""
    scored = []
    for result in results:
        points = float(rubric.bonus.get(result.id, 0.0))
        message = inert(result.message, 1000) if rubric.hint_level != "none" else \
            ("done" if result.done else "not done")
        scored.append(ScoredBonus(result.id, result.done, message,
                                  points if result.done else 0.0, points))
    return tuple(scored)


def history_of(training) -> dict | None:
    """The retrain's per-epoch curves (``TrainingResult.history``) as plain lists of finite
    numbers, the four keys the report draws; None when the retrain gave none."""
    history = getattr(training, "history", None)
    if not isinstance(history, dict):
        return None
    curves = {}
    for key in HISTORY_KEYS:
        values = history.get(key)
        if isinstance(values, (list, tuple)):
            curves[key] = [float(f"{v:.6g}") if isinstance(v, (int, float)) and not
                           isinstance(v, bool) and math.isfinite(v) else None
                           for v in list(values)[:MAX_EPOCHS_SHOWN]]
    return curves or None


def figure_dict(figure: Figure) -> dict:
    """A figure as the report holds it (and the JSON report and the HTML reporter read it)."""
    return {"title": inert(figure.title, 200),
            "png_base64": base64.b64encode(figure.png).decode("ascii"),
            "plotted": [inert(key, 60) for key in figure.plotted]}


def build_report(submission: str, results: list[CheckResult], rubric: Rubric, *,
                 not_started: bool = False, tampered: str = "", metrics: dict | None = None,
                 info: dict | None = None, architecture: dict | None = None,
                 bonuses: list[BonusResult] = (), history: dict | None = None,
                 figures: tuple[Figure, ...] = ()) -> Report:
    """The report: checks scored by the rubric; bonus points (extra credit) add to the score,
    never to ``max_score``."""
    checks = score_checks(results, rubric)
    bonus = score_bonuses(list(bonuses), rubric)
    score = sum(c.score for c in checks) + sum(b.score for b in bonus)
    return Report(submission=inert(submission, 500), checks=checks,
                  score=round(score, 2), max_score=rubric.max_score,
                  not_started=not_started, tampered=inert(tampered, 300),
                  metrics=dict(metrics or {}), info=dict(info or {}), architecture=architecture,
                  reason=inert(next((r.note for r in results if not r.passed and r.note), ""), 80),
                  bonus=bonus, history=history, figures=tuple(figure_dict(f) for f in figures))


def summarize_architecture(obs: Observation) -> dict | None:
    """The graded model's choices as plain JSON, for comparing submissions across a class.

    Layers in forward order (kind, name, units, activation, L2/L1 factors, dropout rate), the
    optimizer's class and settings, the loss, and the arguments of the script's
    ``make_classification``, test ``train_test_split`` and last ``fit``. None without a model.
    Values come from the sandbox: only plain scalars are kept, strings and sizes are capped.
    """
    if obs.model is None or not obs.model.layers:
        return None
    compiled = obs.compile
    fit = obs.fits[-1] if obs.fits else None
    return _plain({
        "layers": [asdict(layer) for layer in obs.model.layers[:100]],
        "optimizer": compiled.optimizer_config if compiled else None,
        "loss": compiled.loss if compiled else None,
        "loss_config": compiled.loss_config if compiled else None,
        "data": obs.data_calls[-1] if obs.data_calls else {},
        "split": {k: v for k, v in (obs.test_split or {}).items() if k != "shapes"},
        "fit": {"epochs": fit.epochs, "batch_size": fit.batch_size,
                "validation_split": fit.validation_split, "callbacks": list(fit.callbacks)}
        if fit else {},
    })


def _plain(value, depth: int = 0):
    """Untrusted JSON-like data cut down to scalars, short strings and small containers; floats
    to 6 significant digits (a float32 learning rate 0.0010000000474974513 reads 0.001)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if abs(value) < 2**53 else None
    if isinstance(value, float):
        return float(f"{value:.6g}") if math.isfinite(value) else None
    if isinstance(value, str):
        return inert(value, 100)
    if depth >= 4:
        return None
    if isinstance(value, (list, tuple)):
        return [_plain(item, depth + 1) for item in value[:100]]
    if isinstance(value, dict):
        return {inert(k, 60): _plain(v, depth + 1) for k, v in list(value.items())[:50]}
    return None


def exercise_info(rubric: Rubric) -> dict:
    """What every report says of its exercise: its name and the heading reporters show."""
    from grader import exercise

    graded = exercise.get(rubric.exercise_name)
    return {"exercise": graded.name, "exercise_heading": graded.heading or graded.title}


def failure_report(submission: str, message: str, hint: str, rubric: Rubric, *,
                   note: str = "") -> Report:
    """A proper report for a submission the grader could not grade: every check failed, the
    first (``runs``) saying why, scored 0 (batch: a folder with no file to grade, a lost worker;
    Gradescope: an empty upload)."""
    from grader.version import __version__

    first, *rest = rubric.points  # every check of the exercise, in its order
    unchecked = "not checked: the submission could not be graded"
    results = [CheckResult(first, False, message, hint, note)] + [
        CheckResult(c, False, unchecked) for c in rest]
    info = {"grader_version": __version__, **exercise_info(rubric),
            "rubric_sha256": rubric.short_hash, "data_seed": int(rubric.data["seed"])}
    return build_report(submission, results, rubric, info=info,
                        bonuses=[BonusResult(b, False, unchecked) for b in rubric.bonus])
