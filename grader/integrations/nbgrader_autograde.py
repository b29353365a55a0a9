"""nbgrader's autograde step, done by this grader: no student code runs in a Jupyter kernel.

nbgrader's own ``Execute`` step runs the submitted notebook in a kernel as the instructor, with no
sandbox, and then believes whatever the test cells printed. ``GradeInSandbox`` takes its place: it
grades the (already sanitized) notebook exactly like ``python -m grader notebook.ipynb`` (student
code in the sandbox, the model retrained in a trusted process that never runs student code, the
score computed here), then writes each graded ``check("<id>")`` cell's verdict as its output: a
stdout line when the check passed, an error output when it failed (so nbgrader gives it 0 points).
The first graded cell starts with the score and its main reason ("Grader: 85/100. Main reason:
crashed at cell 7, line 2 (NameError)."), the bonus challenges done, and the name of the HTML
report (``<notebook>_grader_report.html``) that autograde writes beside the autograded notebook
and ``nbgrader generate_feedback`` copies into the student's feedback folder. Nothing the notebook computes, prints or redefines
reaches a verdict. The other files of the student's submission folder (helper modules, data) are
copied beside the notebook into the sandbox, as batch grading does.

One rubric everywhere: ``c.GradeInSandbox.rubric_path`` names the rubric file (the one given to
``python -m grader.make_notebook --rubric``). A rubric that does not load, or whose points differ
from the gradebook's (a notebook generated from another rubric), stops autograde before any
student's code runs, with a message saying how to regenerate the assignment.

In ``nbgrader_config.py``::

    from grader.integrations.nbgrader_autograde import autograde_preprocessors
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

from grader.integrations.lane import Lane
from grader.make_notebook import regenerate_command
from grader.core.options import GradeOptions
from grader.core.rubric import Rubric
from grader.pipeline import guarded
from grader.report import Report, ScoredCheck, bonus_summary, failure_report, main_reason
from grader.reporters import html as html_reporter, shown
from grader.exercise import names as exercise_names
from grader.rubric import RubricError, load_rubric
from grader.sources import SourceError, helper_files
from grader.text import inert

_LANES = {True: Lane(warm=True), False: Lane(warm=False)}
for _lane in _LANES.values():
    atexit.register(_lane.close)


class RubricMismatch(RuntimeError):
    """The gradebook's points are not the rubric's: autograde refuses to grade."""


def report_name(notebook: str) -> str:
    """The HTML report written beside the autograded notebook (and copied into the student's
    feedback folder by ``nbgrader generate_feedback``)."""
    return f"{notebook}_grader_report.html"


def headline(report: Report, html_name: str = "") -> str:
    """The first graded cell's first lines: the score and its main reason, in a few words; the
    bonus challenges done (shown, not in the gradebook); where the full HTML report is."""
    report, html_name = shown(report), inert(html_name, 300)
    reason = main_reason(report.to_dict())
    if report.passed:
        lines = [f"Grader: {report.score:g}/{report.max_score:g}, every check passed."]
    else:
        lines = [f"Grader: {report.score:g}/{report.max_score:g}. Main reason: {reason}."]
    if bonus_summary(report.to_dict()):
        lines.append(bonus_summary(report.to_dict()) + " (not counted in the gradebook).")
    if html_name:
        lines.append(f"Full report with learning curves and your architecture: {html_name} "
                     "(beside this feedback page).")
    return "\n".join(lines)


def check_outputs(check: ScoredCheck, not_started: bool = False, first_line: str = "") -> list:
    """A check's verdict as notebook outputs: stdout when it passed, an error when it failed.

    ``first_line`` (the report's headline) goes before the verdict in the first graded cell.
    """
    points = f"({check.score:g}/{check.max_score:g})"
    lead = [first_line] if first_line else []
    if check.passed:
        text = "\n".join(lead + [f"✓ {check.id}: {check.message} {points}"]) + "\n"
        return [nbformat.v4.new_output("stream", name="stdout", text=text)]
    lines = lead + (["You have not started yet: fill in the cells marked YOUR CODE HERE."]
                    if not_started else [])
    lines.append(f"✗ {check.id}: {check.message} {points}")
    if check.hint:
        lines.append(f"→ {check.hint}")
    return [nbformat.v4.new_output("error", ename="CheckFailed", evalue=check.message,
                                   traceback=lines)]


def unknown_cell_outputs(grade_id: str, check_ids) -> list:
    message = (f"graded cell {inert(repr(grade_id), 100)} is not one of the grader's checks "
               f"({', '.join(check_ids)}); the grader never runs test code in a kernel, so it "
               "scores 0")
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
    rubric_path = Unicode("", help="A rubric file (default: the exercise's own).").tag(config=True)
    exercise = Unicode("", help="The exercise to grade (default: the one the rubric names, else "
                                "the installed exercise named like the assignment, else the "
                                "default one).").tag(config=True)
    cache_dir = Unicode("", help="Where retrain results are cached (default: GRADER_CACHE_DIR "
                                 "or ~/.cache/sentiment-grader).").tag(config=True)
    use_cache = Bool(True, help="Reuse retrain results of identical models.").tag(config=True)
    warm = Bool(True, help="Fork every sandbox from one process that imported TensorFlow once "
                           "(Linux); False: start each cold, exactly like the CLI.").tag(config=True)

    def exercise_for(self, assignment: str | None) -> str | None:
        """The exercise to grade: ``exercise`` if set, else the one named like the assignment
        (a course holds one assignment per exercise), else None (the rubric's or the default)."""
        if self.exercise:
            return self.exercise
        return assignment if assignment in exercise_names() else None

    def rubric(self, assignment: str | None = None) -> Rubric:
        """The rubric (``rubric_path``, else the exercise's own), validated."""
        return load_rubric(Path(self.rubric_path) if self.rubric_path else None,
                           self.exercise_for(assignment))

    def check_points(self, nb, rubric: Rubric) -> None:
        """Refuse to grade when the gradebook's points (restored into the notebook's graded cells
        by nbgrader's sanitizing) are not the rubric's: the gradebook would silently disagree
        with the feedback. Raises ``RubricMismatch`` saying how to regenerate."""
        gradebook = {graded_check_id(cell): float(cell.metadata["nbgrader"].get("points", 0))
                     for cell in nb.cells if graded_check_id(cell) in rubric.points}
        wrong = [f"{c}: {gradebook[c]:g} in the gradebook, {rubric.points[c]:g} in the rubric"
                 for c in rubric.points if c in gradebook and gradebook[c] != rubric.points[c]]
        wrong += [f"{c}: no graded cell, {rubric.points[c]:g} in the rubric" for c in rubric.points
                  if c not in gradebook and rubric.points[c]]
        if wrong:
            rubric_path = Path(self.rubric_path) if self.rubric_path else None
            raise RubricMismatch(
                f"the gradebook's points differ from the rubric's ({rubric.name}): "
                f"{'; '.join(wrong)}. Nothing was graded. Regenerate the assignment from the "
                f"rubric in the course folder: `{regenerate_command(rubric_path, exercise=rubric.exercise_name)}`, then run "
                "autograde again (with --force for students already autograded)")

    def grade_notebook(self, nb, name: str, rubric: Rubric | None = None,
                       folder: Path | None = None) -> Report:
        """Grade ``nb`` in the sandbox, with the other files of ``folder`` beside it."""
        rubric = rubric or self.rubric()
        options = GradeOptions(timeout=self.timeout or None, memory_mb=self.memory_mb or None,
                               use_cache=self.use_cache,
                               cache_dir=Path(self.cache_dir) if self.cache_dir else None,
                               rubric_path=Path(self.rubric_path) if self.rubric_path else None,
                               exercise=rubric.exercise_name)
        graded = f"{name}.ipynb"
        try:
            extra = helper_files(folder, graded) if folder else {}
        except SourceError as exc:
            return failure_report(graded, f"not graded: {exc}", "remove the large files from the "
                                  "submission folder", rubric, note="not graded")
        extra = {n: data for n, data in extra.items() if not n.endswith(".ipynb")}
        with tempfile.TemporaryDirectory(prefix="nbgrader-sandbox-") as temporary:
            path = Path(temporary) / graded
            nbformat.write(nb, str(path))
            return _LANES[self.warm].grade(path, options, rubric, extra_files=extra)

    def preprocess(self, nb, resources):
        info = resources.get("nbgrader", {})
        try:
            rubric = self.rubric(info.get("assignment"))
            self.check_points(nb, rubric)
        except (RubricError, RubricMismatch) as exc:
            self.log.error("%s", exc)  # one line before nbgrader's traceback
            raise
        folder = resources.get("metadata", {}).get("path")
        notebook = info.get("notebook") or "submission"
        html_name = report_name(notebook)
        report, (page, outputs) = guarded(
            f"{notebook}.ipynb", rubric,
            lambda: self.grade_notebook(nb, notebook, rubric, Path(folder) if folder else None),
            lambda r: (html_reporter.render(r).encode(), graded_outputs(nb, r, html_name)))
        resources.setdefault("outputs", {})[html_name] = page
        for index, cell in enumerate(nb.cells):
            if index in outputs:
                cell.outputs = outputs[index]
                cell.execution_count = None
        unknown = [graded_check_id(nb.cells[i]) for i in outputs
                   if graded_check_id(nb.cells[i]) not in {c.id for c in report.checks}]
        for grade_id in unknown:
            self.log.warning("Cell %r is not one of the grader's checks: it scores 0",
                             inert(grade_id, 100))
        accuracy = report.metrics.get("test_accuracy")
        self.log.info("Graded %s/%s in the sandbox: %g/%g (grader's test accuracy %s)",
                      inert(info.get("student", "?"), 200), inert(notebook, 200), report.score,
                      report.max_score, f"{accuracy:.4f}" if isinstance(accuracy, float)
                      else "none")
        return nb, resources


def graded_outputs(nb, report: Report, html_name: str) -> dict[int, list]:
    """The outputs of each graded cell (by index): its check's verdict, the first one led by
    the report's headline; a graded cell that is no check scores 0."""
    report = shown(report)
    checks = {check.id: check for check in report.checks}
    first = headline(report, html_name)
    outputs = {}
    for index, cell in enumerate(nb.cells):
        grade_id = graded_check_id(cell)
        if grade_id is None:
            continue
        if grade_id in checks:
            outputs[index] = check_outputs(checks[grade_id], report.not_started, first)
            first = ""
        else:
            outputs[index] = unknown_cell_outputs(grade_id, tuple(checks))
    return outputs


def autograde_preprocessors() -> list:
    """nbgrader's default autograde pipeline with ``Execute`` replaced by ``GradeInSandbox``."""
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import Execute

    default = list(Autograde.class_traits()["autograde_preprocessors"].default())
    if Execute not in default:
        raise RuntimeError("this nbgrader's autograde pipeline has no Execute step to replace. "
                           f"Received: {[p.__name__ for p in default]}")
    return [GradeInSandbox if step is Execute else step for step in default]
