"""``python -m grader exercises``: the installed exercises, for people or (``--format json``)
for tools: ``[{"name", "title", "template", "solution", "rubric"}]``, paths relative to the
repository."""

from __future__ import annotations

import json
import sys

from grader.exercise import ExerciseError, default_name, installed
from grader.options import EXIT_PASSED, Parser, usage_error
from grader.text import inert

PROG = "python -m grader exercises"


def main(argv: list[str] | None = None) -> int:
    parser = Parser(prog=PROG, description="List the installed exercises (grade one with "
                                           "python -m grader --exercise NAME FILE).")
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help="text for people (default), json for tools")
    args = parser.parse_args(argv)
    try:
        exercises = installed()
    except ExerciseError as exc:
        return usage_error(PROG, str(exc))
    if args.format == "json":
        text = json.dumps([e.describe() for e in exercises], indent=2)
    else:
        default, lines = default_name(), []
        for exercise in exercises:
            mark = " (default)" if exercise.name == default else ""
            lines.append(f"{exercise.name}{mark}: {inert(exercise.title, 200)}")
            lines += [f"    {what + ':':10}{exercise.describe()[what]}"
                      for what in ("template", "solution", "rubric")]
        text = "\n".join(lines)
    try:
        print(text, flush=True)
    except BrokenPipeError:  # `... exercises | head`
        sys.stdout = None
    return EXIT_PASSED
