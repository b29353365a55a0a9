"""Command line: ``python -m grader [options] FILE``, and the instructors' commands.

Parses arguments, picks a reporter, maps outcomes to exit codes (0 all passed, 1 some check
failed, 2 usage error). No grading logic. ``batch`` and ``gradescope-package`` are their own
modules' ``main``; this module only dispatches to them, and they never import it.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

from grader.version import __version__
from grader.text import inert
from grader.options import (EXIT_FAILED, EXIT_PASSED, EXIT_USAGE, Parser, add_grading_options,
                            load_rubric_or_usage, options_from_args, positive, usage_error,
                            with_limits)
from grader.retrain.settings import setting_problem
from grader.reporters import FORMATS, PRINTED

__all__ = ["main", "EXIT_PASSED", "EXIT_FAILED", "EXIT_USAGE"]

PROG = "python -m grader"
# subcommand -> (module with a ``main(argv) -> int``, what it does)
COMMANDS = {
    "batch": ("grader.integrations.batch", "grade a folder of submissions in parallel, with resumable results "
                              "(grades.csv, feedback files to send)"),
    "gradescope-package": ("grader.integrations.gradescope_autograder",
                           "build a Gradescope autograder .zip (setup.sh, run_autograder, the "
                           "rubric)"),
    "daemon": ("grader.integrations.daemon", "stop or show the grading daemon that keeps single-file "
                                "grading warm (python -m grader daemon stop|status)"),
    "similarity": ("grader.similarity_command",
                   "list submissions in a batch's results that look alike (code, architecture)"),
    "exercises": ("grader.exercises_command",
                  "list the installed exercises (--format json for tools)"),
}


def _parser() -> argparse.ArgumentParser:
    commands = "\n".join(f"  {PROG} {name} ...\n      {about}"
                         for name, (_, about) in COMMANDS.items())
    parser = Parser(
        prog=PROG,
        usage=f"{PROG} [options] SUBMISSION\n       "
              + "\n       ".join(f"{PROG} {name} ..." for name in COMMANDS),
        description="Grade a submission (.py or .ipynb) of an exercise: run it in a sandbox, "
                    "check the model it builds, retrain it on the grader's data, and score it.",
        epilog=f"instructors' commands (each has its own --help):\n{commands}\n"
               f"  python -m grader.make_notebook --rubric FILE --course DIR\n"
               "      write the nbgrader source notebook for a rubric into a course",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("submission", type=Path, help="the student's .py or .ipynb file")
    parser.add_argument("--format", choices=PRINTED, default="text",
                        help="text for people (default), json for tools")
    parser.add_argument("--html", type=Path, metavar="FILE",
                        help="also write the report as a self-contained HTML page (checklist, "
                             "learning curves, architecture, figures) to FILE")
    add_grading_options(parser)
    parser.add_argument("--no-daemon", action="store_true",
                        help="do not use (or start) the grading daemon that keeps TensorFlow "
                             "imported between gradings (also: GRADER_DAEMON=0)")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def _daemon_lane(rubric, status):
    """A lane served by the grading daemon (started now if none runs), or None to grade cold."""
    from grader.integrations import daemon

    if not daemon.enabled():
        return None
    from grader.integrations.lane import DaemonLane
    from grader.retrain.client import worker_setup

    try:
        handle = daemon.Daemon()
        handle.launch(worker_setup(rubric), on_start=lambda: status(
            "starting the grading daemon (it imports TensorFlow once, for the next gradings)"))
    except OSError:
        return None
    return DaemonLane(handle)


def _interrupt_on_termination() -> None:
    """Treat SIGTERM and SIGHUP (``timeout``, a closed terminal, a job scheduler) as Ctrl-C, so
    that the same clean-up runs: sandboxes stopped, their folders with the student's source
    removed, a batch's results saved."""
    import signal

    def interrupt(signum, frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)

    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), interrupt)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] and argv[0] in COMMANDS:
        if argv[0] == "batch":
            _interrupt_on_termination()
        module = importlib.import_module(COMMANDS[argv[0]][0])
        return module.main(argv[1:])
    args = _parser().parse_args(argv)
    if not args.submission.is_file():
        return usage_error(PROG, f"no such file: {inert(args.submission)}")
    if args.submission.suffix not in (".py", ".ipynb"):
        return usage_error(PROG, f"expected a .py or .ipynb file, got "
                                 f"{inert(args.submission.name)}")
    problem = positive(args, "timeout", "memory_mb") or setting_problem()
    if problem:
        return usage_error(PROG, problem)
    if args.html is not None and (args.html.is_dir() or not args.html.parent.is_dir()):
        where = "is a folder" if args.html.is_dir() else "is in a folder that does not exist"
        return usage_error(PROG, f"--html {inert(args.html)} {where}: name a file in an existing "
                                 "folder")
    rubric = load_rubric_or_usage(PROG, args.rubric, args.exercise)
    if isinstance(rubric, int):
        return rubric

    from grader.pipeline import grade, guarded
    from grader.reporters import terminal

    options = options_from_args(args)
    status = terminal.StatusLine()
    lane = None
    _interrupt_on_termination()
    out = terminal.console_for(sys.stdout)

    def make():
        if lane is not None:
            return lane.grade(args.submission, options, rubric, on_status=status)
        return grade(args.submission, options, on_status=status,
                     rubric=with_limits(rubric, options))

    def show(report):  # every output is formatted before any is written
        page = FORMATS["html"].render(report) if args.html is not None else None
        text = terminal.styled(report, out) if args.format == "text" else \
            FORMATS[args.format].render(report)
        return page, text

    try:
        lane = _daemon_lane(rubric, status) if not args.no_daemon else None
        report, (page, text) = guarded(str(args.submission), rubric, make, show)
    except KeyboardInterrupt:
        status.clear()
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    finally:
        status.clear()
        if lane is not None:
            lane.close()
    if page is not None:
        from grader.files import atomic_write

        try:
            atomic_write(args.html, page)
        except OSError as exc:
            return usage_error(PROG, f"cannot write --html {inert(args.html)}: "
                                     f"{exc.strerror or exc}")
    try:
        if isinstance(text, str):
            print(text)
        else:
            terminal.print_lines(text, out)
        sys.stdout.flush()
    except BrokenPipeError:  # `python -m grader ... | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return EXIT_PASSED if report.passed else EXIT_FAILED


