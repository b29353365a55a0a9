"""Batch grading: discovery, resume keys, result files, and three real batches of 13 submissions.

The fast tests need no TensorFlow. The end-to-end ones run ``python -m grader batch`` as a real
process: once uninterrupted with 2 workers (the reference, computed once per session even under
pytest-xdist, behind a file lock), once killed with SIGKILL half-way and restarted, and once on a
real ``dask.distributed`` LocalCluster. All share one retrain cache, so only the first pays for
the retrains; the hanging submission costs one slot for ``TIMEOUT`` seconds per run.
"""

from __future__ import annotations

import csv
import fcntl
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader import cli
from grader.integrations import batch
from grader.integrations.batch import command as batch_cli
from grader.integrations.batch import Submission, find_submissions, grades_csv, resume_key
from sentiment_exercise import CHECK_IDS
from grader.core.options import GradeOptions
from grader.reporters import gradescope, summary
from grader.rubric import load_rubric
from real_reports import report as real_report
from test_corpus import CORPUS, parse_case, shared_cache_dir

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "solution" / "sentiment_classifier.py"
TIMEOUT = 30  # per script (fast mode takes 2-4 s on a loaded 2-core machine); what a hang costs
# One xdist worker runs the module (`--dist loadfile`): its batch runs share one reference batch.
WORKERS = 2

# student id -> corpus file; each corpus header names the checks single-file grading fails
FROM_CORPUS = {
    "s01_hangs": "hostile_infinite_loop",
    "s02_baseline": "pass_sheet_baseline",
    "s03_two_layers": "fail_hidden_layers_two",
    "s04_mse": "fail_loss_mse",
    "s05_no_dropout": "fail_dropout_missing",
    "s06_ten_epochs": "fail_training_epochs_10",
    "s07_crash_at_end": "fail_runs_crash_at_end",
    "s08_crash_after_compile": "hostile_crash_after_compile",
    "s09_syntax_error": "hostile_syntax_error",
    "s10_exit_3": "fail_runs_sys_exit_3",
}
EXTRA = {"s11_notebook": frozenset(), "s12_folder": frozenset(), "s13_reference": frozenset()}


# --- fast: no TensorFlow ----------------------------------------------------------------------


def test_finds_files_and_folders_and_says_which_file_it_grades(tmp_path):
    (tmp_path / "alice.py").write_text("print(1)\n")
    (tmp_path / "bob.ipynb").write_text("{}")
    carol = tmp_path / "carol"
    (carol / "data").mkdir(parents=True)
    (carol / "__pycache__").mkdir()
    (carol / "sentiment_classifier.py").write_text("import helper\n")
    (carol / "helper.py").write_text("X = 1\n")
    (carol / "data" / "extra.csv").write_text("1,2\n")
    (carol / "__pycache__" / "helper.cpython-312.pyc").write_bytes(b"junk")
    (tmp_path / "dan").mkdir()
    (tmp_path / "dan" / "my_model.py").write_text("pass\n")
    (tmp_path / "erin").mkdir()
    (tmp_path / "erin" / "a.py").write_text("pass\n")
    (tmp_path / "erin" / "b.py").write_text("pass\n")
    (tmp_path / "frank.py").write_text("pass\n")
    (tmp_path / "frank.ipynb").write_text("{}")
    (tmp_path / "notes.txt").write_text("not a submission")
    (tmp_path / "alice.txt").write_text("alice's notes, beside her submission")
    (tmp_path / ".DS_Store").write_text("")

    found, skipped = find_submissions(tmp_path)
    by_id = {s.student: s for s in found}
    assert [s.student for s in found] == ["alice", "bob", "carol", "dan", "erin", "frank", "notes"]
    assert skipped == ["alice.txt"]
    assert by_id["notes"].graded is None and by_id["notes"].files == ()
    assert by_id["notes"].problem == "notes.txt is not a .py, .ipynb or a folder"
    assert by_id["notes"].display == "notes.txt"
    assert by_id["alice"].graded == "alice.py" and by_id["alice"].display == "alice.py"
    assert by_id["bob"].graded == "bob.ipynb"
    carol_sub = by_id["carol"]
    assert carol_sub.graded == "sentiment_classifier.py"
    assert carol_sub.display == "carol/sentiment_classifier.py"
    assert [name for name, _ in carol_sub.files] == [
        "data/extra.csv", "helper.py", "sentiment_classifier.py"]
    assert "named like the assignment" in carol_sub.note and "helper.py" in carol_sub.note
    assert by_id["dan"].graded == "my_model.py" and by_id["dan"].note == ""
    assert by_id["erin"].graded is None and "none is named sentiment_classifier" in by_id["erin"].problem
    assert by_id["frank"].graded is None and "several submissions" in by_id["frank"].problem


