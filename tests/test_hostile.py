"""Extra assertions for the hostile corpus files, the template, the reference solution and determinism.

The exact set of failed checks of every corpus file is asserted in ``test_corpus.py``; here we check
what a checklist cannot show: the machine is left as it was, the grader survives, limits come back
as graded outcomes in time, and messages say what happened.
"""

from __future__ import annotations

import json
import os
import re
import signal
import site
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest

from test_corpus import (CHECK_IDS, CORPUS, CORPUS_FILES, assert_verdicts, grade_case, grade_file,
                         parse_case, shared_cache_dir)

HOSTILE_FILES = [p for p in CORPUS_FILES if p.name.startswith("hostile_")]

# One xdist worker runs this whole module (`-n 2 --dist loadfile`), so each hostile file is
# graded once and its memoized report serves the verdict test and the property tests.

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "assignment" / "sentiment_classifier.py"
SOLUTION = ROOT / "solution" / "sentiment_classifier.py"

BG_MARKER = "corpus-bgproc-" + "7f3a" + "9c"      # never spelled out in one piece in a source file
PLANT_TAG = "b41d"


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    return shared_cache_dir(tmp_path_factory)


def graded(name: str, cache_dir: Path):
    return grade_case(parse_case(CORPUS / f"{name}.py"), cache_dir)


def check(report, check_id: str):
    for result in report.checks:
        if result.id == check_id:
            return result
    raise AssertionError(f"no check {check_id!r} in the report")


def all_messages(report) -> str:
    return "\n".join(f"{c.id}: {c.message} {getattr(c, 'hint', '')}" for c in report.checks)


def processes_with(marker: str) -> dict[int, str]:
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in cmdline:
            found[int(entry.name)] = cmdline.replace(b"\0", b" ").decode(errors="replace")
    return found


# --------------------------------------------------------------------------------------------------
# crash half-way, syntax error, exit status
# --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", HOSTILE_FILES, ids=[p.stem for p in HOSTILE_FILES])
def test_hostile_file_verdicts(path: Path, cache_dir: Path):
    """Each hostile file fails exactly its header's checks, graded as `python -m grader` does."""
    case = parse_case(path)
    assert_verdicts(case, grade_case(case, cache_dir).report)


def test_crash_message_names_the_line(cache_dir):
    path = CORPUS / "hostile_crash_after_compile.py"
    crash_line = next(i for i, line in enumerate(path.read_text().splitlines(), 1) if "# CRASH-LINE" in line)
    report = grade_case(parse_case(path), cache_dir).report
    runs = check(report, "runs")
    assert not runs.passed
    assert re.search(rf"(line\s*{crash_line}\b|:{crash_line}\b)", runs.message, re.IGNORECASE), runs.message
    assert "NameError" in runs.message or "X_train_scaled" in runs.message, runs.message
    # partial credit: what was built and compiled before the crash still counts, and was retrained
    for earned in ("data", "split", "hidden_layers", "l2", "dropout", "output_layer", "loss", "accuracy"):
        assert check(report, earned).passed, all_messages(report)
    assert report.metrics.get("test_accuracy") is not None
    assert "Traceback" not in all_messages(report)


def test_syntax_error_is_reported_with_its_line(cache_dir):
    path = CORPUS / "hostile_syntax_error.py"
    report = graded("hostile_syntax_error", cache_dir).report
    runs = check(report, "runs")
    assert not runs.passed and "syntax" in runs.message.lower(), runs.message
    # the unclosed parenthesis opens on the first model.add line; Python reports it there or on the next
    lines = path.read_text().splitlines()
    opened = next(i for i, line in enumerate(lines, 1) if line.startswith("model.add(Dense(256"))
    numbers = {int(n) for n in re.findall(r"\d+", runs.message)}
    assert numbers & {opened, opened + 1}, runs.message
    assert report.not_started is False


def test_sys_exit_3_is_a_failed_run_with_the_status(cache_dir):
    report = graded("fail_runs_sys_exit_3", cache_dir).report
    runs = check(report, "runs")
    assert not runs.passed and "3" in runs.message, runs.message


