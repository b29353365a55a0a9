"""What every command shares: exit codes, the argument parser, the grading options.

``GradeOptions`` (``grader.core.options``) is the one description of how to grade; the
single-file CLI, batch, nbgrader and the Gradescope autograder all build it here
(``options_from_args``) or from its JSON form (a batch task carries it to a cluster worker).
Nothing here imports TensorFlow, and nothing imports a command module, so commands never import
each other.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from grader.core.options import GradeOptions

EXIT_PASSED, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors (exit 2), not argparse's usage block."""

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def add_grading_options(parser: argparse.ArgumentParser) -> None:
    """The options single-file and batch grading share."""
    parser.add_argument("--full", action="store_true",
                        help="run scripts unchanged (all of their own epochs too); slower")
    parser.add_argument("--timeout", type=float, metavar="SECONDS",
                        help="wall-clock limit per script (default: the rubric's)")
    parser.add_argument("--memory-mb", type=int, metavar="MB",
                        help="memory limit per script (default: the rubric's)")
    parser.add_argument("--trials", type=_trials, metavar="N",
                        help="retrain on N data seeds and judge accuracy on the median, with the "
                             "spread shown (default: 1, the rubric's seed)")
    add_rubric_option(parser)
    parser.add_argument("--no-cache", action="store_true",
                        help="always retrain, even when a model was trained before")
    parser.add_argument("--cache-dir", type=Path, metavar="DIR",
                        help="where retrain results are kept (default: GRADER_CACHE_DIR or "
                             "~/.cache/sentiment-grader, on the machine that grades)")


MAX_TRIALS = 20


def _trials(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 1 <= value <= MAX_TRIALS:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_TRIALS}, got {value}")
    return value


def add_rubric_option(parser: argparse.ArgumentParser) -> None:
    """``--exercise`` and ``--rubric``: what is graded, and by which rubric."""
    parser.add_argument("--exercise", metavar="NAME",
                        help="the exercise to grade (python -m grader exercises lists them; "
                             "default: the one the rubric names, else the first exercise)")
    parser.add_argument("--rubric", type=Path, metavar="FILE",
                        help="the rubric (TOML; default: the exercise's own rubric.toml)")


def positive(args: argparse.Namespace, *names: str) -> str | None:
    """The usage error for the first of ``names`` that is given but not positive, else None."""
    for name in names:
        value = getattr(args, name, None)
        if value is not None and value <= 0:
            return f"--{name.replace('_', '-')} must be positive. Received: {value}"
    return None


def usage_error(prog: str, message: str) -> int:
    """Print a one-line usage error; the exit status for it."""
    print(f"{prog}: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def load_rubric_or_usage(prog: str, path: Path | None, exercise: str | None = None):
    """The rubric at ``path`` (default: the exercise's own), or an exit status after a one-line
    error (an unknown exercise too)."""
    from grader.rubric import RubricError, load_rubric

    try:
        return load_rubric(path, exercise)
    except RubricError as exc:
        return usage_error(prog, str(exc))


def options_from_args(args: argparse.Namespace) -> GradeOptions:
    """The ``GradeOptions`` the shared command-line options describe."""
    return GradeOptions(timeout=args.timeout, memory_mb=args.memory_mb, full=args.full,
                        trials=args.trials or 1,
                        use_cache=not args.no_cache, cache_dir=args.cache_dir,
                        rubric_path=args.rubric, exercise=args.exercise)


def with_limits(rubric, options: GradeOptions):
    """``rubric`` with the limits ``options`` override (``--timeout``, ``--memory-mb``), so that
    the checks' messages and notes name the limits that applied, not the rubric's defaults."""
    changes = {}
    if options.timeout:
        changes["timeout_seconds"] = float(options.timeout)
    if options.memory_mb:
        changes["memory_mb"] = int(options.memory_mb)
    if not changes:
        return rubric
    return dataclasses.replace(rubric, limits=dataclasses.replace(rubric.limits, **changes))


def cache_directory(options: GradeOptions) -> Path | None:
    """Where retrain results are cached for these options; None when caching is off."""
    if not options.use_cache:
        return None
    if options.cache_dir:
        return Path(options.cache_dir)
    from grader.retrain.client import default_cache_dir

    return default_cache_dir()