def test_top_level_symbolic_links_are_not_followed(tmp_path):
    """``mallory.py -> another student's file`` and ``trudy -> another folder`` are neither read
    nor walked: each is a row with 0 points that says why (links inside a folder were already
    left out)."""
    other = tmp_path / "other_student"
    other.mkdir()
    (other / "secret.py").write_text("print('not yours')\n")
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "alice.py").write_text("pass\n")
    (subs / "mallory.py").symlink_to(other / "secret.py")
    (subs / "trudy").symlink_to(other, target_is_directory=True)
    (subs / "walter.py").symlink_to(tmp_path / "nowhere.py")  # dangling
    (subs / "bob.py").write_text("pass\n")
    (subs / "bob.ipynb").symlink_to(other / "secret.py")  # beside a real submission: skipped

    found, skipped = find_submissions(subs)
    by_id = {s.student: s for s in found}
    assert list(by_id) == ["alice", "bob", "mallory", "trudy", "walter"]
    assert skipped == ["bob.ipynb"]
    assert by_id["bob"].graded == "bob.py" and [n for n, _ in by_id["bob"].files] == ["bob.py"]
    for student, entry in (("mallory", "mallory.py"), ("trudy", "trudy"), ("walter", "walter.py")):
        submission = by_id[student]
        assert submission.graded is None and submission.files == (), student
        assert submission.problem == f"{entry} is a symbolic link; submit the file or folder itself"
        assert submission.display == entry and batch.read_files(submission) == {}


def test_resume_key_follows_content_rubric_seed_and_options(tmp_path):
    rubric = load_rubric()
    path = tmp_path / "alice.py"
    path.write_text("print(1)\n")
    sub = Submission("alice", (("alice.py", path),), "alice.py")
    key = resume_key(sub, {"alice.py": b"print(1)\n"}, rubric, GradeOptions())
    assert key == resume_key(sub, {"alice.py": b"print(1)\n"}, rubric, GradeOptions())
    assert key != resume_key(sub, {"alice.py": b"print(2)\n"}, rubric, GradeOptions())
    assert key != resume_key(sub, {"alice.py": b"print(1)\n"}, rubric, GradeOptions(timeout=5))
    # where the cache is, and whether it is used, do not change a grade
    assert key == resume_key(sub, {"alice.py": b"print(1)\n"}, rubric,
                             GradeOptions(use_cache=False, cache_dir=tmp_path))
    changed = tmp_path / "rubric.toml"
    changed.write_text((ROOT / "exercises" / "sentiment" / "rubric.toml").read_text().replace(
        "seed = 20261125", "seed = 7"))
    assert key != resume_key(sub, {"alice.py": b"print(1)\n"}, load_rubric(changed), GradeOptions())


def _record(student: str, seconds: float = 3.0, worker: str = "here:local-1", **how) -> dict:
    """A batch record around a report built by the real checks (see ``real_reports``)."""
    return {"schema": batch.SCHEMA, "student": student, "key": "k", "final": True,
            "report": real_report(f"{student}.py", **how).to_dict(), "seconds": seconds,
            "worker": worker, "note": ""}


def test_grades_csv_has_scores_per_check_a_reason_and_no_timings():
    rows = [_record("alice"), _record("bob", layers="no_dropout", accuracy=0.55),
            _record("carol", crash=("NameError", 27)), _record("dan", timeout=True),
            _record("erin", not_started=True),
            _record("frank", trained=__import__("real_reports").training(
                status="refused", message="a Lambda layer runs arbitrary code")),
            {**_record("gina"), "report": {**_record("gina")["report"], "tampered": True}}]
    text = grades_csv(rows, CHECK_IDS)
    table = {r["student"]: r for r in csv.DictReader(io.StringIO(text))}
    assert list(table) == ["alice", "bob", "carol", "dan", "erin", "frank", "gina"]
    bob = table["bob"]
    assert bob["score"] == "80" and bob["dropout"] == "0" and bob["accuracy"] == "0"
    assert bob["l2"] == "10" and bob["test_accuracy"] == "0.5500" and bob["passed"] == "no"
    assert bob["note"] == "failed dropout, accuracy"
    assert table["alice"]["note"] == "" and table["alice"]["passed"] == "yes"
    assert table["carol"]["note"] == "crashed at line 27 (NameError)"
    assert table["dan"]["note"] == "timed out (300 s)"
    assert table["erin"]["note"] == "not started"
    assert table["frank"]["note"] == "model refused by the grader"
    assert table["gina"]["note"] == "tampered"
    assert "seconds" not in text and "here:local-1" not in text
    assert grades_csv(rows, CHECK_IDS) == text


