"""Every path serves the second exercise (#25): the multiclass solution earns 100 and its template 0
(not started) through nbgrader, batch, the Gradescope package, similarity, the HTML report,
``--trials`` and a notebook given to the CLI, each asserting the multiclass exercise's own check
ids, numbers and words.

The library's verdicts come from ``tests/test_multiclass.py``'s ``graded`` (one warm lane per
test process); the paths run as an instructor runs them (``python -m grader ...``, ``nbgrader``,
``run_autograder``), with the session's retrain cache (``tests/test_corpus.py``).
"""

from __future__ import annotations

import csv
import html
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader.integrations import gradescope_autograder as autograder
from grader import make_notebook, similarity
from grader.exercise import get
from grader.rubric import load_rubric
from test_corpus import shared_cache_dir
from test_gradescope import results_problems, run_autograder, unpack
from test_multiclass import EXERCISE, FILES_DIR, expected_failures, graded
from test_similarity import _pair

ROOT = Path(__file__).resolve().parents[1]
NAME = EXERCISE.name
RUBRIC = load_rubric(exercise=NAME)
CHECK_IDS = EXERCISE.registry.check_ids
SOLUTION = EXERCISE.path(EXERCISE.solution)
TEMPLATE = EXERCISE.path(EXERCISE.template)
STUDENTS = (FILES_DIR / "no_dropout.py", FILES_DIR / "sigmoid_ten_units.py")
NOTEBOOK_FILE = FILES_DIR / "notebook_cells.ipynb"
TIMEOUT = 300


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    return shared_cache_dir(tmp_path_factory)


def cli(*args: str, cache_dir: Path | None = None) -> subprocess.CompletedProcess:
    """``python -m grader ARGS --exercise multiclass`` as a student or instructor runs it."""
    command = [sys.executable, "-m", "grader", *args, "--exercise", NAME]
    if cache_dir is not None:
        command += ["--cache-dir", str(cache_dir)]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=1200)


def failed(points: dict[str, float]) -> set[str]:
    """The checks given less than the rubric's points."""
    return {c for c, score in points.items() if score < RUBRIC.points[c]}


def total_without(failures: set[str]) -> float:
    return RUBRIC.max_score - sum(RUBRIC.points[c] for c in failures)


def test_the_exercise_has_a_ten_unit_output_and_its_own_template_and_heading():
    """What the paths below assert against: not the sentiment exercise's numbers."""
    sentiment = get("sentiment")
    assert RUBRIC.exercise.n_classes == 10 and RUBRIC.exercise_name == NAME
    assert EXERCISE.template != sentiment.template and EXERCISE.heading != sentiment.heading
    assert make_notebook.notebook_name(EXERCISE) == f"{EXERCISE.stem}.ipynb"


# --- (1) nbgrader: the course holds both assignments ---------------------------------------------

@pytest.mark.slow
def test_nbgrader_course_holds_both_assignments_and_grades_multiclass(tmp_path, cache_dir):
    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("nbgrader")
    from test_nbgrader import COURSE, filled, gradebook_points, nbgrader, solution_code

    course = tmp_path / "course"
    shutil.copytree(COURSE, course, ignore=shutil.ignore_patterns(*(
        (COURSE / ".gitignore").read_text().split())))
    for exercise in ("sentiment", NAME):  # one course, both assignments
        nbgrader(course, "generate_assignment", exercise, cache_dir=cache_dir)
    notebook = make_notebook.notebook_name(EXERCISE)
    release_text = (course / "release" / NAME / notebook).read_text()
    assert "BEGIN SOLUTION" not in release_text and "# YOUR CODE HERE" in release_text
    assert (course / "release" / "sentiment" / make_notebook.notebook_name(get("sentiment"))).is_file()
    release = nbformat.reads(release_text, as_version=4)
    codes = solution_code(NAME)
    assert set(codes) == {f"step{n}" for n in EXERCISE.steps}
    for student, submitted in {"solution": filled(release, codes),
                               "untouched": filled(release, {})}.items():
        folder = course / "submitted" / student / NAME
        folder.mkdir(parents=True)
        nbformat.write(submitted, str(folder / notebook))

    nbgrader(course, "autograde", NAME, cache_dir=cache_dir)
    nbgrader(course, "generate_feedback", NAME, cache_dir=cache_dir)

    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        assert {a.name for a in gradebook.assignments} == {"sentiment", NAME}
        scores = {s: gradebook.find_submission(NAME, s).score for s in ("solution", "untouched")}
    assert scores == {"solution": 100, "untouched": 0}
    assert gradebook_points(course, "solution", NAME) == dict(RUBRIC.points)
    assert set(gradebook_points(course, "untouched", NAME).values()) == {0.0}

    stem = EXERCISE.stem
    solution_page = html.unescape((course / "feedback" / "solution" / NAME / f"{stem}.html").read_text())
    assert "Grader: 100/100, every check passed." in solution_page
    for check_id in CHECK_IDS:
        assert f"✓ {check_id}: " in solution_page, check_id
    assert "n_features=784, n_classes=10" in solution_page
    untouched_page = html.unescape(
        (course / "feedback" / "untouched" / NAME / f"{stem}.html").read_text())
    assert "Grader: 0/100. Main reason: not started." in untouched_page
    assert "You have not started yet" in untouched_page
    report_page = html.unescape(
        (course / "feedback" / "solution" / NAME / f"{stem}_grader_report.html").read_text())
    assert f"<h1>{EXERCISE.heading}: your grader report</h1>" in report_page
    assert "Dense · 10 · softmax" in report_page


