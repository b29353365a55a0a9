"""The second exercise, graded for real: the lesson's ten-class model (``exercises/multiclass``).

``tests/multiclass/`` holds student-style scripts and a notebook for it, each declaring the checks
it fails in its first line (a notebook: its first code cell's), as ``tests/corpus/`` files do.
Each is graded once per test process through one warm lane (fork server, retrain worker) with the
multiclass rubric; the tests read the verdicts and the words a student reads.
"""

from __future__ import annotations

import atexit
import re
from pathlib import Path

import pytest

from grader.core.options import GradeOptions
from grader.exercise import get
from grader.reporters import terminal
from grader.rubric import load_rubric
from test_corpus import header_lines, shared_cache_dir

EXERCISE = get("multiclass")
CHECK_IDS = EXERCISE.registry.check_ids
FILES_DIR = Path(__file__).resolve().parent / "multiclass"
FILES = sorted(FILES_DIR.glob("*.py")) + sorted(FILES_DIR.glob("*.ipynb"))
ROOT = Path(__file__).resolve().parents[1]
_EXPECT = re.compile(r"^#\s*expect-fail:(?P<ids>.*)$")
_LANE: dict = {}
_REPORTS: dict = {}


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    return shared_cache_dir(tmp_path_factory)


def graded(path: Path, cache_dir: Path, exercise: str = "multiclass"):
    """The report of ``path`` graded as ``exercise`` (once per test process)."""
    key = (str(path), exercise)
    if key not in _REPORTS:
        if not _LANE:
            from grader.integrations.lane import Lane

            _LANE["lane"] = Lane()
            atexit.register(_LANE["lane"].close)
        options = GradeOptions(timeout=300, full=False, use_cache=True, cache_dir=cache_dir)
        _REPORTS[key] = _LANE["lane"].grade(path, options, load_rubric(exercise=exercise))
    return _REPORTS[key]


def expected_failures(path: Path) -> set[str]:
    match = _EXPECT.match(header_lines(path)[0])
    assert match, f"{path.name}: the first line must be '# expect-fail: <check ids>'"
    ids = set(match.group("ids").split())
    assert ids <= set(CHECK_IDS), f"{path.name}: unknown check ids {sorted(ids - set(CHECK_IDS))}"
    return ids


def checks(report) -> dict:
    return {check.id: check for check in report.checks}


def read(report) -> str:
    """The terminal report as a student reads it (wrapped lines joined)."""
    return " ".join(terminal.render(report).split())


def test_there_are_enough_student_files():
    assert len(FILES) >= 12 and any(p.suffix == ".ipynb" for p in FILES)


def test_the_exercise_keeps_the_sentiment_ids_where_a_check_means_the_same():
    sentiment = get("sentiment").registry.check_ids
    shared = {"runs", "data", "split", "hidden_layers", "decreasing_widths", "l2", "dropout",
              "hidden_activations", "output_layer", "loss", "training", "prints_accuracy",
              "loss_decreases", "accuracy"}
    assert shared <= set(CHECK_IDS) and shared <= set(sentiment)
    assert set(CHECK_IDS) - set(sentiment) == {"optimizer"}
    assert "optimizer_comparison" in EXERCISE.registry.bonus_ids


@pytest.mark.slow
@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_student_file(path: Path, cache_dir: Path):
    """Exactly the header's checks fail, each saying what it found."""
    report = graded(path, cache_dir)
    assert [c.id for c in report.checks] == list(CHECK_IDS)
    failed = {c.id for c in report.checks if not c.passed}
    assert failed == expected_failures(path), read(report)
    for check in report.checks:
        assert check.passed or check.message.strip()
    assert report.info["exercise"] == "multiclass"
    assert terminal.render(report).startswith("Ten-class classifier grader ")


@pytest.mark.slow
def test_the_reference_solution_earns_full_marks_and_the_template_none(cache_dir):
    solution = graded(EXERCISE.path(EXERCISE.solution), cache_dir)
    assert solution.score == solution.max_score == 100, read(solution)
    assert solution.info["retrain_engine"], solution.info
    template = graded(EXERCISE.path(EXERCISE.template), cache_dir)
    assert template.score == 0 and template.not_started, read(template)
    assert "steps 1-6" in read(template)


@pytest.mark.slow
def test_integer_labels_with_categorical_crossentropy_name_both_of_the_lessons_fixes(cache_dir):
    report = graded(FILES_DIR / "categorical_integer_labels.py", cache_dir)
    runs, loss = checks(report)["runs"], checks(report)["loss"]
    for text in (runs.message + " " + runs.hint, loss.message + " " + loss.hint):
        assert "categorical_crossentropy" in text and "integer" in text, text
        assert "to_categorical" in text and "sparse_categorical_crossentropy" in text, text
    assert "binary" not in runs.message  # the loss the script used, not the sentiment one


@pytest.mark.slow
def test_one_hot_labels_with_the_sparse_loss_say_which_labels_it_takes(cache_dir):
    loss = checks(graded(FILES_DIR / "sparse_onehot_labels.py", cache_dir))["loss"]
    assert "takes integer labels" in loss.message and "10 columns" in loss.message
    assert "categorical_crossentropy" in loss.hint


@pytest.mark.slow
def test_the_output_layer_messages_say_what_ten_classes_need(cache_dir):
    sigmoid = checks(graded(FILES_DIR / "sigmoid_ten_units.py", cache_dir))["output_layer"]
    assert "Dense(10) with sigmoid" in sigmoid.message and "softmax" in sigmoid.message
    one = checks(graded(FILES_DIR / "one_unit_output.py", cache_dir))
    assert "Dense(1)" in one["output_layer"].message and "10 classes" in one["output_layer"].message
    assert "binary_crossentropy" in one["loss"].message and "10-class" in one["loss"].message
    assert "Dense(10, activation='softmax')" in one["output_layer"].hint


@pytest.mark.slow
def test_the_optimizer_comparison_bonus(cache_dir):
    done = {b.id: b for b in graded(FILES_DIR / "optimizer_comparison.py", cache_dir).bonus}
    assert done["optimizer_comparison"].done, done["optimizer_comparison"].message
    assert "adam" in done["optimizer_comparison"].message and "sgd" in done["optimizer_comparison"].message
    single = {b.id: b for b in graded(FILES_DIR / "no_dropout.py", cache_dir).bonus}
    assert not single["optimizer_comparison"].done
    assert single["optimizer_comparison"].message.startswith("not tried")


@pytest.mark.slow
def test_a_sentiment_solution_graded_as_multiclass_says_what_multiclass_asks(cache_dir):
    report = graded(ROOT / "solution" / "sentiment_classifier.py", cache_dir)
    by_id = checks(report)
    assert not by_id["data"].passed and "n_features=784" in by_id["data"].message
    assert "n_classes=10" in by_id["data"].message and "n_informative=50" in by_id["data"].hint
    assert not by_id["output_layer"].passed and "Dense(10, activation='softmax')" in by_id["output_layer"].hint
    assert not by_id["loss"].passed and "10-class" in by_id["loss"].message
    assert not by_id["training"].passed and "epochs=50 (expected 30)" in by_id["training"].message
    assert by_id["l2"].passed and by_id["dropout"].passed  # what both sheets ask stays passed