def test_timings_csv_names_each_local_worker():
    rows = [_record("alice", worker="vm:local-1"), _record("bob", worker="vm:local-2", seconds=7)]
    table = list(csv.DictReader(io.StringIO(batch.timings_csv(rows))))
    assert [(r["student"], r["worker"]) for r in table] == [("alice", "vm:local-1"),
                                                            ("bob", "vm:local-2")]
    assert table[1]["seconds"] == "7" and table[0]["script_seconds"] == "3.2"
    assert table[0]["retrain_seconds"] == "4" and table[0]["retrain_cached"] == "False"


def test_feedback_files_are_the_terminal_report(tmp_path):
    record = _record("carol", crash=("NameError", 27))
    results = batch.Results(tmp_path)
    results.add("carol", record)
    text = (tmp_path / "reports" / "carol.txt").read_text(encoding="utf-8")
    from grader.report import Report
    from grader.reporters import html, terminal

    assert text == terminal.render(Report.from_dict(record["report"])) + "\n"
    assert "✗ runs" in text and "line 27" in text and "Score: " in text
    assert json.loads((tmp_path / "reports" / "carol.json").read_text()) == record
    page = (tmp_path / "reports" / "carol.html").read_text(encoding="utf-8")
    assert page == html.render(Report.from_dict(record["report"]))
    assert "line 27" in page and "85 / 100" in page
    assert not list(tmp_path.rglob(".*.tmp"))


def test_gradescope_results_has_one_test_per_check():
    record = _record("bob", layers="no_dropout")
    results = gradescope.results(record["report"])
    assert results["score"] == 90
    assert [t["name"] for t in results["tests"]][:len(CHECK_IDS)] == list(CHECK_IDS)
    dropout = next(t for t in results["tests"] if t["name"] == "dropout")
    assert dropout["status"] == "failed" and dropout["score"] == 0
    assert "Hint: add Dropout" in dropout["output"]
    json.loads(gradescope.render(record["report"]))


def test_summary_distribution_most_failed_slowest_and_plot(tmp_path):
    records = [_record("alice", seconds=2), _record("bob", layers="no_dropout", seconds=9),
               _record("carol", layers="no_dropout", crash=("NameError", 27), seconds=4),
               _record("dan", layers="two_hidden", seconds=1)]
    figures = summary.summarize(records)
    scores = {r["student"]: r["report"]["score"] for r in records}
    assert scores["alice"] == 100 and scores["bob"] == 90 and scores["dan"] == 90
    # ten rows; full marks are in the top one, whose label says so
    assert list(figures["distribution"])[-2:] == ["80-89", "90-100"]
    assert len(figures["distribution"]) == 10
    assert figures["distribution"]["90-100"] == 3
    assert figures["most_failed"][0] == {"check": "dropout", "failed": 2}
    assert [s["student"] for s in figures["slowest"]] == ["bob", "carol", "alice", "dan"]
    assert figures["did_not_run"] == ["carol"]
    text = summary.render(figures, graded_now=3, reused=0, seconds=12, workers="2 local workers")
    assert "Most-failed checks: dropout (2/4)" in text and "Slowest submissions: bob 9.0 s" in text
    assert "\n  90-100  " + "#" * 30 + " 3\n" in text and "\n     0-9  " in text
    png = summary.plot(records, tmp_path / "scores.png")
    assert png is not None and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_histogram_labels_for_fractional_points():
    assert summary._bucket_label(3, 100.0, integral=False) == "30-<40"
    assert summary._bucket_label(9, 50.0, integral=True) == "45-50"
    assert summary._bucket(100, 100) == summary._bucket(90, 100) == 9
    assert summary._bucket(89.5, 100) == 8


