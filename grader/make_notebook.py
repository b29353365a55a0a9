"""Generate the nbgrader source notebook from the template and the reference solution.

Usage: ``python -m grader.make_notebook [--check]``

One source of truth: the notebook is built from ``assignment/sentiment_classifier.py`` (the
introduction, each step's title and its TODO comments), ``solution/sentiment_classifier.py`` (each
step's code, between ``### BEGIN SOLUTION`` and ``### END SOLUTION``) and the rubric (one
autograded ``check("<id>")`` cell per check, with the rubric's points). Edit those files, never the
notebook; ``--check`` exits with 1 when the committed notebook is stale (the tests do the same).
The template's code lines (``model = Sequential()``) are not copied: in the released notebook each
step is its TODO comments and a ``# YOUR CODE HERE`` stub.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
from pathlib import Path

from grader.checks import CHECK_IDS
from grader.rubric import DEFAULT_RUBRIC, load_rubric

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "assignment" / "sentiment_classifier.py"
SOLUTION = ROOT / "solution" / "sentiment_classifier.py"
NOTEBOOK = ROOT / "nbgrader" / "source" / "sentiment" / "sentiment_classifier.ipynb"

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.make_notebook",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 if the committed notebook is stale")
    parser.add_argument("--output", type=Path, default=NOTEBOOK, help="where to write the notebook")
    args = parser.parse_args(argv)
    try:
        text = render(build_notebook())
    except LayoutError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.is_file() else ""
        if current != text:
            print(f"{args.output} is stale: run `python -m grader.make_notebook`", file=sys.stderr)
            return 1
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
