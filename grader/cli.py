"""Command line: ``python -m grader [options] FILE``. Parses arguments, picks a reporter, maps
outcomes to exit codes (0 all passed, 1 some check failed, 2 usage error). No grading logic.

``python -m grader batch ...`` is ``grader.batch.main``; ``python -m grader similarity
RESULTS_DIR`` is ``similarity_main`` below (0 written, 2 usage error)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from grader import __version__

EXIT_PASSED, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors (exit 2), not argparse's usage block."""

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def add_grading_options(parser: argparse.ArgumentParser) -> None:
    """The options single-file and batch grading share."""
    parser.add_argument("--full", action="store_true",
                        help="run scripts unchanged (their own 50 epochs too); slower")
    parser.add_argument("--timeout", type=float, metavar="SECONDS",
                        help="wall-clock limit per script (default: the rubric's)")
    parser.add_argument("--memory-mb", type=int, metavar="MB",
                        help="memory limit per script (default: the rubric's)")
    parser.add_argument("--rubric", type=Path, metavar="TOML", help="another rubric file")
    parser.add_argument("--no-cache", action="store_true",
                        help="always retrain, even when a model was trained before")


def _parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="python -m grader",
        description="Grade a sentiment-classifier submission (.py or .ipynb): run it in a sandbox, "
                    "check the model it builds, retrain it on the grader's data, and score it.")
    parser.add_argument("submission", type=Path, help="the student's .py or .ipynb file")
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help="text for people (default), json for tools")
    add_grading_options(parser)
    parser.add_argument("--cache-dir", type=Path, metavar="DIR", help="where retrain results are kept")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["batch"]:  # `python -m grader batch DIR --out DIR`: see grader.batch
        from grader.batch import main as batch_main

        return batch_main(argv[1:])
    if argv[:1] == ["similarity"]:
        return similarity_main(argv[1:])
    args = _parser().parse_args(argv)
    prog = "python -m grader"
    if not args.submission.is_file():
        print(f"{prog}: error: no such file: {args.submission}", file=sys.stderr)
        return EXIT_USAGE
    if args.submission.suffix not in (".py", ".ipynb"):
        print(f"{prog}: error: expected a .py or .ipynb file, got {args.submission.name}",
              file=sys.stderr)
        return EXIT_USAGE
    for name in ("timeout", "memory_mb"):
        value = getattr(args, name)
        if value is not None and value <= 0:
            print(f"{prog}: error: --{name.replace('_', '-')} must be positive. Received: {value}",
                  file=sys.stderr)
            return EXIT_USAGE

    from grader.pipeline import GradeOptions, grade
    from grader.reporters import json as json_reporter, terminal
    from grader.rubric import DEFAULT_RUBRIC, RubricError, load_rubric

    try:
        rubric = load_rubric(args.rubric or DEFAULT_RUBRIC)
    except RubricError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    options = GradeOptions(timeout=args.timeout, memory_mb=args.memory_mb, full=args.full,
                           use_cache=not args.no_cache, cache_dir=args.cache_dir,
                           rubric_path=args.rubric or DEFAULT_RUBRIC)
    status = terminal.StatusLine()
    try:
        report = grade(args.submission, options, on_status=status, rubric=rubric)
    except KeyboardInterrupt:
        status.clear()
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    finally:
        status.clear()
    try:
        if args.format == "json":
            print(json_reporter.render(report))
        else:
            print(terminal.render(report, terminal.marks_for(sys.stdout)))
        sys.stdout.flush()
    except BrokenPipeError:  # `python -m grader ... | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return EXIT_PASSED if report.passed else EXIT_FAILED


def _similarity_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="python -m grader similarity",
        description="List the pairs and clusters of submissions in a batch's results that look "
                    "alike, on code and on architecture: evidence for a person to read, never a "
                    "verdict. Reads reports/ and sources/ (runs nothing); writes similarity.csv "
                    "and similarity.html into RESULTS_DIR.")
    parser.add_argument("results", type=Path, metavar="RESULTS_DIR",
                        help="the --out folder of `python -m grader batch`")
    parser.add_argument("--rubric", type=Path, metavar="TOML",
                        help="another rubric file (its [similarity] table)")
    parser.add_argument("--boilerplate", type=Path, action="append", default=[], metavar="FILE",
                        help="more code that does not count, e.g. the exercise sheet (.md: its "
                             "Python blocks); repeatable")
    return parser


def similarity_main(argv: list[str]) -> int:
    """``python -m grader similarity RESULTS_DIR [--rubric FILE] [--boilerplate FILE]``."""
    args = _similarity_parser().parse_args(argv)
    prog = "python -m grader similarity"

    def usage(message: str) -> int:
        print(f"{prog}: error: {message}", file=sys.stderr)
        return EXIT_USAGE

    from grader.rubric import DEFAULT_RUBRIC, RubricError, load_rubric

    if not args.results.is_dir():
        return usage(f"no such folder: {args.results}")
    for path in args.boilerplate:
        if not path.is_file():
            return usage(f"no such boilerplate file: {path}")
    try:
        rubric = load_rubric(args.rubric or DEFAULT_RUBRIC)
    except RubricError as exc:
        return usage(str(exc))
    from grader import similarity
    from grader.reporters import similarity_text

    try:
        result, students = similarity.analyse(args.results, rubric.similarity, args.boilerplate)
        written = similarity.write_files(args.results, result, students)
    except similarity.SimilarityError as exc:
        return usage(str(exc))
    except OSError as exc:
        return usage(f"cannot write into {args.results}: {exc.strerror or exc}")
    print(similarity_text.render(result))
    print("Wrote " + ", ".join(str(path) for path in written))
    return EXIT_PASSED