class FakeClock:
    """Time that moves only when a test says so."""

    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_progress_eta_comes_from_measured_durations():
    from rich.console import Console

    clock = FakeClock()
    out = io.StringIO()
    progress = batch.Progress(total=10, already=2, workers=2, clock=clock,
                              console=Console(file=out, width=200))
    assert progress.eta() is None and "ETA --" in progress.line()
    clock.now += 95  # start-up (TensorFlow imports, fork servers) is not a grading duration
    progress.update("bob", _record("bob", crash=("NameError", 3), seconds=12))
    progress.update("carol", _record("carol", seconds=8))
    # 6 left, 10 s each on average, 2 at a time: 30 s
    assert progress.line() == "4/10 graded, 1 failed to run, ETA 30s"
    clock.now += 12  # it counts down between results
    assert progress.eta() == 18
    clock.now += 60  # overdue: the running ones take longer than the mean, so it is unknown
    assert progress.eta() is None and progress.line().endswith("ETA --")
    for student in "defghi":
        progress.update(student, _record(student, seconds=10))
    assert progress.line() == "10/10 graded, 1 failed to run, ETA 0s"
    assert out.getvalue().splitlines()[0] == \
        "bob: 85/100  3/10 graded, 1 failed to run, ETA 42s"  # 7 left, 12 s, 2 at a time


def test_progress_is_a_rich_bar_on_a_terminal():
    from rich.console import Console

    clock = FakeClock()
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120, color_system="standard")
    progress = batch.Progress(total=3, already=0, workers=1, clock=clock, console=console)
    progress.start()
    progress.update("alice", _record("alice", seconds=10))
    progress.finish()
    text = out.getvalue()
    assert "\x1b[" in text, "colour on a terminal"
    assert "1/3" in text and "0 failed to run" in text and "ETA 20s" in text


def _console():
    from rich.console import Console

    out = io.StringIO()
    return Console(file=out, width=300), out


def test_entries_with_nothing_to_grade_get_a_row_a_progress_line_and_a_count(tmp_path):
    """No sandbox runs: every submission here is one the batch cannot grade."""
    subs, out = tmp_path / "subs", tmp_path / "out"
    (subs / "kim").mkdir(parents=True)
    (subs / "kim" / "model_a.py").write_text("pass\n")
    (subs / "kim" / "model_b.py").write_text("pass\n")
    (subs / "grace.txt").write_text("I could not finish")
    (subs / "=HYPERLINK(1).txt").write_text("")
    (tmp_path / "secret.txt").write_text("another student's answer")
    (subs / "mallory.py").symlink_to(tmp_path / "secret.txt")
    console, text = _console()
    assert batch.run_batch(subs, out, load_rubric(), GradeOptions(), workers=2,
                           console=console) == batch.EXIT_DONE
    students = ["=HYPERLINK(1)", "grace", "kim", "mallory"]
    lines = text.getvalue().splitlines()
    assert [line.split(": 0/100  ")[1][:3] for line in lines if ": 0/100  " in line] == \
        ["1/4", "2/4", "3/4", "4/4"], "a progress line for every student"
    csv_text = (out / "grades.csv").read_text()
    assert "\n'=HYPERLINK(1),'=HYPERLINK(1).txt,0," in csv_text, "formula-safe"
    rows = read_rows(out)
    assert [r["score"] for r in rows.values()] == ["0"] * 4
    assert rows["grace"]["note"] == "not graded; grace.txt is not a .py, .ipynb or a folder"
    assert rows["grace"]["submission"] == "grace.txt"
    assert rows["mallory"]["note"] == ("not graded; mallory.py is a symbolic link; submit the "
                                       "file or folder itself")
    assert "candidate files (model_a.py, model_b.py)" in rows["kim"]["note"]
    assert not (out / "sources" / "mallory.py").exists()
    assert not [p for p in out.rglob("*") if p.is_file() and b"another student" in p.read_bytes()]
    summary_json = json.loads((out / "summary.json").read_text())
    assert summary_json["submissions"] == 4 and summary_json["run"]["not_graded"] == students
    assert "Not graded (4, 0 points): =HYPERLINK(1): =HYPERLINK(1).txt is not a .py" in \
        (out / "summary.txt").read_text()

    # a rerun reuses these rows, as it does graded ones
    before = csv_text
    console, text = _console()
    assert batch.run_batch(subs, out, load_rubric(), GradeOptions(), workers=2,
                           console=console) == batch.EXIT_DONE
    run = json.loads((out / "summary.json").read_text())["run"]
    assert run["graded_this_run"] == [] and run["reused"] == students
    assert (out / "grades.csv").read_text() == before
    # ... until the entry changes: grace hands in a script
    (subs / "grace.txt").unlink()
    (subs / "grace.py").write_text("pass\n")
    key = resume_key(find_submissions(subs)[0][1], {"grace.py": b"pass\n"}, load_rubric(),
                     GradeOptions())
    assert key != json.loads((out / "reports" / "grace.json").read_text())["key"]


