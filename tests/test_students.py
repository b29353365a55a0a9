"""Feedback a student can trust: submissions written the way students write them, graded for real.

``tests/students/`` holds notebooks and scripts as students hand them in (tuples and starred or
multi-line expressions at the end of cells, ``display()``, ``model.summary()``, magics, plots saved
and shown, typos at each step, a softmax output with binary cross-entropy, a plotly import).
Each declares its failed checks in its header, as ``tests/corpus/`` files do (a notebook in its
first code cell), and is graded once per session by the corpus' machinery (the session's warm
fork server and retrain cache); the tests below then read what the student would read.
"""

from __future__ import annotations

import base64
import re
import sys
from pathlib import Path

import pytest

from sentiment_exercise import CHECK_IDS
from grader.observation import PNG_MAGIC
from grader.reporters import terminal
from test_corpus import assert_verdicts, grade_case, parse_case, shared_cache_dir

# One xdist worker runs this module (`-n 2 --dist loadfile`): each file is graded once, by that
# worker's warm lane, however many tests read its report.

STUDENTS = Path(__file__).resolve().parent / "students"
FILES = sorted(STUDENTS.glob("*.py")) + sorted(STUDENTS.glob("*.ipynb"))
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    return shared_cache_dir(tmp_path_factory)


def graded(name: str, cache_dir: Path):
    """The report of ``tests/students/<name>`` (graded once per session)."""
    return grade_case(parse_case(STUDENTS / name), cache_dir, warm=True).report


def checks(report) -> dict:
    return {check.id: check for check in report.checks}


def read(report) -> str:
    """The terminal report as a student reads it (wrapped lines joined)."""
    return " ".join(terminal.render(report).split())


def test_there_are_enough_student_files_of_both_kinds():
    assert len(FILES) >= 15
    assert sum(p.suffix == ".ipynb" for p in FILES) >= 6
    assert sum(p.suffix == ".py" for p in FILES) >= 6


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_student_file(path: Path, cache_dir: Path):
    """The header's verdicts, and the rules every report keeps."""
    case = parse_case(path)
    report = grade_case(case, cache_dir, warm=True).report
    assert_verdicts(case, report)
    by_id = checks(report)
    text = terminal.render(report)
    assert "Traceback" not in text and "ValueError: ValueError" not in text
    first = [line for line in text.splitlines() if line.startswith(("✓", "✗"))][0]
    assert first.startswith(("✓ runs", "✗ runs"))  # a crash is the first thing said
    for check in report.checks:
        if check.message.startswith("not reached:"):
            assert not by_id["runs"].passed and check.hint == "", check
    for line in text.splitlines():  # every failed line says something (no bare "0/10")
        if line.startswith("✗"):
            assert not re.match(r"✗ \w+ +\(?\d", line), line
    if path.suffix == ".ipynb":
        assert "your script" not in text and not re.search(r"\bcell \d+, line", text)


def test_a_notebook_displays_tuples_and_summaries_and_its_inline_plot_is_captured(cache_dir):
    report = graded("nb_display_tuple_summary_plot.ipynb", cache_dir)
    assert report.passed and report.score == 100
    [figure] = report.figures
    assert figure["plotted"] == ["loss", "val_loss"] and figure["title"] == "Loss vs Epoch"
    assert base64.b64decode(figure["png_base64"]).startswith(PNG_MAGIC)
    assert set(report.to_dict()["figures"][0]) == {"title", "png_base64", "plotted"}


def test_a_saved_and_shown_figure_is_captured_once_with_what_it_plots(cache_dir):
    report = graded("py_plot_savefig_and_show.py", cache_dir)
    [figure] = report.figures
    assert figure["title"] == "Training vs validation loss"
    assert figure["plotted"] == ["loss", "val_loss"]
    png = base64.b64decode(figure["png_base64"])
    assert png.startswith(PNG_MAGIC) and len(png) <= 400 * 1024
    assert "Figures: 1 captured from your script: “Training vs validation loss” (plots loss, " \
           "val_loss)" in read(report)


def test_subplots_report_every_history_series_they_plot(cache_dir):
    [figure] = graded("py_subplots_oo.py", cache_dir).figures
    assert figure["plotted"] == ["loss", "val_loss", "accuracy", "val_accuracy"]
    assert figure["title"] == "Loss; Accuracy"