# --- (2) batch, and (4) similarity on its results ------------------------------------------------

@pytest.fixture(scope="module")
def batch_out(tmp_path_factory, cache_dir) -> Path:
    folder = tmp_path_factory.mktemp("multiclass-class")
    shutil.copy(SOLUTION, folder / "solution.py")
    shutil.copy(TEMPLATE, folder / "template.py")
    for path in STUDENTS:
        shutil.copy(path, folder / path.name)
    out = tmp_path_factory.mktemp("multiclass-batch")
    result = cli("batch", str(folder), "--out", str(out), "--workers", "2", "--timeout",
                 str(TIMEOUT), cache_dir=cache_dir)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    return out


@pytest.mark.slow
def test_batch_grades_csv_has_the_multiclass_checks_and_the_right_scores(batch_out, cache_dir):
    with open(batch_out / "grades.csv", newline="") as handle:
        reader = csv.DictReader(handle)
        columns, rows = reader.fieldnames, {row["student"]: row for row in reader}
    assert columns == ["student", "submission", "score", "max_score", "passed", *CHECK_IDS,
                       "test_accuracy", "note"]
    assert set(rows) == {"solution", "template", *(p.stem for p in STUDENTS)}

    def points(row):
        return {c: float(row[c]) for c in CHECK_IDS}

    assert float(rows["solution"]["score"]) == 100 == float(rows["solution"]["max_score"])
    assert failed(points(rows["solution"])) == set()
    assert float(rows["template"]["score"]) == 0 and rows["template"]["note"] == "not started"
    for path in STUDENTS:
        row, expected = rows[path.stem], expected_failures(path)
        assert expected and failed(points(row)) == expected, (path.name, row)
        assert float(row["score"]) == total_without(expected)
        report = graded(path, cache_dir)  # the library's verdict, check by check
        assert points(row) == {c.id: c.score for c in report.checks}
    feedback = (batch_out / "reports" / "sigmoid_ten_units.txt").read_text()
    assert feedback.startswith(f"{EXERCISE.heading} grader ")
    assert "Dense(10)" in feedback


@pytest.mark.slow
def test_similarity_takes_the_multiclass_template_as_boilerplate(batch_out):
    boilerplate = RUBRIC.similarity["boilerplate"]
    assert boilerplate == (str(TEMPLATE.resolve()),)
    codes, missing = similarity.read_boilerplate(boilerplate)
    assert missing == []
    template = TEMPLATE.read_text(encoding="utf-8")
    # two untouched templates: all alike without the boilerplate, nothing alike with it (the
    # sentiment template's code is the same few imports, so it cannot tell the two apart)
    assert _pair(template, template).code_score == 1.0
    assert _pair(template, template, codes).code_score == 0.0

    result = cli("similarity", str(batch_out))
    assert result.returncode == 0, result.stderr
    assert "Similarity: 4 submissions" in result.stdout
    assert "not read" not in result.stdout  # the rubric's boilerplate file was found
    with open(batch_out / "similarity.csv", newline="") as handle:
        pairs = list(csv.DictReader(handle))
    assert not [p for p in pairs if "template" in (p["a"], p["b"]) and float(p["code_score"]) > 0]


# --- (3) the Gradescope package ------------------------------------------------------------------

