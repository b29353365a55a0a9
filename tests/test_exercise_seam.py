"""The engine holds no literal of an exercise: a renamed copy of the sentiment exercise, given
other widths, sizes and words in its own folder, is graded by its own numbers alone.

The copy is a package of its own (``exercises.renamed``, found on an extra path of the
``exercises`` package), with its own rubric (1200 rows of 300 features, 2 hidden layers, 40
epochs), hints (widths 200 -> 100, "tweet") and solution; nothing in ``grader/`` changes.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

import exercises
from grader import exercise
from grader.core.options import GradeOptions
from grader.pipeline import grade
from grader.rubric import load_rubric
from test_corpus import shared_cache_dir

ROOT = Path(__file__).resolve().parents[1]
SENTIMENT = ROOT / "exercises" / "sentiment"


def _edit(path: Path, *pairs: tuple[str, str]) -> None:
    text = path.read_text(encoding="utf-8")
    for old, new in pairs:
        assert old in text, f"{path.name}: {old!r} is not in the sentiment exercise any more"
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def renamed(tmp_path_factory):
    """The copy, installed for this test process only."""
    base = tmp_path_factory.mktemp("seam")
    package = base / "renamed"
    shutil.copytree(SENTIMENT, package, ignore=shutil.ignore_patterns("__pycache__"))
    _edit(package / "__init__.py", ("exercises.sentiment", "exercises.renamed"),
          ('name="sentiment"', 'name="renamed"'),
          ("root=HERE.parent.parent", "root=HERE"),
          ('Path("assignment/sentiment_classifier.py")', 'Path("template.py")'),
          ('Path("solution/sentiment_classifier.py")', 'Path("solution.py")'),
          ('Path("exercises/sentiment/rubric.toml")', 'Path("rubric.toml")'),
          ('heading="Sentiment classifier"', 'heading="Tweet mood classifier"'))
    _edit(package / "checks.py", ("widths=(256, 128, 64)", "widths=(200, 100)"),
          ('sample="review"', 'sample="tweet"'))
    _edit(package / "rubric.toml", ('name = "sentiment"', 'name = "renamed"'),
          ("n_samples = 2000", "n_samples = 1200"), ("n_features = 500", "n_features = 300"),
          ("min_hidden_layers = 3", "min_hidden_layers = 2"), ("epochs = 50", "epochs = 40"),
          ('boilerplate = ["../../assignment/sentiment_classifier.py"]', "boilerplate = []"))
    solution = package / "solution.py"
    shutil.copy(ROOT / "solution" / "sentiment_classifier.py", solution)
    _edit(solution, ("n_samples=2000, n_features=500", "n_samples=1200, n_features=300"),
          ("Input(shape=(500,))", "Input(shape=(300,))"),
          ('    Dense(256, activation="relu", kernel_regularizer=l2(0.001)),\n    Dropout(0.5),\n', ""),
          ("Dense(128,", "Dense(200,"), ("Dense(64,", "Dense(100,"), ("epochs=50", "epochs=40"))
    shutil.copy(ROOT / "assignment" / "sentiment_classifier.py", package / "template.py")
    exercises.__path__.append(str(base))
    exercise.get.cache_clear()
    yield exercise.get("renamed")
    exercises.__path__.remove(str(base))
    exercise.get.cache_clear()
    for name in [m for m in sys.modules if m.startswith("exercises.renamed")]:
        del sys.modules[name]


def _graded(path: Path, name: str, cache_dir: Path):
    options = GradeOptions(timeout=300, full=False, use_cache=True, cache_dir=cache_dir)
    return grade(path, options, rubric=load_rubric(exercise=name))


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    return shared_cache_dir(tmp_path_factory)


def test_the_copy_is_an_installed_exercise_of_its_own(renamed):
    assert "renamed" in exercise.names() and renamed.name == "renamed"
    assert renamed.registry.check_ids == exercise.get("sentiment").registry.check_ids
    rubric = load_rubric(exercise="renamed")
    assert rubric.exercise_name == "renamed" and rubric.exercise.n_features == 300


@pytest.mark.slow
def test_its_solution_earns_full_marks_by_its_own_numbers(renamed, cache_dir):
    report = _graded(renamed.path(renamed.solution), "renamed", cache_dir)
    by_id = {c.id: c for c in report.checks}
    assert report.score == report.max_score == 100, [c.message for c in report.checks if not c.passed]
    assert "n_features=300" in by_id["data"].message and "960 training / 240 test" in by_id["split"].message
    assert "2 hidden Dense layers (200 → 100)" in by_id["hidden_layers"].message
    assert report.info["exercise"] == "renamed" and report.info["exercise_heading"] == "Tweet mood classifier"


@pytest.mark.slow
def test_the_sentiment_solution_fails_it_with_the_copys_words(renamed, cache_dir):
    report = _graded(ROOT / "solution" / "sentiment_classifier.py", "renamed", cache_dir)
    by_id = {c.id: c for c in report.checks}
    assert not by_id["data"].passed and "n_features=300" in by_id["data"].message
    assert not by_id["training"].passed and "epochs=50 (expected 40)" in by_id["training"].message
    assert by_id["hidden_layers"].passed  # three hidden layers are at least two
    assert not by_id["split"].passed or "1200" not in by_id["split"].message
