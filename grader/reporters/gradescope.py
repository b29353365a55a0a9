"""Gradescope's autograder ``results.json``: one test per check, the total as the score.

Works on the report as a dict (``Report.to_dict()``), so batch results read back from disk or
returned by a cluster worker format the same way.
"""

from __future__ import annotations

import json


def results(report: dict) -> dict:
    """The Gradescope results object for one report dict."""
    metrics, info = report.get("metrics", {}), report.get("info", {})
    lines = []
    if report.get("not_started"):
        lines.append("Not started: this is still the starter template.")
    accuracy = metrics.get("test_accuracy")
    if accuracy is not None:
        lines.append(f"Grader's test accuracy: {accuracy:.4f} (needs > "
                     f"{metrics.get('accuracy_threshold')})")
    lines.append(f"Grader {info.get('grader_version')}, TensorFlow {info.get('tensorflow')}, "
                 f"Keras {info.get('keras')}, rubric {info.get('rubric_sha256')}, "
                 f"data seed {info.get('data_seed')}")
    tests = []
    for number, check in enumerate(report.get("checks", []), 1):
        output = check.get("message", "")
        if check.get("hint") and not check.get("passed"):
            output += f"\nHint: {check['hint']}"
        tests.append({"number": str(number), "name": check.get("id"), "score": check.get("score"),
                      "max_score": check.get("max_score"),
                      "status": "passed" if check.get("passed") else "failed", "output": output})
    return {"score": report.get("score", 0), "output": "\n".join(lines), "tests": tests,
            "visibility": "visible", "stdout_visibility": "hidden"}


def render(report: dict) -> str:
    return json.dumps(results(report), indent=2, ensure_ascii=False)
