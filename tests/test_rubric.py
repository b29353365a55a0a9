"""The rubric: typed, validated completely at load, one line per problem; no TensorFlow."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import MappingProxyType

import pytest

from sentiment_exercise import CHECK_IDS, CHECKS
from grader.rubric import RubricError, load_rubric, parse_rubric
from sentiment_exercise import RUBRIC_FILE

TEXT = RUBRIC_FILE.read_text(encoding="utf-8")


def rubric_with(old: str, new: str):
    assert old in TEXT, old
    return parse_rubric(TEXT.replace(old, new, 1).encode(), "strict.toml")


def problem(old: str, new: str) -> str:
    with pytest.raises(RubricError) as error:
        rubric_with(old, new)
    message = str(error.value)
    assert "\n" not in message and message.startswith("rubric strict.toml: ")
    return message


def test_the_default_rubric_is_typed_and_reads_like_mappings():
    rubric = load_rubric()
    assert tuple(rubric.points) == CHECK_IDS  # in the registry's order, not the file's
    assert CHECK_IDS[0] == "runs" and CHECK_IDS[-1] == "accuracy"
    assert rubric.max_score == rubric.stated_max_score == 100
    assert rubric.exercise.epochs == rubric.exercise["epochs"] == 50
    assert isinstance(rubric.exercise.epochs, int) and isinstance(rubric.exercise.test_fraction, float)
    assert rubric.limits["timeout_seconds"] == 300.0 and rubric.limits.disk_mb == 256
    assert rubric.limits.max_processes == 128 and rubric.limits.train_memory_mb == 2048
    assert rubric.exercise.min_l2 == 1e-5 and rubric.exercise.min_dropout == 0.05
    assert dict(rubric.data) == {"seed": 20261125, "n_informative": 50, "n_redundant": 10,
                                 "class_sep": 1.0, "flip_y": 0.01}
    assert {**rubric.data, "seed": 7}["seed"] == 7 and rubric.data.get("nothing") is None
    assert rubric.similarity["threshold"] == 0.75 and rubric.hint_level == "fix"
    with pytest.raises(dataclasses.FrozenInstanceError):
        rubric.exercise.epochs = 3
    with pytest.raises(TypeError):
        rubric.points["runs"] = 50


@pytest.mark.parametrize("old, new, expected", [
    ("runs = 5", 'runs = "five"', "points.runs must be a number >= 0. Received: runs='five'"),
    ("runs = 5", "runs = -5", "points.runs must be a number >= 0. Received: runs=-5"),
    ("runs = 5\n", "", "missing key points.runs"),
    ("runs = 5", "runs = 5\nrun = 0", "unknown key points.run (expected one of: runs, data,"),
    ("dropout = 10", "dropout = 55", "the points add up to 145, but max_score = 100"),
    ("max_score = 100", "max_score = 0", "max_score must be a number > 0"),
    ("max_score = 100\n", "", "missing key max_score"),
    ("epochs = 50\n", "", "missing key exercise.epochs"),
    ("epochs = 50", "epochs = 50.5", "exercise.epochs must be an integer >= 1. Received: epochs=50.5"),
    ("epochs = 50", "epochs = true", "exercise.epochs must be an integer >= 1. Received: epochs=True"),
    ("test_fraction = 0.2", "test_fraction = 1.0", "exercise.test_fraction must be a number > 0 "
                                                   "and < 1. Received: test_fraction=1.0"),
    ("accuracy_threshold = 0.70", "accuracy_threshold = 0.9\nthreshold = 0.9",
     "unknown key exercise.threshold"),
    ("seed = 20261125", "seed = -1", "data.seed must be an integer >= 0"),
    ("n_informative = 50", "n_informative = 495", "data.n_informative + data.n_redundant must be "
                                                  "<= exercise.n_features (500)"),
    ("memory_mb = 4096 ", "memory_mb = 0 ", "limits.memory_mb must be an integer >= 1"),
    ("disk_mb = 256", "disk_mb = '256'", "limits.disk_mb must be an integer >= 1"),
    ('hint_level = "fix"', 'hint_level = "all"', "hint_level must be one of 'fix', 'expected', "
                                                 "'none'. Received: hint_level='all'"),
    ("[limits]", "[limit]", "unknown key limit (expected one of: hint_level, max_score, points,"),
    ("floor = 0.3", "floor = 3", "[similarity] floor must be a number from 0.0 to 1.0"),
    ("floor = 0.3", "floor = 0.3\nfuzz = 1", "unknown [similarity] keys ['fuzz']"),
])
def test_each_problem_is_one_line_naming_the_key_and_what_was_expected(old, new, expected):
    assert expected in problem(old, new)


def test_several_problems_name_the_first_and_count_the_rest():
    message = problem("epochs = 50\nbatch_size = 32", "epochs = 0\nbatch_size = 0\nbatch = 1")
    assert message.startswith("rubric strict.toml: unknown key exercise.batch ")
    assert "(and 2 more problems)" in message


def test_points_may_move_between_checks_when_the_total_agrees():
    rubric = parse_rubric(TEXT.replace("dropout = 10", "dropout = 15")
                          .replace("runs = 5", "runs = 0").encode())
    assert rubric.points["dropout"] == 15 and rubric.points["runs"] == 0 and rubric.max_score == 100


def test_strict_rubric_from_the_issue():
    text = TEXT.replace("dropout = 10", "dropout = 15").replace("max_score = 100", "max_score = 105")
    text = text.replace("accuracy_threshold = 0.70", "accuracy_threshold = 0.9")
    rubric = parse_rubric(text.encode(), "strict.toml")
    assert rubric.points["dropout"] == 15 and rubric.max_score == 105
    assert rubric.exercise.accuracy_threshold == 0.9
    assert rubric.sha256 != load_rubric().sha256


def test_similarity_table_is_validated_and_read_only():
    rubric = parse_rubric(TEXT.replace("threshold = 0.75", "threshold = 0.8", 1).encode())
    assert rubric.similarity["threshold"] == 0.8
    assert all(isinstance(path, str) for path in rubric.similarity["boilerplate"])
    assert isinstance(rubric.similarity, MappingProxyType)
    with pytest.raises(TypeError):
        rubric.similarity["threshold"] = 3


def test_unreadable_files_are_rubric_errors(tmp_path):
    with pytest.raises(RubricError, match="cannot read rubric"):
        load_rubric(tmp_path / "missing.toml")
    (tmp_path / "broken.toml").write_text("points = [")
    with pytest.raises(RubricError, match="not valid TOML"):
        load_rubric(tmp_path / "broken.toml")


def test_a_rubric_belongs_to_the_exercise_it_names():
    assert load_rubric().exercise_name == "sentiment" == load_rubric(RUBRIC_FILE).exercise_name
    with pytest.raises(RubricError, match=r"^rubric x.toml: no exercise is called 'nope'; the "
                                          r"installed ones are: .*sentiment"):
        parse_rubric(TEXT.replace('name = "sentiment"', 'name = "nope"').encode(), "x.toml")
    with pytest.raises(RubricError, match="it is the rubric of exercise 'sentiment', not of "
                                          "'other'"):
        parse_rubric(TEXT.encode(), "x.toml", exercise="other")
    unnamed = TEXT.replace('name = "sentiment"', "")
    assert parse_rubric(unnamed.encode(), "x.toml").exercise_name == "sentiment"  # the default


def test_the_points_are_those_of_the_exercise_s_checks():
    # a check the exercise does not have is refused, and one it has may not be left out
    renamed = TEXT.replace("\nloss = 10", "\nthe_loss = 10")
    with pytest.raises(RubricError, match=r"unknown key points.the_loss \(expected one of: runs, "
                                          r"data, .*loss"):
        parse_rubric(renamed.encode())


def test_command_line_limits_are_the_ones_messages_name():
    from grader.options import with_limits
    from grader.core.options import GradeOptions
    from real_reports import report

    rubric = load_rubric()
    assert with_limits(rubric, GradeOptions()) is rubric
    limited = with_limits(rubric, GradeOptions(timeout=40, memory_mb=1024))
    assert limited.limits.timeout_seconds == 40 and limited.limits.memory_mb == 1024
    assert limited.sha256 == rubric.sha256 and limited.limits.output_kb == rubric.limits.output_kb
    timed_out = report("slow.py", timeout=True, rubric=limited)
    assert timed_out.reason == "timed out (40 s)"
    assert "still running after 40 s" in timed_out.checks[0].message
