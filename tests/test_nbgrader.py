"""nbgrader, end to end: generate_assignment, submit, autograde, export, generate_feedback.

The whole course runs once, in one test (so that ``pytest -n 2`` does not run it twice), in a
temporary copy of ``nbgrader/``. Every submitted notebook is also graded through the library, as
``python -m grader notebook.ipynb`` would grade it (through the test process's warm lane: the
fork server and retrain worker of ``tests/test_corpus.py``, whose verdicts ``tests/test_batch.py``
proves equal to a cold grading's); the gradebook must hold the same points per check. The retrain
cache is the session's one (``tests/conftest.py``), so nbgrader's run reuses the retrains of the
library's run and no model is trained twice.
"""

from __future__ import annotations

import csv
import html
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbgrader")

from grader import make_notebook  # noqa: E402
from grader.integrations import nbgrader_autograde as autograde  # noqa: E402
from grader.exercise import get as get_exercise  # noqa: E402
from grader.rubric import load_rubric  # noqa: E402
from sentiment_exercise import CHECK_IDS, NOTEBOOK as NOTEBOOK_FILE, SOLUTION, TEMPLATE  # noqa: E402
from grader.sources import describe_line, notebook_to_script  # noqa: E402
from test_corpus import grade_file, shared_cache_dir  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
COURSE = ROOT / "nbgrader"
ASSIGNMENT, NOTEBOOK = "sentiment", "sentiment_classifier"
TIMEOUT = 120.0
SENTINEL_NAME = "student-code-ran-in-a-kernel"


@pytest.fixture(scope="module")
def cache_dir() -> Path:
    return shared_cache_dir()


def library_grade(path: Path, cache_dir: Path):
    """``path``'s report, graded in this process's warm lane as the CLI grades it."""
    return grade_file(path, cache_dir, timeout=TIMEOUT, warm=True).report


# --- the submissions -------------------------------------------------------------------------

def solution_code(exercise: str | None = None) -> dict[str, str]:
    """Each solution cell's code (grade_id -> source) from the source notebook of ``exercise``
    (default: the default exercise)."""
    notebook = make_notebook.build_notebook(exercise=get_exercise(exercise))
    codes = {}
    for cell in notebook["cells"]:
        meta = cell["metadata"].get("nbgrader", {})
        if meta.get("solution"):
            source = "".join(cell["source"])
            codes[meta["grade_id"]] = re.search(r"### BEGIN SOLUTION\n(.*)\n### END SOLUTION",
                                                source, re.S).group(1)
    return codes


def filled(release, codes: dict[str, str], extra_cells: dict[str, str] = (),
           edits: dict[str, str] = ()):
    """The released notebook as a student hands it in: stubs replaced, cells added or edited."""
    notebook = nbformat.from_dict(json.loads(json.dumps(release)))
    cells = []
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in codes:
            cell.source = cell.source.replace("# YOUR CODE HERE", codes[grade_id])
        if grade_id in dict(edits):
            cell.source = dict(edits)[grade_id]  # a student edits a read-only cell
        cells.append(cell)
        if grade_id in dict(extra_cells):
            cells.append(nbformat.v4.new_code_cell(dict(extra_cells)[grade_id]))
    notebook.cells = cells
    return notebook


