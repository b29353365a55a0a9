"""Generate an exercise's nbgrader source notebook from its template, solution and rubric.

Usage: ``python -m grader.make_notebook [--exercise NAME] [--rubric FILE] [--course DIR] [--check]``

One source of truth: the notebook is built from the exercise's template in ``assignment/`` (the
introduction, each step's title and its TODO comments), its solution in ``solution/`` (each
step's code, between ``### BEGIN SOLUTION`` and ``### END SOLUTION``) and the rubric (one
autograded ``check("<id>")`` cell per check, with the rubric's points, after the step the
exercise's ``steps`` give it). It is written to ``DIR/source/<exercise>/<template>.ipynb`` of the
course (default: the current directory when it holds an ``nbgrader_config.py``, else the
repository's ``nbgrader/``), the assignment being named like the exercise. Edit those files,
never the notebook; ``--check`` exits with 1 when the notebook there is stale (the tests do the
same for the repository's).
The template's code lines (``model = Sequential()``) are not copied: in the released notebook each
step is its TODO comments and a ``# YOUR CODE HERE`` stub.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from pathlib import Path

from grader import exercise as exercises
from grader.exercise import Exercise
from grader.files import atomic_write
from grader.rubric import load_rubric

ROOT = Path(__file__).resolve().parent.parent
COURSE = ROOT / "nbgrader"

SETUP_CODE = '''\
# Read-only. Each `check("...")` cell below is one graded item: when your notebook is graded, the
# grader runs all of it in a sandbox, retrains your model on its own data, and writes the verdict
# into that cell. For the full report now, save this notebook and run in a terminal:
#     {command}
def check(check_id):
    print(f"{{check_id}}: graded by the grader when you submit")
'''


def notebook_name(exercise: Exercise) -> str:
    """The notebook's file name: the template's, as a notebook."""
    return exercise.template.with_suffix(".ipynb").name


def notebook_path(exercise: Exercise, course: Path = COURSE) -> Path:
    """Where the course keeps the exercise's source notebook (its assignment is its name)."""
    return course / "source" / exercise.name / notebook_name(exercise)


def grade_command(exercise: Exercise, file: str) -> str:
    """What a student types to grade ``file`` (the default exercise needs no ``--exercise``)."""
    flag = "" if exercise.name == exercises.default_name() else f" --exercise {exercise.name}"
    return f"python -m grader{flag} {file}"


def check_call(exercise: Exercise) -> str:
    """The call that grades the notebook from its own last cell (``grader.notebook_check``)."""
    flag = "" if exercise.name == exercises.default_name() else f"exercise={exercise.name!r}"
    return f"grader.check({flag})"


CHECK_TITLE = ("## Check your notebook now\n\nSave the notebook, then run the cell below: it "
               "grades the notebook as saved, exactly like `{command}`, and shows the report "
               "here. It is not graded itself.")
CHECK_CODE = ("# Read-only. Grades this notebook as saved, in the grader's sandbox (not in this "
              "kernel).\nimport grader; {call}")

_STEP = re.compile(r"^#\s*step\s+(\d+)\b\W*(.*?)\.?\s*$", re.IGNORECASE)


class LayoutError(ValueError):
    """The template or the solution no longer has the expected shape (docstring, imports, steps)."""


def _split(text: str, path: Path, wanted) -> tuple[str, str, dict[int, list[str]]]:
    """A file's docstring, its import block, and its lines per step (header line first)."""
    module = ast.parse(text)
    docstring = ast.get_docstring(module) or ""
    lines = text.splitlines()
    body_start = module.body[0].end_lineno if docstring else 0
    steps: dict[int, list[str]] = {}
    current: list[str] | None = None
    preamble: list[str] = []
    for line in lines[body_start:]:
        match = _STEP.match(line)
        if match:
            current = steps.setdefault(int(match.group(1)), [])
        (preamble if current is None else current).append(line)
    if sorted(steps) != sorted(wanted):
        raise LayoutError(f"{path}: expected '# Step N' comments for steps {sorted(wanted)}. "
                          f"Received: steps {sorted(steps)}")
    return docstring, "\n".join(preamble).strip(), steps


def _cell(cell_id: str, cell_type: str, source: str, nbgrader: dict | None = None) -> dict:
    cell = {"cell_type": cell_type, "id": cell_id, "metadata": {},
            "source": source.strip("\n").splitlines(keepends=True)}
    if nbgrader is not None:
        cell["metadata"]["nbgrader"] = {"grade": False, "locked": False, "schema_version": 3,
                                        "solution": False, "task": False, "grade_id": cell_id,
                                        **nbgrader}
    if cell_type == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def _introduction(docstring: str, exercise: Exercise) -> str:
    title, _, rest = docstring.partition("\n")
    rest = rest.replace(grade_command(exercise, exercise.template.name),
                        grade_command(exercise, notebook_name(exercise)))
    return (f"# {title}\n{rest}\n\n"
            "Write your code in the cells marked `# YOUR CODE HERE`. The `check(\"...\")` cells are "
            "graded: they show their verdict in your feedback once your notebook is graded.")


