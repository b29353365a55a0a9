"""The sheet's bonus challenges in real student-style scripts (``tests/bonus/``), graded by the
real grader (sandbox, probe, trusted retrain) from the session's warm lane, each file once.

``all_done.py`` does every challenge; ``almost.py`` gets each one nearly right (EarlyStopping on
the training loss, a schedule defined but never used, only the training loss plotted, three
Dropout rates trained but only one result printed). Both build the same final model, so the
retrain runs once. Which figures a script drew needs the sandbox's figure capture: without it the
report has no figures and ``loss_plot`` is "not tried" for both.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sentiment_exercise import BONUS_IDS
from test_corpus import grade_file, shared_cache_dir


FOLDER = Path(__file__).resolve().parent / "bonus"


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> dict:
    cache_dir = shared_cache_dir(tmp_path_factory)
    return {path.stem: grade_file(path, cache_dir, warm=True).report
            for path in sorted(FOLDER.glob("*.py"))}


def bonus(report) -> dict:
    return {b.id: b for b in report.bonus}


def test_the_bonus_scripts_are_otherwise_full_marks(graded):
    assert set(graded) == {"all_done", "almost"}
    for name, report in graded.items():
        assert report.passed, (name, [(c.id, c.message) for c in report.checks if not c.passed])
        assert [b["id"] for b in report.to_dict()["bonus"]] == list(BONUS_IDS)
        assert report.score == report.max_score  # bonus points are 0 in the packaged rubric


def test_every_challenge_done(graded):
    found = bonus(graded["all_done"])
    assert found["early_stopping"].done, found["early_stopping"].message
    assert "monitor='val_loss'" in found["early_stopping"].message
    assert found["lr_schedule"].done and "ReduceLROnPlateau" in found["lr_schedule"].message
    assert found["dropout_comparison"].done, found["dropout_comparison"].message
    assert "(0.2, 0.3, 0.5)" in found["dropout_comparison"].message
    if graded["all_done"].figures:  # the sandbox captured the script's figure
        assert found["loss_plot"].done, found["loss_plot"].message
    else:
        assert found["loss_plot"].message.startswith("not tried")


def test_every_challenge_almost_done(graded):
    found = bonus(graded["almost"])
    assert not any(b.done for b in found.values())
    assert "monitors 'loss', a training metric" in found["early_stopping"].message
    assert "defines ExponentialDecay, but neither" in found["lr_schedule"].message
    assert "no accuracy for 0.2, 0.3;" in found["dropout_comparison"].message
    expected = "almost" if graded["almost"].figures else "not tried"
    assert found["loss_plot"].message.startswith(expected), found["loss_plot"].message
    for challenge in ("early_stopping", "lr_schedule", "dropout_comparison"):
        assert found[challenge].message.startswith("almost"), found[challenge].message