def submissions(release, sentinel: Path) -> dict[str, tuple[object, set[str] | None]]:
    """student -> (notebook, the checks it must fail; None: whatever the CLI says)."""
    ok = solution_code()
    softmax = {**ok,
               "step3": ok["step3"].replace('Dense(1, activation="sigmoid")',
                                            'Dense(2, activation="softmax")'),
               "step4": ok["step4"].replace('"binary_crossentropy"',
                                            '"sparse_categorical_crossentropy"')}
    no_dropout = {**ok, "step3": "\n".join(line for line in ok["step3"].splitlines()
                                           if "Dropout(" not in line)}
    two_hidden = {**ok, "step3": "\n".join(line for line in ok["step3"].splitlines()
                                           if "Dense(128" not in line and "Dropout(0.3)" not in line)}
    assert softmax["step3"] != ok["step3"] and softmax["step4"] != ok["step4"]
    cheats = f'''\
import os, sys
import keras
keras.Model.evaluate = lambda self, *args, **kwargs: [0.0, 1.0]   # "perfect" accuracy
accuracy = 1.0
test_accuracy = 1.0
def check(check_id):                                               # every check "passes"
    print(f"✓ {{check_id}} passed (10/10)")
sys.excepthook = lambda *args: None                                # hide tracebacks
try:
    import grader.checks
    grader.checks.run_checks = lambda *args, **kwargs: []
except Exception:
    pass
if os.environ.get("NBGRADER_EXECUTION"):                           # only in nbgrader's kernel
    open({str(sentinel)!r}, "w").write("ran")
'''
    slow_and_noisy = '''\
import sys, time, warnings
warnings.warn("a DeprecationWarning-like message on stderr")
print("progress...", file=sys.stderr)
time.sleep(3)   # longer than the course's Execute.timeout in this test (2 s)
'''
    return {
        "solution": (filled(release, ok), set()),
        "untouched": (filled(release, {}), None),
        "softmax": (filled(release, softmax), {"output_layer", "loss"}),
        # no Dropout, and every trick in the book: it must earn no more than its architecture
        "no_dropout": (filled(release, no_dropout, extra_cells={"step6": cheats, "setup": cheats},
                              edits={"accuracy": "print('accuracy: passed')",
                                     "setup": "def check(check_id):\n    print('passed')"}),
                       None),
        # stderr output and a cell slower than nbgrader's cell timeout cost nothing
        "two_hidden": (filled(release, two_hidden, extra_cells={"step5": slow_and_noisy}),
                       {"hidden_layers"}),
    }


# --- running nbgrader ------------------------------------------------------------------------

def nbgrader(course: Path, *args: str, cache_dir: Path) -> subprocess.CompletedProcess:
    # nbgrader runs `alembic` from PATH: the venv's scripts, even when it is not activated
    env = {**os.environ, "GRADER_CACHE_DIR": str(cache_dir),
           "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")}
    result = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{result.stderr[-4000:]}"
    return result


def gradebook_points(course: Path, student: str, exercise: str | None = None) -> dict[str, float]:
    """The gradebook's points per check of ``student``'s notebook of ``exercise`` (default: the
    default one; its assignment is named like it)."""
    from nbgrader.api import Gradebook

    graded = get_exercise(exercise)
    notebook = graded.template.stem  # make_notebook.notebook_name without its suffix
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        return {check_id: float(gradebook.find_grade(check_id, notebook, graded.name,
                                                     student).score)
                for check_id in graded.registry.check_ids}


def describe(report) -> str:
    return "\n".join(f"  [{'PASS' if c.passed else 'FAIL'}] {c.id}: {c.message}"
                     for c in report.checks)


# --- the tests -------------------------------------------------------------------------------

def test_committed_notebook_is_generated_from_template_and_solution():
    committed = NOTEBOOK_FILE.read_text(encoding="utf-8")
    assert committed == make_notebook.render(make_notebook.build_notebook()), (
        "nbgrader/source/sentiment/sentiment_classifier.ipynb is stale: "
        "run `python -m grader.make_notebook`")
    assert make_notebook.main(["--check"]) == 0


def test_source_notebook_has_one_graded_cell_per_check_with_the_rubrics_points():
    rubric = load_rubric()
    notebook = make_notebook.build_notebook()
    graded = {}
    for cell in notebook["cells"]:
        meta = cell["metadata"].get("nbgrader", {})
        if meta.get("grade"):
            assert "".join(cell["source"]) == f'check("{meta["grade_id"]}")'
            graded[meta["grade_id"]] = meta["points"]
    assert graded == dict(rubric.points)
    text = json.dumps(notebook)
    assert "HIDDEN TESTS" not in text  # the test cells only name a check: nothing to leak


