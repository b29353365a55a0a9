"""The command line as students use it: exit codes, output formats, fast paths without TensorFlow."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from grader import cli
from grader.reporters import terminal
from real_reports import report as real_report

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
    code = ("import sys, grader.cli, grader.pipeline, grader.integrations.batch, grader.integrations.lane\n"
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


def test_help_names_the_instructors_commands():
    result = run_cli("--help")
    assert result.returncode == 0
    for command in ("grader batch", "grader gradescope-package", "grader.make_notebook --rubric"):
        assert f"python -m {command}" in result.stdout


@pytest.mark.parametrize("change, key, expected", [
    (("runs = 5", 'runs = "five"'), "points.runs", "must be a number >= 0. Received: runs='five'"),
    (("epochs = 50\n", ""), "exercise.epochs", "expected an integer >= 1"),
    (("dropout = 10", "dropout = 55"), "max_score", "the points add up to 145"),
    (("seed = 20261125", "seed = 1\nsede = 2"), "data.sede", "unknown key"),
    (("timeout_seconds = 300", "timeout_seconds = -1"), "limits.timeout_seconds", "a number > 0"),
    (('hint_level = "fix"', 'hint_level = "all"'), "hint_level", "must be one of"),
])
def test_a_bad_rubric_is_one_line_and_exit_2_before_anything_runs(tmp_path, monkeypatch, capsys,
                                                                   change, key, expected):
    import grader.pipeline

    rubric = tmp_path / "strict.toml"
    text = (ROOT / "exercises" / "sentiment" / "rubric.toml").read_text()
    assert change[0] in text
    rubric.write_text(text.replace(change[0], change[1], 1))
    monkeypatch.setattr(grader.pipeline, "grade", lambda *a, **k: pytest.fail("graded anyway"))
    assert cli.main(["--rubric", str(rubric), str(TEMPLATE)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and key in err and expected in err, err
    assert str(rubric) in err


def test_terminal_report_is_coloured_on_a_terminal_and_plain_in_a_pipe():
    from rich.console import Console

    report = real_report("carol.py", crash=("NameError", 27))
    piped = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    terminal.show(report, terminal.console_for(piped))
    piped.flush()
    text = piped.buffer.getvalue().decode("utf-8")
    assert text == terminal.render(report) + "\n"  # a pipe gets exactly the text, no escapes
    tty = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    terminal.show(report, Console(file=tty, force_terminal=True, color_system="standard",
                                  width=100))
    tty.flush()
    coloured = tty.buffer.getvalue().decode("utf-8")
    assert "\x1b[" in coloured
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == text  # the same text, with colour


def test_terminal_layout():
    text = terminal.render(real_report("carol.py", crash=("NameError", 27)), width=100)
    lines = text.splitlines()
    assert lines[0] == "Sentiment classifier grader 0.1.0 · carol.py" and lines[1] == ""
    runs = lines[2]
    assert runs.startswith("✗ runs                your script stopped at line 27 (`line 27`) with "
                           "NameError: boom")
    assert lines[3] == "                      → fix that line; the checks below got only what ran " \
                       "before it"
    assert lines[4].startswith("✓ data                make_classification(")
    assert all(len(line) <= 100 for line in lines[:-3])
    assert "Score: 85/100" in lines
    assert lines[-1].startswith("TensorFlow ") and "data seed 20261125" in lines[-1]


def test_hints_never_break_code_across_lines():
    hint = "loss, accuracy = model.evaluate(X_test, y_test), then print(f'Test accuracy: {accuracy:.4f}')"
    for width in range(20, 90, 7):
        wrapped = terminal.wrap_code_safe(hint, width)
        assert any("print(f'Test accuracy: {accuracy:.4f}')" in line for line in wrapped), wrapped
        assert "model.evaluate(X_test, y_test)," in " ".join(wrapped)
        assert " ".join(wrapped) == hint


def test_failures_that_share_a_cause_show_it_once_and_point_to_it():
    report = real_report("dan.py", model=None, compile=None, fits=(), test_accuracies=(),
                         evaluated=False)
    lines = terminal.render(report).splitlines()
    failed = [line for line in lines if line.startswith("✗")]
    assert failed[0].startswith("✗ hidden_layers       your script built no Keras model")
    assert "✗ l2                  same reason as hidden_layers above  (0/10)" in failed
    assert all(re.match(r"✗ \w+ +\S", line) and not re.match(r"✗ \w+ +\(?\d", line)
               for line in failed)  # no bare "0/10" line


def test_the_scripts_own_accuracy_is_rounded_and_labelled_in_fast_mode():
    report = real_report("erin.py", shortened=True, test_accuracies=(0.4675000011920929,),
                         stdout="Test accuracy: 0.4675000011920929\n")
    text = " ".join(terminal.render(report).split())  # as read, across wrapped lines
    assert "(0.47 from fast mode's shortened training; the grader trains your model " \
           "itself" in text
    assert "Your script's own test accuracy: 0.47 from fast mode's shortened training" in text
    assert "Grader's test accuracy: 0.9100" in text


def test_terminal_falls_back_to_plain_marks_on_cp1252():
    stream = io.TextIOWrapper(io.BytesIO(), encoding="cp1252")
    report = real_report("s.py", layers="no_dropout")
    terminal.show(report, terminal.console_for(stream))  # must not raise
    stream.flush()
    text = stream.buffer.getvalue().decode("cp1252")
    assert "[ ] dropout" in text and "-> add Dropout" in text and "[x] runs" in text


def test_borderline_accuracy_is_flagged():
    assert "borderline" in terminal.render(real_report(accuracy=0.71))
    assert "borderline" not in terminal.render(real_report(accuracy=0.91))


def test_hint_level_decides_what_a_failed_check_gives_away(tmp_path):
    from grader.rubric import load_rubric

    text = (ROOT / "exercises" / "sentiment" / "rubric.toml").read_text()
    shown = {}
    for level in ("fix", "expected", "none"):
        path = tmp_path / f"{level}.toml"
        path.write_text(text.replace('hint_level = "fix"', f'hint_level = "{level}"'))
        report = real_report("s.py", layers="no_dropout", rubric=load_rubric(path))
        dropout = {c.id: c for c in report.checks}["dropout"]
        shown[level] = (dropout.message, dropout.hint, terminal.render(report))
    assert "found no Dropout layer" in shown["fix"][0] and "Dropout(0.3)" in shown["fix"][1]
    assert "→ add Dropout" in shown["fix"][2]
    assert shown["expected"][0] == shown["fix"][0] and shown["expected"][1] == ""
    assert "→ add Dropout" not in shown["expected"][2]
    assert shown["none"][:2] == ("failed", "")
    assert "✗ dropout             failed  (0/10)" in shown["none"][2]
    # passed checks still say what they found
    assert "✓ l2" in shown["none"][2] and "L2 kernel regularization" in shown["none"][2]


def test_nbgrader_feedback_uses_the_same_labelled_wording():
    from grader.integrations.nbgrader_autograde import check_outputs

    report = real_report("fay.ipynb", shortened=True, test_accuracies=(0.4675000011920929,),
                         stdout="Test accuracy: 0.4675000011920929\n")
    check = {c.id: c for c in report.checks}["prints_accuracy"]
    text = check_outputs(check)[0]["text"]
    assert "0.47 from fast mode's shortened training; the grader trains your model itself" in text
    assert check.message in " ".join(terminal.render(report).split())


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SIGTERM and a sandbox folder")
def test_a_terminated_grading_removes_the_folder_with_the_students_source(tmp_path):
    """`timeout`, a closed terminal or a scheduler ends the grader with SIGTERM: it stops as on
    Ctrl-C, and the sandbox's folder (the student's source in it) does not stay behind."""
    import os
    import signal
    import time

    temp = tmp_path / "tmp"
    temp.mkdir(mode=0o755)
    os.chmod(tmp_path, 0o755)  # as root the sandbox's folder is handed to nobody
    script = tmp_path / "sleeps.py"
    script.write_text("import time\ntime.sleep(300)\n")
    process = subprocess.Popen([sys.executable, "-m", "grader", "--no-daemon", str(script)],
                               cwd=ROOT, env={**os.environ, "TMPDIR": str(temp)},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list(temp.glob("grader-*/sleeps.py")) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert list(temp.glob("grader-*/sleeps.py")), "the sandbox's folder never appeared"
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert not list(temp.glob("grader-*")), list(temp.iterdir())
