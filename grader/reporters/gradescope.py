"""Gradescope's autograder ``results.json``: one test per check, the total as the score.

Works on the report as a dict (``Report.to_dict()``), so batch results read back from disk or
returned by a cluster worker format the same way. The fields are Gradescope's documented ones
(https://gradescope-autograders.readthedocs.io/en/latest/specs/): top-level ``score``,
``execution_time``, ``output``, ``output_format``, ``visibility``, ``stdout_visibility``,
``tests``; per test ``score``, ``max_score``, ``status``, ``name``, ``number``, ``output``,
``output_format``, ``tags``, ``visibility``.

Visibility: ``visibility`` is when students see the checks (and their messages); ``hints`` is
when they see how to fix a failed check. When the two differ, the hints leave the checks' outputs
and go into one extra test of 0 points ("How to fix the failed checks") with their own visibility,
e.g. checks ``visible`` and hints ``after_published``: students see what failed at once and how to
fix it once grades are published. Each bonus challenge is one more test of ``max_score`` 0 whose
score is its extra credit (the rubric's ``[bonus]`` points; 0 by default), with a status only
when it is done: an optional challenge is never shown as a failure.
"""

from __future__ import annotations

import json

from grader.report import bonus_summary, main_reason
from grader.reporters import shown_dict

VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")
HINTS_TEST = "How to fix the failed checks"


def _overview(report: dict) -> str:
    metrics, info = report.get("metrics", {}), report.get("info", {})
    lines = [f"Score: {report.get('score', 0):g}/{report.get('max_score', 0):g}"
             + (f". Main reason: {main_reason(report)}." if not report.get("passed") else
                ", every check passed.")]
    if report.get("not_started"):
        lines.append("Not started: this is still the starter template.")
    accuracy = metrics.get("test_accuracy")
    if isinstance(accuracy, (int, float)):
        lines.append(f"Grader's test accuracy: {accuracy:.4f} (needs > "
                     f"{metrics.get('accuracy_threshold')})")
    if bonus_summary(report):
        lines.append(bonus_summary(report))
    lines.append(f"Grader {info.get('grader_version')}, TensorFlow {info.get('tensorflow')}, "
                 f"Keras {info.get('keras')}, rubric {info.get('rubric_sha256')}, "
                 f"data seed {info.get('data_seed')}")
    return "\n".join(lines)


def results(report: dict, *, visibility: str = "visible", hints: str | None = None,
            execution_time: float | None = None) -> dict:
    """The Gradescope results object for one report dict.

    Args:
        visibility: when students see the checks: one of ``VISIBILITIES``.
        hints: when they see how to fix failed checks (default: with the checks).
        execution_time: seconds the grading took, if known.
    """
    hints = hints or visibility
    report = shown_dict(report)
    for name, value in (("visibility", visibility), ("hints", hints)):
        if value not in VISIBILITIES:
            raise ValueError(f"{name} must be one of {VISIBILITIES}. Received: {name}={value!r}")
    inline = hints == visibility
    tests, held = [], []
    for number, check in enumerate(report.get("checks", []), 1):
        output = check.get("message", "")
        failed_hint = check.get("hint") if not check.get("passed") else ""
        if failed_hint and inline:
            output += f"\nHint: {failed_hint}"
        elif failed_hint:
            held.append(f"{check.get('id')}: {failed_hint}")
        tests.append({"number": str(number), "name": check.get("id"), "score": check.get("score"),
                      "max_score": check.get("max_score"),
                      "status": "passed" if check.get("passed") else "failed",
                      "output": output, "output_format": "text", "tags": [check.get("id")],
                      "visibility": visibility})
    for bonus in report.get("bonus") or []:
        # extra credit: points beyond the assignment's total (max_score 0), never a failed test
        test = {"number": str(len(tests) + 1), "name": f"Bonus: {bonus.get('id')}",
                "score": bonus.get("score", 0), "max_score": 0, "output": bonus.get("message", ""),
                "output_format": "text", "tags": ["bonus", bonus.get("id")],
                "visibility": visibility}
        if bonus.get("done"):
            test["status"] = "passed"
        tests.append(test)
    if held:
        tests.append({"number": str(len(tests) + 1), "name": HINTS_TEST, "score": 0,
                      "max_score": 0, "status": "failed", "output": "\n".join(held),
                      "output_format": "text", "tags": ["hints"], "visibility": hints})
    data = {"score": report.get("score", 0), "output": _overview(report), "output_format": "text",
            "tests": tests, "visibility": visibility, "stdout_visibility": "hidden"}
    if execution_time is not None:
        data["execution_time"] = max(0, round(execution_time))
    return data


def render(report, **settings) -> str:
    """Gradescope's ``results.json`` of a ``Report`` (or of its JSON form, read back)."""
    data = report if isinstance(report, dict) else report.to_dict()
    return json.dumps(results(data, **settings), indent=2, ensure_ascii=False)