def test_source_notebook_says_what_template_and_solution_say():
    template = TEMPLATE.read_text(encoding="utf-8")
    solution = SOLUTION.read_text(encoding="utf-8")
    notebook = make_notebook.build_notebook()
    code = "\n".join("".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code")
    for line in template.splitlines():  # every TODO of the template is in the notebook
        if line.lstrip().startswith("# TODO"):
            assert line in code
    body = solution[solution.index('"""', 3) + 3:]  # every line of the solution's code, in order
    solution_lines = [line for line in body.splitlines() if line.strip()]
    notebook_lines = [line for line in code.splitlines() if line in solution_lines]
    assert notebook_lines == solution_lines


def test_notebook_errors_name_the_cell_and_magics_never_run(tmp_path, cache_dir):
    marker = tmp_path / "pip-ran"
    cells = [nbformat.v4.new_markdown_cell("# notes"),
             nbformat.v4.new_code_cell(f"x = 1\n!pip install nothing-at-all && touch {marker}"),
             nbformat.v4.new_code_cell(f"%%bash\ntouch {marker}"),
             nbformat.v4.new_code_cell("y = 2\nraise ValueError('boom')")]
    path = tmp_path / "crash.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=cells), str(path))
    script = tmp_path / "crash.py"
    script.write_text("x = 1\ny = 2\nraise ValueError('boom')\n")
    notebook_report, script_report = library_grade(path, cache_dir), library_grade(script, cache_dir)
    runs = {c.id: c for c in notebook_report.checks}["runs"]
    assert not runs.passed and "at line 2 of the cell under “notes”" in runs.message, runs.message
    assert "at line 3" in {c.id: c for c in script_report.checks}["runs"].message
    assert [(c.id, c.passed) for c in notebook_report.checks] == \
        [(c.id, c.passed) for c in script_report.checks]
    assert not marker.exists()
    source = notebook_to_script(path.read_text())
    assert describe_line(source, source.split("\n").index("y = 2") + 1) == \
        "line 1 of the cell under “notes”"


def test_nbgrader_course_end_to_end(tmp_path, cache_dir):
    course = tmp_path / "course"
    shutil.copytree(COURSE, course, ignore=shutil.ignore_patterns(*(
        (COURSE / ".gitignore").read_text().split())))
    # nbgrader's own per-cell timeout is short here: were the kernel used, the slow notebook fails
    with open(course / "nbgrader_config.py", "a") as config:
        config.write("\nc.Execute.timeout = 2\n")
    nbgrader(course, "generate_assignment", ASSIGNMENT, cache_dir=cache_dir)
    release_path = course / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    release_text = release_path.read_text()
    assert "BEGIN SOLUTION" not in release_text and "make_classification(n_samples" not in release_text
    release = nbformat.reads(release_text, as_version=4)

    sentinel = tmp_path / SENTINEL_NAME
    students = submissions(release, sentinel)
    for student, (notebook, _) in students.items():
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(notebook, str(folder / f"{NOTEBOOK}.ipynb"))

    # the CLI's verdicts for the same files (in-process, in the warm lane)
    rubric = load_rubric()
    cli = {student: library_grade(course / "submitted" / student / ASSIGNMENT / f"{NOTEBOOK}.ipynb",
                                  cache_dir)
           for student in students}

    nbgrader(course, "autograde", ASSIGNMENT, cache_dir=cache_dir)
    nbgrader(course, "export", cache_dir=cache_dir)
    nbgrader(course, "generate_feedback", ASSIGNMENT, cache_dir=cache_dir)

    # the gradebook holds the CLI's points, check by check, and grades.csv its totals
    with open(course / "grades.csv", newline="") as handle:
        exported = {row["student_id"]: row for row in csv.DictReader(handle)}
    assert set(exported) == set(students)
    for student, (_, must_fail) in students.items():
        report = cli[student]
        expected = {c.id: c.score for c in report.checks}
        assert gradebook_points(course, student) == expected, f"{student}\n{describe(report)}"
        assert float(exported[student]["score"]) == pytest.approx(report.score)
        assert float(exported[student]["max_score"]) == pytest.approx(rubric.max_score)
        if must_fail is not None:
            assert {c.id for c in report.checks if not c.passed} == must_fail, \
                f"{student}\n{describe(report)}"

    assert cli["solution"].score == rubric.max_score
    assert cli["untouched"].not_started
    # cheating gains nothing: no more than the architecture earns (all but `dropout`), and the
    # accuracy is the grader's own
    cheater = {c.id: c for c in cli["no_dropout"].checks}
    assert not cheater["dropout"].passed
    assert cli["no_dropout"].score <= rubric.max_score - rubric.points["dropout"]
    accuracy = cli["no_dropout"].metrics["test_accuracy"]
    assert accuracy is None or accuracy < 0.99
    if cli["no_dropout"].tampered:  # its cheats replaced Keras' methods: only `runs` counts
        assert cli["no_dropout"].score <= rubric.points["runs"]
    assert not sentinel.exists(), "a student's code ran in nbgrader's kernel"

    # autograded notebooks: verdicts are ours; a passed check's cell has no stderr output
    for student in students:
        graded = nbformat.read(str(course / "autograded" / student / ASSIGNMENT / f"{NOTEBOOK}.ipynb"),
                               as_version=4)
        for cell in graded.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade"):
                assert cell.source == f'check("{meta["grade_id"]}")'  # edits were undone
                kinds = {(o.output_type, o.get("name")) for o in cell.outputs}
                assert kinds in ({("stream", "stdout")}, {("error", None)}), kinds
            elif cell.cell_type == "code":
                assert not cell.get("outputs"), "student code has no outputs: it never ran here"

    # feedback: failed checks and their messages, no hidden tests, no grader internals
    for student in ("no_dropout", "softmax", "untouched", "solution"):
        page = html.unescape((course / "feedback" / student / ASSIGNMENT /
                              f"{NOTEBOOK}.html").read_text())
        for check in cli[student].checks:
            if not check.passed:
                assert f"✗ {check.id}: {check.message}" in page, (student, check.id)
            else:
                assert f"✓ {check.id}" in page
        for secret in ("HIDDEN TESTS", "BEGIN SOLUTION", "def check_dropout", "CheckResult"):
            assert secret not in page, (student, secret)
    assert "You have not started yet" in html.unescape(
        (course / "feedback" / "untouched" / ASSIGNMENT / f"{NOTEBOOK}.html").read_text())
    # the HTML report: written beside the autograded notebook, copied into the feedback folder,
    # and named in the first graded cell
    report_name = autograde.report_name(NOTEBOOK)
    for student in ("no_dropout", "solution"):
        report_page = (course / "feedback" / student / ASSIGNMENT / report_name).read_text()
        assert f"{cli[student].score:g} / {cli[student].max_score:g}" in report_page
        assert report_name in html.unescape(
            (course / "feedback" / student / ASSIGNMENT / f"{NOTEBOOK}.html").read_text())


def test_notebook_grades_exactly_like_the_equivalent_script(tmp_path, cache_dir):
    """The solution notebook (cells in order) and solution/sentiment_classifier.py: same verdicts."""
    notebook = nbformat.from_dict(make_notebook.build_notebook())
    path = tmp_path / "solution.ipynb"
    nbformat.write(notebook, str(path))
    rubric = load_rubric()
    as_notebook, as_script = library_grade(path, cache_dir), library_grade(SOLUTION, cache_dir)
    assert [(c.id, c.passed, c.score) for c in as_notebook.checks] == \
        [(c.id, c.passed, c.score) for c in as_script.checks]
    assert as_notebook.score == as_script.score == rubric.max_score
    assert as_notebook.metrics["test_accuracy"] == as_script.metrics["test_accuracy"]
    for mine, theirs in zip(as_notebook.checks, as_script.checks):
        if mine.id not in ("runs", "prints_accuracy"):  # these name a time / the script's own number
            assert mine.message == theirs.message


def test_one_rubric_everywhere_refusal_regeneration_helpers_and_headline(tmp_path, cache_dir):
    """An instructor's strict rubric (dropout 15 points, max 105) in a course copied as the README
    says: autograde refuses while the gradebook has the old points (no student code runs), then
    `make_notebook --rubric --course` and `generate_assignment --force` make them agree; a
    student's helper module reaches the sandbox; feedback starts with the score and its reason."""
    course = tmp_path / "course"
    shutil.copytree(COURSE, course, ignore=shutil.ignore_patterns(*(
        (COURSE / ".gitignore").read_text().split())))
    text = (ROOT / "exercises" / "sentiment" / "rubric.toml").read_text()
    strict = text.replace("dropout = 10", "dropout = 15").replace("max_score = 100", "max_score = 105")
    (course / "strict.toml").write_text(strict)
    with open(course / "nbgrader_config.py", "a") as config:
        config.write('\nc.GradeInSandbox.rubric_path = "strict.toml"\n')
    nbgrader(course, "generate_assignment", ASSIGNMENT, cache_dir=cache_dir)  # the default points
    release = nbformat.read(str(course / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"), as_version=4)
    ok = solution_code()
    assert "Dense(256," in ok["step3"]
    helper = {**ok, "step3": "from widths import WIDTHS\n" + ok["step3"].replace("Dense(256,",
                                                                                 "Dense(WIDTHS[0],")}
    crash = {**ok, "step5": ok["step5"] + "\nundefined_name"}
    for student, codes in {"helper": helper, "crash": crash}.items():
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(filled(release, codes), str(folder / f"{NOTEBOOK}.ipynb"))
    (course / "submitted" / "helper" / ASSIGNMENT / "widths.py").write_text("WIDTHS = (256,)\n")

    env = {**os.environ, "GRADER_CACHE_DIR": str(cache_dir)}
    refused = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT],
                             cwd=course, env=env, capture_output=True, text=True, timeout=900)
    assert refused.returncode != 0
    assert "dropout: 10 in the gradebook, 15 in the rubric" in refused.stderr, refused.stderr[-3000:]
    assert "python -m grader.make_notebook --rubric strict.toml --course ." in refused.stderr
    assert "Graded " not in refused.stderr
    assert not (course / "autograded" / "helper" / ASSIGNMENT).exists(), "nothing half-graded is left"

    made = subprocess.run([sys.executable, "-m", "grader.make_notebook", "--rubric", "strict.toml"],
                          cwd=course, env=env, capture_output=True, text=True, timeout=120)
    assert made.returncode == 0 and str(course / "source") in made.stdout, made.stderr
    assert (ROOT / "nbgrader" / "source" / ASSIGNMENT / f"{NOTEBOOK}.ipynb").read_text() == \
        make_notebook.render(make_notebook.build_notebook()), "the repository's copy is untouched"
    nbgrader(course, "generate_assignment", ASSIGNMENT, "--force", cache_dir=cache_dir)
    nbgrader(course, "autograde", ASSIGNMENT, cache_dir=cache_dir)
    nbgrader(course, "export", cache_dir=cache_dir)
    nbgrader(course, "generate_feedback", ASSIGNMENT, cache_dir=cache_dir)

    with open(course / "grades.csv", newline="") as handle:
        exported = {row["student_id"]: row for row in csv.DictReader(handle)}
    # full marks: the helper module was importable in the sandbox
    assert float(exported["helper"]["score"]) == 105 == float(exported["helper"]["max_score"])
    assert gradebook_points(course, "helper")["dropout"] == 15
    assert float(exported["crash"]["score"]) == 105 - 5 - 5  # runs and prints_accuracy
    page = html.unescape((course / "feedback" / "crash" / ASSIGNMENT / f"{NOTEBOOK}.html").read_text())
    first = page.index("Grader: 95/105. Main reason: crashed at “Step 5: Train”, line ")
    assert first < page.index("✓ data: make_classification"), "the reason comes first"
    helper_page = html.unescape(
        (course / "feedback" / "helper" / ASSIGNMENT / f"{NOTEBOOK}.html").read_text())
    assert "Grader: 105/105, every check passed." in helper_page