def test_an_interrupted_rerun_keeps_every_saved_row(tmp_path, monkeypatch):
    """Ctrl-C during ``--force``: the students this run had not graded again keep their saved
    results in grades.csv and the summary; none is dropped. (run_local stands in for the
    workers: it grades with reports built by the real checks, and is interrupted.)"""
    subs, out = tmp_path / "subs", tmp_path / "out"
    subs.mkdir()
    for student in ("alice", "bob", "carol"):
        (subs / f"{student}.py").write_text(f"print({student!r})\n")
    (subs / "grace.txt").write_text("")

    def workers(stop_after: int | None = None, **how):
        def run_local(payloads, count, rubric, options, done):
            for n, payload in enumerate(payloads):
                if n == stop_after:
                    raise KeyboardInterrupt
                done(payload["student"], {**_record(payload["student"], **how),
                                          "key": payload["key"]})
            return 0.0
        return run_local

    monkeypatch.setattr(batch_cli, "run_local", workers())
    assert batch.run_batch(subs, out, load_rubric(), GradeOptions(), workers=2,
                           console=_console()[0]) == batch.EXIT_DONE
    assert [r["score"] for r in read_rows(out).values()] == ["100", "100", "100", "0"]

    monkeypatch.setattr(batch_cli, "run_local", workers(stop_after=1, layers="no_dropout"))
    console, text = _console()
    assert batch.run_batch(subs, out, load_rubric(), GradeOptions(), workers=2, force=True,
                           console=console) == 130
    rows = read_rows(out)
    assert {s: r["score"] for s, r in rows.items()} == \
        {"alice": "90", "bob": "100", "carol": "100", "grace": "0"}
    assert "interrupted: grades.csv holds 4 of 4 students, 2 graded in this run and 2 saved by " \
           "an earlier run; run again to finish" in text.getvalue()
    summary_json = json.loads((out / "summary.json").read_text())
    assert summary_json["submissions"] == 4 and summary_json["run"]["interrupted"]
    assert summary_json["run"]["graded_this_run"] == ["alice", "grace"]
    assert summary_json["run"]["from_earlier_run"] == ["bob", "carol"]
    assert "Interrupted: 2 row(s) are an earlier run's results, not graded again yet (bob, " \
           "carol): run the batch again to finish" in (out / "summary.txt").read_text()
    # the merge itself: this run's record where there is one, else the earlier run's
    results = batch.Results(out)
    earlier = results.load()
    results.add("bob", _record("bob", layers="two_hidden"))
    assert results.merge(earlier, ["alice", "bob", "carol", "dan"]) == ["alice", "carol"]
    assert {s: r["report"]["score"] for s, r in results.records.items()} == \
        {"alice": 90, "bob": 90, "carol": 100}


@pytest.mark.parametrize("argv, message", [
    (["batch", "/no/such/folder", "--out", "x"], "no such folder"),
    (["batch", ".", "--out", "x", "--workers", "0"], "--workers must be positive"),
    (["batch", ".", "--out", "x", "--workers", "2", "--scheduler", "tcp://h:8786"], "exclude"),
])
def test_batch_usage_errors_exit_2(argv, message, capsys):
    assert cli.main(argv) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("argv, hint", [
    (["--only", "-henry"], "--only=-henry"),
    (["--only", "bob", "-henry"], "--only=-henry"),
])
def test_an_id_starting_with_a_dash_is_given_as_only_equals(argv, hint, capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["batch", str(tmp_path), "--out", str(tmp_path / "out"), *argv])
    assert exit_info.value.code == 2
    assert f"an id that starts with '-' is given as {hint}" in capsys.readouterr().err
    (tmp_path / "-henry.py").write_text("pass\n")
    (tmp_path / "bob.py").write_text("pass\n")
    args = batch_cli._parser().parse_args([str(tmp_path), "--out", "o", "--only", "bob",
                                       "--only=-henry"])
    assert args.only == ["bob", "-henry"]


def test_batch_needs_out(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["batch", "."])
    assert exit_info.value.code == 2


# --- end to end: real TensorFlow, real processes -------------------------------------------------


def _notebook(source: str) -> str:
    """The reference solution as a three-cell notebook (the last cell shows a bare expression)."""
    lines = source.splitlines(keepends=True)
    model_at = next(i for i, line in enumerate(lines) if line.startswith("model = Sequential"))
    fit_at = next(i for i, line in enumerate(lines) if line.startswith("history = model.fit"))
    cells = [lines[:model_at], lines[model_at:fit_at], lines[fit_at:]]
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
         "source": cell} for cell in cells]})


