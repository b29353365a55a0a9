"""Generate the nbgrader source notebook from the template, the reference solution and a rubric.

Usage: ``python -m grader.make_notebook [--rubric FILE] [--course DIR] [--check]``

One source of truth: the notebook is built from ``assignment/sentiment_classifier.py`` (the
introduction, each step's title and its TODO comments), ``solution/sentiment_classifier.py`` (each
step's code, between ``### BEGIN SOLUTION`` and ``### END SOLUTION``) and the rubric (one
autograded ``check("<id>")`` cell per check, with the rubric's points). It is written to
``DIR/source/sentiment/sentiment_classifier.ipynb`` of the course (default: the current directory
when it holds an ``nbgrader_config.py``, else the repository's ``nbgrader/``). Edit those files,
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

from grader.checks import CHECK_IDS
from grader.files import atomic_write
from grader.rubric import DEFAULT_RUBRIC, load_rubric

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "assignment" / "sentiment_classifier.py"
SOLUTION = ROOT / "solution" / "sentiment_classifier.py"
ASSIGNMENT, NOTEBOOK_NAME = "sentiment", "sentiment_classifier.ipynb"
COURSE = ROOT / "nbgrader"
NOTEBOOK = COURSE / "source" / ASSIGNMENT / NOTEBOOK_NAME

# Which checks are graded after which step; the rest after the last one.
STEP_CHECKS = {
    1: ("data",),
    2: ("split",),
    3: ("hidden_layers", "decreasing_widths", "l2", "dropout", "hidden_activations", "output_layer"),
    4: ("loss",),
    5: ("training",),
    6: ("prints_accuracy",),
}
FINAL_CHECKS = ("runs", "loss_decreases", "accuracy")

SETUP_CODE = '''\
# Read-only. Each `check("...")` cell below is one graded item: when your notebook is graded, the
# grader runs all of it in a sandbox, retrains your model on its own data, and writes the verdict
# into that cell. For the full report now, save this notebook and run in a terminal:
#     python -m grader sentiment_classifier.ipynb
def check(check_id):
    print(f"{check_id}: graded by the grader when you submit")
'''

_STEP = re.compile(r"^#\s*step\s+(\d+)\b\W*(.*?)\.?\s*$", re.IGNORECASE)


class LayoutError(ValueError):
    """The template or the solution no longer has the expected shape (docstring, imports, steps)."""


def _split(text: str, path: Path) -> tuple[str, str, dict[int, list[str]]]:
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
    if sorted(steps) != sorted(STEP_CHECKS):
        raise LayoutError(f"{path}: expected '# Step N' comments for steps {sorted(STEP_CHECKS)}. "
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


def _introduction(docstring: str) -> str:
    title, _, rest = docstring.partition("\n")
    rest = rest.replace("python -m grader sentiment_classifier.py",
                        "python -m grader sentiment_classifier.ipynb")
    return (f"# {title}\n{rest}\n\n"
            "Write your code in the cells marked `# YOUR CODE HERE`. The `check(\"...\")` cells are "
            "graded: they show their verdict in your feedback once your notebook is graded.")


def build_notebook(template: str | None = None, solution: str | None = None,
                   points: dict[str, float] | None = None) -> dict:
    """The source notebook as JSON-ready data (the arguments default to the repository's files)."""
    template = TEMPLATE.read_text(encoding="utf-8") if template is None else template
    solution = SOLUTION.read_text(encoding="utf-8") if solution is None else solution
    points = dict(load_rubric(DEFAULT_RUBRIC).points) if points is None else points
    graded = [c for step in STEP_CHECKS.values() for c in step] + list(FINAL_CHECKS)
    if sorted(graded) != sorted(CHECK_IDS):
        raise LayoutError(f"STEP_CHECKS and FINAL_CHECKS must name every check once. "
                          f"Received: {graded}")
    intro, _, todo_steps = _split(template, TEMPLATE)
    _, imports, code_steps = _split(solution, SOLUTION)

    def check_cell(check_id: str) -> dict:
        return _cell(f"{check_id}", "code", f'check("{check_id}")',
                     {"grade": True, "locked": True, "points": points[check_id]})

    cells = [_cell("introduction", "markdown", _introduction(intro)),
             _cell("imports", "code", imports),
             _cell("setup", "code", SETUP_CODE, {"locked": True})]
    for number, checks in STEP_CHECKS.items():
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
    cells.extend(check_cell(c) for c in FINAL_CHECKS)
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


def regenerate_command(rubric_path: Path | None, course: str = ".") -> str:
    """What an instructor runs after changing the rubric (autograde's refusal quotes it)."""
    rubric = f" --rubric {rubric_path}" if rubric_path else ""
    return (f"python -m grader.make_notebook{rubric} --course {course} && "
            f"nbgrader generate_assignment {ASSIGNMENT} --force")


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
    rubric = load_rubric_or_usage(parser.prog, args.rubric)
    if isinstance(rubric, int):
        return rubric
    course = args.course or default_course()
    if args.course and not args.output and not args.course.is_dir():
        print(f"{parser.prog}: error: no such course folder: {args.course}", file=sys.stderr)
        return EXIT_USAGE
    output = args.output or course / "source" / ASSIGNMENT / NOTEBOOK_NAME
    try:
        text = render(build_notebook(points=dict(rubric.points)))
    except LayoutError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.check:
        current = output.read_text(encoding="utf-8") if output.is_file() else ""
        if current != text:
            print(f"{output} is stale: run `python -m grader.make_notebook"
                  f"{' --rubric ' + str(args.rubric) if args.rubric else ''}"
                  f"{' --course ' + str(args.course) if args.course else ''}`", file=sys.stderr)
            return 1
        return 0
    atomic_write(output, text)
    print(f"wrote {output} ({len(rubric.points)} graded cells, {rubric.max_score:g} points, rubric "
          f"{rubric.short_hash}); now run `nbgrader generate_assignment {ASSIGNMENT} --force` in "
          f"{course}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