def test_sys_exit_0_is_a_normal_end(cache_dir):
    assert check(graded("pass_sys_exit_0", cache_dir).report, "runs").passed


# --------------------------------------------------------------------------------------------------
# limits: time, memory, output
# --------------------------------------------------------------------------------------------------

def test_infinite_loop_comes_back_as_timeout(cache_dir):
    case = parse_case(CORPUS / "hostile_infinite_loop.py")
    assert case.timeout <= 30
    result = grade_case(case, cache_dir)
    runs = check(result.report, "runs")
    assert not runs.passed
    assert re.search(r"time|timeout|seconds", runs.message, re.IGNORECASE), runs.message
    assert result.elapsed < case.timeout + 60, f"grading took {result.elapsed:.0f}s"


def test_memory_hog_hits_the_memory_limit(cache_dir):
    case = parse_case(CORPUS / "hostile_memory_hog.py")
    assert case.memory_mb == 2048
    result = grade_case(case, cache_dir)
    runs = check(result.report, "runs")
    assert not runs.passed
    assert re.search(r"memory|MiB|MB", runs.message, re.IGNORECASE), runs.message
    # well before the wall-clock limit: ~2 GiB of touched pages takes a couple of seconds
    assert result.elapsed < case.timeout, f"grading took {result.elapsed:.0f}s"
    peak = result.report.metrics.get("peak_memory_mb")
    if peak is not None:
        assert peak < 2048 * 1.5, f"peak memory {peak} MB went far past the 2048 MB limit"


def test_output_flood_is_capped_and_the_last_line_survives(cache_dir):
    result = graded("hostile_output_flood", cache_dir)
    report = result.report
    assert check(report, "runs").passed, all_messages(report)
    assert check(report, "prints_accuracy").passed, all_messages(report)
    text = json.dumps(report.to_dict(), default=str)
    assert len(text) < 1_000_000, f"the JSON report is {len(text)} bytes"
    assert max(len(c.message) for c in report.checks) < 10_000
    info = getattr(report, "info", {}) or {}
    if "output_truncated" in info:
        assert info["output_truncated"] is True
    assert result.elapsed < 120


# --------------------------------------------------------------------------------------------------
# trust boundary
# --------------------------------------------------------------------------------------------------

def test_evaluate_monkeypatch_does_not_raise_accuracy(cache_dir):
    report = graded("hostile_evaluate_monkeypatch", cache_dir).report
    accuracy = check(report, "accuracy")
    assert not accuracy.passed, all_messages(report)
    grader_accuracy = report.metrics.get("test_accuracy")
    assert grader_accuracy is None or grader_accuracy < 0.70, report.metrics
    assert not check(report, "prints_accuracy").passed, "the fake 'Test accuracy: 1.0' was accepted"
    # Replacing Keras' evaluate is tampering: only `runs` (the exit status) still counts.
    assert report.tampered and "Model.evaluate" in report.tampered
    assert report.score <= check(report, "runs").max_score


def _site_dirs() -> set[str]:
    dirs = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    try:
        dirs.update(site.getsitepackages())
    except Exception:
        pass
    try:
        dirs.add(site.getusersitepackages())
    except Exception:
        pass
    return {d for d in dirs if d}


def _planted_files() -> list[Path]:
    candidates = []
    for directory in _site_dirs():
        for name in ("sitecustomize.py", "usercustomize.py", f"zz_corpus_planted_{PLANT_TAG}.pth"):
            candidates.append(Path(directory) / name)
    candidates.append(ROOT / "grader" / f"_planted_{PLANT_TAG}.py")
    planted = []
    for path in candidates:
        try:
            if path.exists() and PLANT_TAG in path.read_text(errors="replace"):
                planted.append(path)
        except OSError:
            continue
    return planted