def build_notebook(template: str | None = None, solution: str | None = None,
                   points: dict[str, float] | None = None, exercise: Exercise | None = None) -> dict:
    """The exercise's (default: the default one's) source notebook as JSON-ready data (the
    arguments default to its files)."""
    exercise = exercise or exercises.get()
    template_path, solution_path = exercise.path(exercise.template), exercise.path(exercise.solution)
    template = template_path.read_text(encoding="utf-8") if template is None else template
    solution = solution_path.read_text(encoding="utf-8") if solution is None else solution
    points = dict(load_rubric(exercise=exercise.name).points) if points is None else points
    steps, final = exercise.steps, exercise.final_checks
    graded = [c for step in steps.values() for c in step] + list(final)
    if sorted(graded) != sorted(exercise.registry.check_ids):
        raise LayoutError(f"the exercise's steps and final checks must name every check once. "
                          f"Received: {graded}")
    intro, _, todo_steps = _split(template, template_path, steps)
    _, imports, code_steps = _split(solution, solution_path, steps)

    def check_cell(check_id: str) -> dict:
        return _cell(f"{check_id}", "code", f'check("{check_id}")',
                     {"grade": True, "locked": True, "points": points[check_id]})

    setup = SETUP_CODE.format(command=grade_command(exercise, notebook_name(exercise)))
    cells = [_cell("introduction", "markdown", _introduction(intro, exercise)),
             _cell("imports", "code", imports),
             _cell("setup", "code", setup, {"locked": True})]
    for number, checks in steps.items():
        header, *todo = todo_steps[number]
        title = _STEP.match(header).group(2)
        comments = "\n".join(line for line in todo if line.lstrip().startswith("#"))
        code = "\n".join(code_steps[number]).strip("\n")
        cells.append(_cell(f"step{number}-title", "markdown", f"## Step {number}: {title}"))
        cells.append(_cell(f"step{number}", "code",
                           f"{comments}\n### BEGIN SOLUTION\n{code}\n### END SOLUTION",
                           {"solution": True}))
        cells.extend(check_cell(c) for c in checks)
    cells.append(_cell("grader-run-title", "markdown",
                       "## The grader's own run\n\nYour notebook runs to the end; the grader "
                       "retrains your model on its own data: its training loss must fall and its "
                       "test accuracy must clear the threshold."))
    cells.extend(check_cell(c) for c in final)
    cells.append(_cell("grader-check-title", "markdown", CHECK_TITLE.format(
        command=grade_command(exercise, notebook_name(exercise)))))
    cells.append(_cell("grader-check", "code", CHECK_CODE.format(call=check_call(exercise)),
                       {"locked": True}))
    return {
        "cells": cells,
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                    "name": "python3"},
                     "language_info": {"name": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def render(notebook: dict) -> str:
    return json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def default_course(cwd: Path | None = None) -> Path:
    """The course to write into: the current directory when it is an nbgrader course (it holds
    ``nbgrader_config.py``), else the repository's ``nbgrader/``."""
    cwd = Path.cwd() if cwd is None else cwd
    return cwd if (cwd / "nbgrader_config.py").is_file() else COURSE


def regenerate_command(rubric_path: Path | None, course: str = ".",
                       exercise: str | None = None) -> str:
    """What an instructor runs after changing the rubric (autograde's refusal quotes it)."""
    name = exercise or exercises.default_name()
    flag = "" if name == exercises.default_name() else f" --exercise {name}"
    rubric = f" --rubric {rubric_path}" if rubric_path else ""
    return (f"python -m grader.make_notebook{flag}{rubric} --course {course} && "
            f"nbgrader generate_assignment {name} --force")


def main(argv: list[str] | None = None) -> int:
    from grader.options import EXIT_USAGE, Parser, add_rubric_option, load_rubric_or_usage

    parser = Parser(prog="python -m grader.make_notebook", description=__doc__.splitlines()[0])
    add_rubric_option(parser)
    parser.add_argument("--course", type=Path, metavar="DIR",
                        help="the nbgrader course to write into (default: the current directory "
                             "if it has nbgrader_config.py, else the repository's nbgrader/)")
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 if the notebook there is stale")
    parser.add_argument("--output", type=Path, metavar="FILE",
                        help="write exactly this file instead (overrides --course)")
    args = parser.parse_args(argv)
    rubric = load_rubric_or_usage(parser.prog, args.rubric, args.exercise)
    if isinstance(rubric, int):
        return rubric
    course = args.course or default_course()
    if args.course and not args.output and not args.course.is_dir():
        print(f"{parser.prog}: error: no such course folder: {args.course}", file=sys.stderr)
        return EXIT_USAGE
    exercise = exercises.get(rubric.exercise_name)
    output = args.output or notebook_path(exercise, course)
    try:
        text = render(build_notebook(points=dict(rubric.points), exercise=exercise))
    except LayoutError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.check:
        current = output.read_text(encoding="utf-8") if output.is_file() else ""
        if current != text:
            print(f"{output} is stale: run `python -m grader.make_notebook"
                  f"{' --exercise ' + args.exercise if args.exercise else ''}"
                  f"{' --rubric ' + str(args.rubric) if args.rubric else ''}"
                  f"{' --course ' + str(args.course) if args.course else ''}`", file=sys.stderr)
            return 1
        return 0
    atomic_write(output, text)
    print(f"wrote {output} ({len(rubric.points)} graded cells, {rubric.max_score:g} points, rubric "
          f"{rubric.short_hash}); now run `nbgrader generate_assignment {exercise.name} --force` in "
          f"{course}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
