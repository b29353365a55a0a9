"""The command line as students use it: exit codes, output formats, fast paths without TensorFlow."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from grader.reporters import terminal
from grader.report import Report, ScoredCheck

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "assignment" / "sentiment_classifier.py"


def run_cli(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, **kwargs)


@pytest.mark.parametrize("args, message", [
    (["missing.py"], "no such file: missing.py"),
    (["README.md"], "expected a .py or .ipynb file"),
    (["--timeout", "0", str(TEMPLATE)], "--timeout must be positive"),
    (["--format", "xml", str(TEMPLATE)], "invalid choice"),
    ([], "required"),
])
def test_usage_errors_exit_2_with_one_line(args, message):
    result = run_cli(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_help_and_usage_errors_never_import_tensorflow():
    code = ("import sys, grader.cli, grader.pipeline, grader.batch, grader.lane\n"
            "sys.exit(int(any(m.split('.')[0] in ('tensorflow', 'keras') for m in sys.modules)))")
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0


def test_template_is_not_started_in_text_and_json(tmp_path):
    text = run_cli("--cache-dir", str(tmp_path), str(TEMPLATE))
    assert text.returncode == 1
    assert "Not started" in text.stdout and "Traceback" not in text.stdout + text.stderr
    as_json = run_cli("--format", "json", "--cache-dir", str(tmp_path), str(TEMPLATE))
    report = json.loads(as_json.stdout)  # nothing but JSON on stdout
    assert as_json.returncode == 1
    assert report["not_started"] is True and report["score"] < report["max_score"]
    assert [c["id"] for c in report["checks"]][:3] == ["runs", "data", "split"]
    assert set(report["checks"][0]) >= {"id", "passed", "score", "max_score", "message"}
    assert report["info"]["rubric_sha256"] and report["info"]["data_seed"]


def _report(**metrics) -> Report:
    checks = (ScoredCheck("runs", True, 5, 5, "ran"), ScoredCheck("dropout", False, 0, 10,
                                                                  "found no Dropout layer", "add one"))
    return Report("s.py", checks, 5, 15, metrics={"accuracy_threshold": 0.7, **metrics},
                  info={"mode": "fast", "script_training_shortened": True, "seconds": 1.0})


def test_terminal_falls_back_to_plain_marks_on_cp1252():
    stream = io.TextIOWrapper(io.BytesIO(), encoding="cp1252")
    marks = terminal.marks_for(stream)
    text = terminal.render(_report(test_accuracy=0.91, script_accuracy=0.55), marks)
    text.encode("cp1252")  # must not raise
    assert "[ ] dropout" in text and "-> add one" in text


def test_borderline_accuracy_is_flagged():
    assert "borderline" in terminal.render(_report(test_accuracy=0.71, borderline=True))
    assert "borderline" not in terminal.render(_report(test_accuracy=0.91, borderline=False))