@pytest.fixture(scope="module")
def package(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("multiclass-package") / "autograder.zip"
    assert autograder.main([str(out), "--exercise", NAME]) == 0
    return out


def test_the_gradescope_package_carries_the_exercise(package):
    with zipfile.ZipFile(package) as archive:
        settings = json.loads(archive.read("settings.json"))
        assert settings["exercise"] == NAME
        assert archive.read("rubric.toml") == RUBRIC.source
        readme = archive.read("README.md").decode()
        names = set(archive.namelist())
    assert f"`{EXERCISE.stem}.py`" in readme and EXERCISE.title in readme
    # the memory figures were measured on the default exercise, and the README says so
    assert f"this package's exercise ({NAME}) was not measured" in readme
    assert f"sentiment-grader/{EXERCISE.package.as_posix()}/checks.py" in names


@pytest.mark.slow
@pytest.mark.parametrize("submission", [SOLUTION, TEMPLATE], ids=["solution", "template"])
def test_run_autograder_grades_the_multiclass_checks(package, tmp_path, submission):
    root = unpack(package, tmp_path / "autograder", submission)
    result, data, _ = run_autograder(root)
    assert result.returncode == 0, result.stderr[-3000:]
    assert results_problems(data) == []
    tests = data["tests"][:len(CHECK_IDS)]
    assert [t["name"] for t in tests] == list(CHECK_IDS)
    assert [t["max_score"] for t in tests] == [RUBRIC.points[c] for c in CHECK_IDS]
    if submission == SOLUTION:
        assert data["score"] == 100 and {t["status"] for t in tests} == {"passed"}, data["output"]
        assert "optimizer_comparison" in " ".join(t["name"] for t in data["tests"])
    else:
        assert data["score"] == 0 and {t["status"] for t in tests} == {"failed"}, data["output"]
        assert "Not started: this is still the starter template." in data["output"]


# --- (5) the HTML report, (6) --trials, (7) a notebook through the CLI ---------------------------

@pytest.mark.slow
def test_html_report_shows_a_ten_unit_output_the_curves_and_the_heading(tmp_path, cache_dir):
    page_path = tmp_path / "report.html"
    result = cli("--html", str(page_path), str(SOLUTION), cache_dir=cache_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    page = html.unescape(page_path.read_text())
    heading = EXERCISE.heading
    assert re.search(rf"<title>{re.escape(heading)}: grader report, 100/100</title>", page), \
        re.findall("<title>.*?</title>", page)
    assert f"<h1>{heading}: your grader report</h1>" in page
    architecture = page[page.index("<h2>Your architecture</h2>"):]
    layers = re.findall(r'<div class="layer (\w+)"[^>]*>([^<]*)</div>', architecture)
    assert layers[-1] == ("dense", "Dense · 10 · softmax"), layers
    assert [text.split(" · ")[1] for kind, text in layers if kind == "dense"] == ["128", "64", "10"]
    curves = page[page.index("<h2>Learning curves</h2>"):page.index("<h2>Your architecture</h2>")]
    assert curves.count("<svg") == 2  # loss and accuracy, training and validation
    assert f"({RUBRIC.exercise.epochs} epochs on its own data" in curves

    template_page = tmp_path / "template.html"
    result = cli("--html", str(template_page), str(TEMPLATE), cache_dir=cache_dir)
    text = html.unescape(template_page.read_text())
    assert "0 / 100" in text and "Not started:</b> this is still the starter template" in text


@pytest.mark.slow
def test_two_trials_judge_the_accuracy_on_their_median(cache_dir):
    result = cli("--trials", "2", "--format", "json", str(SOLUTION), cache_dir=cache_dir)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert report["score"] == 100 and report["info"]["exercise"] == NAME
    trials = report["metrics"]["trial_accuracies"]
    assert len(trials) == 2 and all(t > RUBRIC.exercise.accuracy_threshold for t in trials)
    accuracy = {c["id"]: c for c in report["checks"]}["accuracy"]
    assert "in the grader's 2 runs on different data seeds" in accuracy["message"]


@pytest.mark.slow
def test_a_notebook_through_the_cli_is_graded_as_the_library_grades_it(cache_dir):
    result = cli("--format", "json", str(NOTEBOOK_FILE), cache_dir=cache_dir)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert report["info"]["exercise"] == NAME
    assert [c["id"] for c in report["checks"]] == list(CHECK_IDS)
    fails = {c["id"] for c in report["checks"] if not c["passed"]}
    assert fails == expected_failures(NOTEBOOK_FILE)
    assert report["score"] == total_without(fails)
    assert report["checks"][0]["message"].startswith("your notebook ran")
    library = graded(NOTEBOOK_FILE, cache_dir)
    assert [(c["id"], c["passed"], c["score"]) for c in report["checks"]] == \
        [(c.id, c.passed, c.score) for c in library.checks]