def test_the_plain_environment_grades_a_plotting_script_fully(cache_dir):
    """matplotlib, IPython and nbformat are base dependencies: `pip install -e .` has them."""
    tomllib = pytest.importorskip("tomllib") if sys.version_info >= (3, 11) else \
        pytest.importorskip("tomli")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    base = {re.split(r"[<>=;\[ ]", d)[0].lower() for d in project["dependencies"]}
    assert {"matplotlib", "ipython", "nbformat"} <= base
    report = graded("py_plot_savefig_and_show.py", cache_dir)
    assert report.passed and report.score == 100 and report.figures


def test_a_typo_in_the_second_layer_is_the_crash_and_nothing_false_about_the_model(cache_dir):
    report = graded("nb_typo_second_layer.ipynb", cache_dir)
    by_id = checks(report)
    place = "line 3 of the cell under “Step 3: Build the model”"
    assert by_id["runs"].message.startswith(f"your notebook stopped at {place}")
    assert "activaton" in by_id["runs"].message
    for check_id in ("hidden_layers", "l2", "dropout", "output_layer", "loss", "accuracy"):
        assert by_id[check_id].message == \
            f"not reached: your notebook stopped at {place} while building the model"
    assert by_id["data"].passed and by_id["split"].passed
    text = read(report)
    assert "found 0 hidden" not in text and "add hidden layers" not in text
    assert text.count("while building the model") == 1  # shown once; the others point to it


@pytest.mark.parametrize("name, check_id, message", [
    ("py_typo_compile.py", "loss",
     "not reached: your script stopped at line 19 while compiling the model"),
    ("py_typo_fit.py", "training",
     "not reached: your script stopped at line 20 while training the model"),
    ("py_typo_evaluate.py", "prints_accuracy",
     "not reached: your script stopped at line 21 after training the model"),
    ("nb_no_headings_typo_evaluate.ipynb", "prints_accuracy",
     "not reached: your notebook stopped at line 1 of code cell 8 after training the model"),
    ("nb_typo_data.ipynb", "data",
     "not reached: your notebook stopped at line 1 of the cell under “Step 1: Generate the data” "
     "before making the data"),
])
def test_unreached_checks_name_where_the_student_stopped(name, check_id, message, cache_dir):
    result = checks(graded(name, cache_dir))[check_id]
    assert (result.message, result.hint) == (message, "")


def test_a_crash_after_the_model_was_finished_still_judges_the_model(cache_dir):
    by_id = checks(graded("py_typo_compile.py", cache_dir))
    assert all(by_id[c].passed for c in ("hidden_layers", "l2", "dropout", "output_layer"))


@pytest.mark.parametrize("name", ["py_plotly_import.py", "nb_plotly_plot.ipynb"])
def test_a_missing_module_names_the_package_and_says_grading_does_not_need_it(name, cache_dir):
    runs = checks(graded(name, cache_dir))["runs"]
    assert "No module named 'plotly': the grader's environment does not have it (package " \
           "plotly); grading does not need it, remove the import" in runs.message
    assert runs.hint.startswith("remove `import plotly.express as px`")
    assert "(matplotlib and seaborn are available for plots)" in runs.hint


def test_softmax_with_binary_cross_entropy_says_what_was_found_and_the_fix(cache_dir):
    report = graded("py_softmax_binary_crossentropy.py", cache_dir)
    by_id = checks(report)
    assert "the model outputs 2 values per review (Dense(2) with softmax), but binary " \
           "cross-entropy (loss='binary_crossentropy') compares one probability per review" \
        in by_id["runs"].message  # the loss named as the script wrote it (issue 22)
    assert "Dense(1, activation='sigmoid')" in by_id["runs"].hint
    assert "ValueError" not in by_id["runs"].message
    assert "outputs 2 values per review" in by_id["accuracy"].message


@pytest.mark.parametrize("name", ["py_print_percent.py", "nb_starred_multiline_display.ipynb",
                                  "nb_magics_pip_time.ipynb"])
def test_the_printed_accuracy_is_recognised_and_labelled(name, cache_dir):
    report = graded(name, cache_dir)
    message = checks(report)["prints_accuracy"].message
    assert report.passed, read(report)
    assert re.search(r"\d\.\d\d from fast mode's shortened training; the grader trains your model itself",
                     message), message


def test_a_script_without_a_model_says_why_once(cache_dir):
    lines = terminal.render(graded("py_no_model.py", cache_dir)).splitlines()
    assert any(line.startswith("✗ hidden_layers       your script built no Keras model")
               for line in lines)
    assert "✗ l2                  same reason as hidden_layers above  (0/10)" in lines
    assert set(CHECK_IDS) >= {"hidden_layers", "l2"}