def test_plant_sitecustomize_leaves_site_packages_untouched(cache_dir):
    report = graded("hostile_plant_sitecustomize", cache_dir).report
    planted = _planted_files()
    for path in planted:            # clean up whatever got through, then fail
        path.unlink()
    assert not planted, f"the submission planted {[str(p) for p in planted]}"
    fresh = subprocess.run([sys.executable, "-c", "import os; print(os.environ.get('CORPUS_PLANTED'))"],
                           capture_output=True, text=True, timeout=60)
    assert fresh.stdout.strip() == "None", fresh.stdout
    assert check(report, "runs").passed, all_messages(report)


def test_background_processes_do_not_outlive_grading(cache_dir, tmp_path):
    graded("hostile_background_processes", cache_dir)
    alive_marker = Path("/tmp") / f"{BG_MARKER}-daemon.alive"
    alive_marker.unlink(missing_ok=True)
    time.sleep(3)
    survivors = processes_with(BG_MARKER)
    rewritten = alive_marker.exists()
    for pid in survivors:           # they descend from this test run: clean up, then fail
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    alive_marker.unlink(missing_ok=True)
    assert not survivors, f"still running after grading: {survivors}"
    assert not rewritten, "the daemon kept writing its marker file after grading"


def test_network_access_fails_with_a_no_network_message(cache_dir):
    report = graded("hostile_network_access", cache_dir).report
    runs = check(report, "runs")
    assert not runs.passed
    assert "network" in runs.message.lower(), runs.message


def test_kill_parent_the_grader_survives_and_reports(cache_dir):
    me = os.getpid()
    result = graded("hostile_kill_parent", cache_dir)
    os.kill(me, 0)                  # still alive (trivially, if we got here)
    runs = check(result.report, "runs")
    assert not runs.passed and runs.message.strip()
    # everything the script did before the kill attempts is still graded
    for earned in ("data", "split", "training", "prints_accuracy", "accuracy"):
        assert check(result.report, earned).passed, all_messages(result.report)
    # the grader still works afterwards
    again = graded("pass_sheet_baseline", cache_dir).report
    assert again.passed, all_messages(again)


@pytest.mark.parametrize("name, word", [("hostile_lambda_layer", "lambda"),
                                        ("hostile_custom_layer_subclass", "custom")])
def test_custom_layers_are_refused_with_a_clear_message(cache_dir, name, word):
    report = graded(name, cache_dir).report
    accuracy = check(report, "accuracy")
    assert not accuracy.passed
    text = (accuracy.message + " " + getattr(accuracy, "hint", "")).lower()
    assert "retrain" in text or "rebuild" in text, accuracy.message
    assert word in text or "scale" in text or "custom" in text, accuracy.message
    for structural in ("hidden_layers", "decreasing_widths", "l2", "dropout", "hidden_activations",
                       "output_layer", "loss"):
        assert check(report, structural).passed, all_messages(report)


# --------------------------------------------------------------------------------------------------
# template, solution, determinism
# --------------------------------------------------------------------------------------------------

def test_untouched_template_is_not_started(cache_dir):
    report = grade_file(TEMPLATE, cache_dir).report
    assert report.not_started is True
    assert not report.passed and report.score == 0
    assert "starter template" in report.checks[0].message
    assert "Traceback" not in all_messages(report)
    assert sorted(c.id for c in report.checks) == sorted(CHECK_IDS)


def test_reference_solution_earns_full_marks(cache_dir):
    report = grade_file(SOLUTION, cache_dir).report
    assert report.passed, all_messages(report)
    assert report.score == report.max_score == 100
    assert report.metrics["test_accuracy"] > 0.70


def test_grading_is_deterministic(cache_dir):
    """The same numbers from a cold sandbox (the CLI's) and a warm one (batch and nbgrader's)."""
    first = grade_file(SOLUTION, cache_dir, use_cache=False, memo=False).report
    second = grade_file(SOLUTION, cache_dir, use_cache=False, memo=False, warm=True).report
    assert first.score == second.score
    assert first.metrics["test_accuracy"] is not None
    assert first.metrics["test_accuracy"] == second.metrics["test_accuracy"]
    assert [(c.id, c.passed) for c in first.checks] == [(c.id, c.passed) for c in second.checks]