def make_submissions(folder: Path) -> dict[str, frozenset[str]]:
    """13 submissions (good, wrong, crashing, hanging; a notebook; a folder with helpers).

    Returns the checks each one must fail (what single-file grading of the same file fails).
    """
    folder.mkdir(parents=True, exist_ok=True)
    expected = {}
    for student, name in FROM_CORPUS.items():
        shutil.copy(CORPUS / f"{name}.py", folder / f"{student}.py")
        expected[student] = parse_case(CORPUS / f"{name}.py").expected_failures
    source = SOLUTION.read_text()
    (folder / "s11_notebook.ipynb").write_text(_notebook(source))
    student = folder / "s12_folder"
    student.mkdir(exist_ok=True)
    (student / "widths.py").write_text("WIDTHS = (256, 128, 64)\n")
    (student / "scratch.py").write_text("print('an experiment, not the submission')\n")
    (student / "sentiment_classifier.py").write_text(
        source.replace("from tensorflow.keras.regularizers import l2\n",
                       "from tensorflow.keras.regularizers import l2\nfrom widths import WIDTHS\n")
        .replace("Dense(256,", "Dense(WIDTHS[0],"))
    shutil.copy(SOLUTION, folder / "s13_reference.py")
    expected.update(EXTRA)
    return expected


