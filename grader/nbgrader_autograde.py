"""nbgrader's autograde step, done by this grader: no student code runs in a Jupyter kernel.

nbgrader's own ``Execute`` step runs the submitted notebook in a kernel as the instructor, with no
sandbox, and then believes whatever the test cells printed. ``GradeInSandbox`` takes its place: it
grades the (already sanitized) notebook exactly like ``python -m grader notebook.ipynb`` (student
code in the sandbox, the model retrained in a trusted process that never runs student code, the
score computed here), then writes each graded ``check("<id>")`` cell's verdict as its output: a
stdout line when the check passed, an error output when it failed (so nbgrader gives it 0 points).
Nothing the notebook computes, prints or redefines reaches a verdict.

In ``nbgrader_config.py``::

    from grader.nbgrader_autograde import autograde_preprocessors
    c.Autograde.autograde_preprocessors = autograde_preprocessors()
    c.GradeInSandbox.cache_dir = "/path/to/cache"   # optional; see the traits below

Every notebook of an ``nbgrader autograde`` run shares one fork server (the sandboxes are forked
from a process that imported TensorFlow once), one trusted training worker and the retrain cache,
so TensorFlow starts once per run and identical models train once.
"""

from __future__ import annotations

import atexit
import tempfile
from pathlib import Path

import nbformat
from nbconvert.preprocessors import Preprocessor
from traitlets import Bool, Float, Integer, Unicode

from grader.lane import Lane
from grader.pipeline import GradeOptions
from grader.report import Report, ScoredCheck
from grader.checks import CHECK_IDS
from grader.rubric import DEFAULT_RUBRIC, load_rubric

_LANES = {True: Lane(warm=True), False: Lane(warm=False)}
for _lane in _LANES.values():
    atexit.register(_lane.close)


def check_outputs(check: ScoredCheck, not_started: bool = False) -> list:
    """A check's verdict as notebook outputs: stdout when it passed, an error when it failed."""
    points = f"({check.score:g}/{check.max_score:g})"
    if check.passed:
        return [nbformat.v4.new_output("stream", name="stdout",
                                       text=f"✓ {check.id}: {check.message} {points}\n")]
    lines = ["You have not started yet: fill in the cells marked YOUR CODE HERE."] if not_started else []
    lines.append(f"✗ {check.id}: {check.message} {points}")
    if check.hint:
        lines.append(f"→ {check.hint}")
    return [nbformat.v4.new_output("error", ename="CheckFailed", evalue=check.message,
                                   traceback=lines)]


def unknown_cell_outputs(grade_id: str) -> list:
    message = (f"graded cell {grade_id!r} is not one of the grader's checks ({', '.join(CHECK_IDS)}); "
               "the grader never runs test code in a kernel, so it scores 0")
    return [nbformat.v4.new_output("error", ename="NotACheck", evalue=message, traceback=[message])]


def graded_check_id(cell) -> str | None:
    """The grade_id of an autograder-test cell (graded, not a solution), else None."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    if cell.get("cell_type") == "code" and meta.get("grade") and not meta.get("solution"):
        return meta.get("grade_id")
    return None


class GradeInSandbox(Preprocessor):
    """Replaces nbgrader's ``Execute``: grade through the sandbox, write each check cell's verdict."""

    enabled = Bool(True, help="Whether this step runs (it must: it replaces Execute).").tag(
        config=True)
    timeout = Float(0.0, help="Wall-clock limit for the notebook's run, in seconds "
                              "(0: the rubric's).").tag(config=True)
    memory_mb = Integer(0, help="Memory limit for the notebook's run (0: the rubric's).").tag(
        config=True)
    rubric_path = Unicode("", help="A rubric file (default: the grader's).").tag(config=True)
    cache_dir = Unicode("", help="Where retrain results are cached (default: GRADER_CACHE_DIR "
                                 "or ~/.cache/sentiment-grader).").tag(config=True)
    use_cache = Bool(True, help="Reuse retrain results of identical models.").tag(config=True)
    warm = Bool(True, help="Fork every sandbox from one process that imported TensorFlow once "
                           "(Linux); False: start each cold, exactly like the CLI.").tag(config=True)

    def grade_notebook(self, nb, name: str) -> Report:
        rubric_path = Path(self.rubric_path) if self.rubric_path else DEFAULT_RUBRIC
        rubric = load_rubric(rubric_path)
        options = GradeOptions(timeout=self.timeout or None, memory_mb=self.memory_mb or None,
                               use_cache=self.use_cache,
                               cache_dir=Path(self.cache_dir) if self.cache_dir else None,
                               rubric_path=rubric_path)
        with tempfile.TemporaryDirectory(prefix="nbgrader-sandbox-") as folder:
            path = Path(folder) / f"{name}.ipynb"
            nbformat.write(nb, str(path))
            return _LANES[self.warm].grade(path, options, rubric)

    def preprocess(self, nb, resources):
        info = resources.get("nbgrader", {})
        report = self.grade_notebook(nb, info.get("notebook") or "submission")
        checks = {check.id: check for check in report.checks}
        for cell in nb.cells:
            grade_id = graded_check_id(cell)
            if grade_id is None:
                continue
            if grade_id in checks:
                cell.outputs = check_outputs(checks[grade_id], report.not_started)
            else:
                self.log.warning("Cell %r is not one of the grader's checks: it scores 0", grade_id)
                cell.outputs = unknown_cell_outputs(grade_id)
            cell.execution_count = None
        accuracy = report.metrics.get("test_accuracy")
        self.log.info("Graded %s/%s in the sandbox: %g/%g (grader's test accuracy %s)",
                      info.get("student", "?"), info.get("notebook", "?"), report.score,
                      report.max_score, "none" if accuracy is None else f"{accuracy:.4f}")
        return nb, resources


def autograde_preprocessors() -> list:
    """nbgrader's default autograde pipeline with ``Execute`` replaced by ``GradeInSandbox``."""
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import Execute

    default = list(Autograde.class_traits()["autograde_preprocessors"].default())
    if Execute not in default:
        raise RuntimeError("this nbgrader's autograde pipeline has no Execute step to replace. "
                           f"Received: {[p.__name__ for p in default]}")
    return [GradeInSandbox if step is Execute else step for step in default]