@pytest.fixture(scope="session")
def shared_root(tmp_path_factory) -> Path:
    """A folder all pytest-xdist workers of this session share."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def submissions(shared_root) -> tuple[Path, dict[str, frozenset[str]]]:
    with _locked(shared_root / "batch-submissions.lock"):
        folder = shared_root / "batch-submissions"
        return folder, make_submissions(folder)


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    return shared_cache_dir(tmp_path_factory)


class _locked:
    def __init__(self, path: Path):
        self.handle = open(path, "w")

    def __enter__(self):
        fcntl.flock(self.handle, fcntl.LOCK_EX)

    def __exit__(self, *exc):
        fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()


def batch_command(folder: Path, out: Path, cache_dir: Path, *more: str) -> list[str]:
    return [sys.executable, "-m", "grader", "batch", str(folder), "--out", str(out),
            "--timeout", str(TIMEOUT), "--cache-dir", str(cache_dir), *more]


def run_batch(command: list[str], log: Path) -> subprocess.CompletedProcess:
    with open(log, "w") as handle:
        result = subprocess.run(command, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT,
                                timeout=1200)
    assert result.returncode == 0, log.read_text()[-3000:]
    return result


@pytest.fixture(scope="session")
def reference(shared_root, submissions, cache_dir) -> Path:
    """One uninterrupted batch with 2 local workers (run once per session, whatever the workers)."""
    folder, _ = submissions
    out = shared_root / "batch-reference"
    with _locked(shared_root / "batch-reference.lock"):
        if not (out / "summary.json").exists():
            shutil.rmtree(out, ignore_errors=True)
            started = time.monotonic()
            run_batch(batch_command(folder, out, cache_dir, "--workers", str(WORKERS)),
                      shared_root / "batch-reference.log")
            (shared_root / "batch-reference.seconds").write_text(f"{time.monotonic() - started:.1f}")
    return out


def read_rows(out: Path) -> dict[str, dict]:
    with open(out / "grades.csv", newline="") as handle:
        return {row["student"]: row for row in csv.DictReader(handle)}


def test_batch_grades_every_submission_once_like_single_file_grading(reference, submissions,
                                                                      cache_dir):
    folder, expected = submissions
    text = (reference / "grades.csv").read_text()
    students = [line.split(",")[0] for line in text.splitlines()[1:]]
    assert students == sorted(expected), "one row per student, sorted by id"
    rows = read_rows(reference)
    rubric = load_rubric()
    for student, failing in expected.items():
        row = rows[student]
        failed = {c for c in CHECK_IDS if float(row[c]) < rubric.points[c]}
        assert failed == failing, f"{student}: failed {sorted(failed)}, expected {sorted(failing)}"
        assert float(row["score"]) == sum(rubric.points[c] for c in CHECK_IDS if c not in failing)
        report = json.loads((reference / "reports" / f"{student}.json").read_text())
        assert report["final"] and report["report"]["score"] == float(row["score"])
        assert (reference / "gradescope" / student / "results.json").is_file()
    hang = json.loads((reference / "reports" / "s01_hangs.json").read_text())["report"]
    assert "still running after" in hang["checks"][0]["message"]
    assert "named like the assignment" in rows["s12_folder"]["note"]
    assert rows["s12_folder"]["submission"] == "s12_folder/sentiment_classifier.py"

    # the same files graded one by one through the single-file path agree exactly
    from grader.core.options import GradeOptions
    from grader.pipeline import grade

    for student in ("s04_mse", "s11_notebook"):
        path = next(folder.glob(f"{student}.*"))
        single = grade(path, GradeOptions(timeout=TIMEOUT, cache_dir=cache_dir))
        assert float(rows[student]["score"]) == single.score, student
        assert {c: _number(c_.score) for c, c_ in zip(CHECK_IDS, single.checks)} == \
            {c: rows[student][c] for c in CHECK_IDS}
        accuracy = single.metrics["test_accuracy"]
        assert rows[student]["test_accuracy"] == ("" if accuracy is None else f"{accuracy:.4f}")

    summary_json = json.loads((reference / "summary.json").read_text())
    assert summary_json["submissions"] == len(expected)
    assert sorted(summary_json["run"]["graded_this_run"]) == sorted(expected)
    assert 0 < summary_json["run"]["start_up_seconds"] < summary_json["run"]["seconds"]
    assert (reference / "scores.png").read_bytes()[:4] == b"\x89PNG"
    assert (reference / "timings.csv").read_text().count("\n") == len(expected) + 1

    # run again: nothing is graded twice, and the CSV is byte-identical
    again = reference.parent / "batch-reference-again"
    shutil.copytree(reference, again, dirs_exist_ok=True)
    run_batch(batch_command(folder, again, cache_dir), reference.parent / "batch-again.log")
    assert json.loads((again / "summary.json").read_text())["run"]["graded_this_run"] == []
    assert (again / "grades.csv").read_bytes() == (reference / "grades.csv").read_bytes()


def _number(value: float) -> str:
    return f"{float(value):g}"


def _descendants(root: int) -> dict[int, str]:
    """pid -> start time of every process below ``root`` (Linux /proc)."""
    table = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_bytes().rsplit(b")", 1)[1].split()
                table[int(entry.name)] = (int(fields[1]), fields[19])
            except (OSError, IndexError, ValueError):
                continue
    found, stack = {}, [root]
    while stack:
        pid = stack.pop()
        for child, (ppid, start) in table.items():
            if ppid == pid and child not in found:
                found[child] = start
                stack.append(child)
    return found


def _is_retrainer(pid: int) -> bool:
    try:
        return b"grader.retrain.worker" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _alive(processes: dict[int, str]) -> list[int]:
    alive = []
    for pid, start in processes.items():
        try:
            fields = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if fields[19] == start and fields[0] != b"Z":
            alive.append(pid)
    return alive


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_sigkill_half_way_then_restart_equals_an_uninterrupted_run(reference, submissions,
                                                                   cache_dir, tmp_path):
    folder, expected = submissions
    out = tmp_path / "killed"
    log = open(tmp_path / "first.log", "w")
    batch_process = subprocess.Popen(batch_command(folder, out, cache_dir, "--workers", str(WORKERS)),
                                     cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 900
    half = len(expected) // 2
    sandboxes: dict[int, str] = {}
    while len(list((out / "reports").glob("*.json"))) < half:
        assert batch_process.poll() is None, (tmp_path / "first.log").read_text()[-3000:]
        assert time.monotonic() < deadline, "the batch made no progress"
        sandboxes.update(_descendants(batch_process.pid))
        time.sleep(0.2)
    sandboxes.update(_descendants(batch_process.pid))
    assert batch_process.poll() is None, "the batch finished before it could be killed"
    os.kill(batch_process.pid, signal.SIGKILL)
    batch_process.wait()
    log.close()
    graded_first = {p.stem for p in (out / "reports").glob("*.json")}
    assert half <= len(graded_first) < len(expected)

    # its fork servers, sandboxes and everything they started die with it, at once; the
    # trusted retrain workers (no student code) end when their input closes
    retrainers = {pid: start for pid, start in sandboxes.items() if _is_retrainer(pid)}
    sandboxes = {pid: start for pid, start in sandboxes.items() if pid not in retrainers}
    deadline = time.monotonic() + 20
    while _alive(sandboxes) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(sandboxes), f"still running after the batch was killed: {_alive(sandboxes)}"

    run_batch(batch_command(folder, out, cache_dir, "--workers", str(WORKERS)),
              tmp_path / "second.log")
    assert not _alive(retrainers), "a retrain worker outlived its batch"
    graded_now = set(json.loads((out / "summary.json").read_text())["run"]["graded_this_run"])
    assert graded_now.isdisjoint(graded_first), "graded twice"
    assert graded_now | graded_first == set(expected)
    assert (out / "grades.csv").read_bytes() == (reference / "grades.csv").read_bytes()


def test_the_same_batch_on_a_dask_local_cluster_gives_the_same_results(reference, submissions,
                                                                        cache_dir, tmp_path):
    distributed = pytest.importorskip("distributed")
    folder, expected = submissions
    out = tmp_path / "cluster"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, memory_limit=0) as cluster:
        worker_pids = {w.pid for w in cluster.workers.values()}
        assert os.getpid() not in worker_pids and len(worker_pids) == 2
        run_batch(batch_command(folder, out, cache_dir, "--scheduler", cluster.scheduler_address),
                  tmp_path / "cluster.log")
    assert (out / "grades.csv").read_bytes() == (reference / "grades.csv").read_bytes()
    records = [json.loads((out / "reports" / f"{s}.json").read_text()) for s in expected]
    workers = {r["worker"].rsplit(":", 1)[1] for r in records if r["worker"]}
    assert workers <= {str(pid) for pid in worker_pids} and workers, "graded on the cluster workers"
    assert "cluster worker" in json.loads((out / "summary.json").read_text())["run"]["where"]


def test_strict_rubric_feedback_files_and_regrading_one_student(cache_dir, tmp_path):
    """The instructor's first week: batch with their own rubric, read what each student is sent,
    regrade one student after a fix (--only), then everybody (--force)."""
    folder = tmp_path / "submissions"
    folder.mkdir()
    shutil.copy(SOLUTION, folder / "alice.py")
    shutil.copy(CORPUS / "fail_runs_crash_at_end.py", folder / "bob.py")
    strict = tmp_path / "strict.toml"
    strict.write_text((ROOT / "exercises" / "sentiment" / "rubric.toml").read_text()
                      .replace("dropout = 10", "dropout = 15").replace("max_score = 100", "max_score = 105"))
    out = tmp_path / "results"
    command = batch_command(folder, out, cache_dir, "--rubric", str(strict), "--workers", "2")
    first = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=1200)
    assert first.returncode == 0, first.stderr[-3000:]
    rows = read_rows(out)
    assert rows["alice"]["score"] == "105" and rows["alice"]["max_score"] == "105"
    assert rows["alice"]["dropout"] == "15" and rows["alice"]["note"] == ""
    assert rows["bob"]["score"] == "100" and rows["bob"]["note"].startswith("crashed at line 35 (")
    bob_txt = (out / "reports" / "bob.txt").read_text(encoding="utf-8")
    assert bob_txt.startswith("Sentiment classifier grader ") and "✗ runs" in bob_txt
    assert "Score: 100/105" in bob_txt
    assert "feedback to send:" in first.stdout and "94.5-105" in first.stdout  # tenths of 105
    workers = {row["worker"] for row in csv.DictReader(open(out / "timings.csv"))}
    assert len(workers) == 2 and all(":local-" in w for w in workers), workers

    # bob fixes his script; a rerun would grade only him anyway, but --only says so explicitly,
    # and alice is kept as saved even though her file changed too
    shutil.copy(SOLUTION, folder / "bob.py")
    (folder / "alice.py").write_text(SOLUTION.read_text() + "\n# touched\n")
    again = subprocess.run(batch_command(folder, out, cache_dir, "--rubric", str(strict),
                                         "--only", "bob"), cwd=ROOT, capture_output=True,
                           text=True, timeout=1200)
    assert again.returncode == 0, again.stderr[-3000:]
    run = json.loads((out / "summary.json").read_text())["run"]
    assert run["graded_this_run"] == ["bob"] and run["kept"] == ["alice"]
    assert run["outdated"] == ["alice"] and "run without --only to regrade them" in again.stdout
    assert read_rows(out)["bob"]["score"] == "105"
    assert "Score: 105/105" in (out / "reports" / "bob.txt").read_text(encoding="utf-8")

    unknown = subprocess.run(batch_command(folder, out, cache_dir, "--only", "zed"), cwd=ROOT,
                             capture_output=True, text=True, timeout=120)
    assert unknown.returncode == 2 and "--only: no submission" in unknown.stderr

    forced = subprocess.run(batch_command(folder, out, cache_dir, "--rubric", str(strict),
                                          "--force", "--workers", "1"),  # one slot's start-up
                            cwd=ROOT, capture_output=True, text=True, timeout=1200)
    assert forced.returncode == 0, forced.stderr[-3000:]
    run = json.loads((out / "summary.json").read_text())["run"]
    assert run["graded_this_run"] == ["alice", "bob"] and run["reused"] == []
